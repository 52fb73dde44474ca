//! Webhooks over the in-memory store with a fake transport: who may manage them, what is
//! queued for whom, in what order, and what failures lead to.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::error::AccessError;
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::team::{CreateTeam, TeamService};
use crate::testing::{caller, join, CountingMinter, FakeBox, InMemoryStore, ManualClock};
use crate::time::Clock;

/// Lets every URL through, but one on `blocked.test`.
struct Guard;

impl DestinationGuard for Guard {
    fn admit(&self, url: &url::Url) -> Result<(), String> {
        match url.host_str() {
            Some("blocked.test") => Err("resolves to a private address".into()),
            _ => Ok(()),
        }
    }
}

/// Answers with the statuses it is given, in turn (200 once they run out), and records
/// what it was sent.
#[derive(Default)]
struct Endpoint {
    answers: Mutex<Vec<u16>>,
    received: Mutex<Vec<(String, String, Vec<String>)>>,
}

impl WebhookTransport for Endpoint {
    fn send(&self, _url: &str, message_id: &str, _at: DateTime<Utc>, body: &[u8], secrets: &[String]) -> Sent {
        let status = { self.answers.lock().unwrap().pop().unwrap_or(200) };
        let body = String::from_utf8(body.to_vec()).unwrap();
        self.received.lock().unwrap().push((message_id.to_owned(), body, secrets.to_vec()));
        Sent { status: Some(status), retry_after_secs: None, detail: String::new(), duration_ms: 1 }
    }
}

struct World {
    store: InMemoryStore,
    clock: Arc<ManualClock>,
    webhooks: WebhookService<InMemoryStore>,
    teams: TeamService<InMemoryStore>,
    endpoint: Arc<Endpoint>,
    dispatcher: Dispatcher<InMemoryStore>,
    org: OrgRef,
}

fn world() -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(ManualClock::at(Utc::now()));
    let orgs = OrgService::new(store.clone(), clock.clone());
    let org = orgs.create(&caller("owner"), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id;
    join(&store, org, "plain", "member");
    let secrets = Arc::new(FakeBox { key_id: "k1".into() });
    let endpoint = Arc::new(Endpoint::default());
    World {
        webhooks: WebhookService::new(
            store.clone(),
            clock.clone(),
            Arc::new(CountingMinter::default()),
            secrets.clone(),
            Arc::new(Guard),
        ),
        teams: TeamService::new(store.clone(), clock.clone()),
        dispatcher: Dispatcher::new(store.clone(), clock.clone(), secrets, endpoint.clone()),
        endpoint,
        store,
        clock,
        org: OrgRef::Id(org),
    }
}

fn hook(url: &str, types: &[&str]) -> NewWebhook {
    NewWebhook { url: url.into(), event_types: types.iter().map(|t| (*t).to_owned()).collect(), ..Default::default() }
}

fn team(w: &World, name: &str) {
    w.teams.create(&caller("owner"), &w.org, CreateTeam { name: name.into(), ..Default::default() }).unwrap();
}

#[test]
fn managing_webhooks_takes_the_permission_and_a_public_url() {
    let w = world();
    assert!(matches!(
        w.webhooks.create(&caller("plain"), &w.org, hook("https://hooks.example.com/x", &[])),
        Err(WebhookError::Access(AccessError::Forbidden { .. }))
    ));
    assert!(matches!(
        w.webhooks.create(&caller("stranger"), &w.org, hook("https://hooks.example.com/x", &[])),
        Err(WebhookError::Access(AccessError::NotFound(_)))
    ));
    for bad in ["ftp://hooks.example.com", "not a url", "https://user:pw@hooks.example.com/", "https://blocked.test/"] {
        assert!(
            matches!(w.webhooks.create(&caller("owner"), &w.org, hook(bad, &[])), Err(WebhookError::Invalid(_))),
            "{bad}"
        );
    }
    let created =
        w.webhooks.create(&caller("owner"), &w.org, hook("https://hooks.example.com/x", &["team.*"])).unwrap();
    assert!(created.secret.starts_with("whsec_"));
    assert!(!format!("{:?}", created.webhook).contains(&created.secret), "the secret is stored sealed");
}

#[test]
fn each_endpoint_gets_the_events_it_takes_signed_in_order() {
    let w = world();
    let teams = w.webhooks.create(&caller("owner"), &w.org, hook("https://a.example.com/", &["team.*"])).unwrap();
    w.webhooks.create(&caller("owner"), &w.org, hook("https://b.example.com/", &["role.*"])).unwrap();
    team(&w, "One");
    team(&w, "Two");
    // One at a time per endpoint: the second is claimed once the first is delivered.
    assert_eq!(w.dispatcher.run_round(10).unwrap(), 1);
    assert_eq!(w.dispatcher.run_round(10).unwrap(), 1);
    let received = w.endpoint.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert!(received[0].1.contains("\"One\"") && received[1].1.contains("\"Two\""), "{received:?}");
    assert!(received.iter().all(|(_, body, secrets)| body.contains("\"type\":\"team.created\"")
        && secrets.as_slice() == std::slice::from_ref(&teams.secret)));
    // The message id is the event's.
    let events = w.store.state().events;
    assert!(events.iter().any(|e| e.id.to_string() == received[0].0));
    assert_eq!(w.dispatcher.run_round(10).unwrap(), 0, "delivered once");
}

#[test]
fn a_failing_endpoint_holds_its_later_events_back_and_is_retried_with_backoff() {
    let w = world();
    w.webhooks.create(&caller("owner"), &w.org, hook("https://a.example.com/", &["team.*"])).unwrap();
    team(&w, "One");
    team(&w, "Two");
    *w.endpoint.answers.lock().unwrap() = vec![503];
    assert_eq!(w.dispatcher.run_round(10).unwrap(), 1, "only the first in line");
    assert_eq!(w.dispatcher.run_round(10).unwrap(), 0, "not before its retry is due");
    w.clock.advance(Duration::seconds(7));
    assert_eq!(w.dispatcher.run_round(10).unwrap(), 1);
    assert_eq!(w.dispatcher.run_round(10).unwrap(), 1, "then the next");
    let bodies: Vec<String> = w.endpoint.received.lock().unwrap().iter().map(|r| r.1.clone()).collect();
    assert!(bodies[0].contains("One") && bodies[1].contains("One") && bodies[2].contains("Two"));
}

#[test]
fn a_gone_endpoint_is_turned_off_and_the_owners_told() {
    let w = world();
    let created = w.webhooks.create(&caller("owner"), &w.org, hook("https://a.example.com/", &[])).unwrap();
    *w.endpoint.answers.lock().unwrap() = vec![410];
    team(&w, "One");
    w.dispatcher.run_round(10).unwrap();
    let off = w.webhooks.get(&caller("owner"), &w.org, created.webhook.id).unwrap();
    assert!(!off.enabled);
    assert_eq!(off.disabled_reason.as_deref(), Some("gone"));
    assert!(w.store.outbox().iter().any(|m| m.subject.contains("webhook")));
    // Nothing more is sent until it is turned back on.
    team(&w, "Two");
    assert_eq!(w.dispatcher.run_round(10).unwrap(), 0);
}

#[test]
fn retries_back_off_honour_retry_after_and_give_up_after_three_days() {
    let start = Utc::now();
    let failed = Outcome::Failed { retry_after_secs: None };
    let Verdict::RetryAt(first) = next_attempt(failed, 1, start, start, 1.0, 0.5) else { panic!() };
    assert_eq!((first - start).num_seconds(), 5);
    let Verdict::RetryAt(later) = next_attempt(failed, 4, start, start, 1.0, 0.5) else { panic!() };
    assert_eq!((later - start).num_minutes(), 30);
    let asked = Outcome::Failed { retry_after_secs: Some(600) };
    let Verdict::RetryAt(at) = next_attempt(asked, 1, start, start, 1.0, 0.5) else { panic!() };
    assert_eq!((at - start).num_seconds(), 600);
    let late = start + Duration::hours(GIVE_UP_AFTER_HOURS);
    assert_eq!(next_attempt(failed, 9, start, late, 1.0, 0.5), Verdict::GiveUp("failing"));
    assert_eq!(next_attempt(Outcome::Gone, 1, start, start, 1.0, 0.5), Verdict::GiveUp("gone"));
    assert_eq!(next_attempt(Outcome::Accepted, 3, start, late, 1.0, 0.5), Verdict::Delivered);
}

#[test]
fn a_rotated_secret_signs_beside_the_new_one_for_the_overlap() {
    let w = world();
    let created = w.webhooks.create(&caller("owner"), &w.org, hook("https://a.example.com/", &[])).unwrap();
    let rotated = w.webhooks.rotate_secret(&caller("owner"), &w.org, created.webhook.id, 24).unwrap();
    assert_ne!(rotated.secret, created.secret);
    team(&w, "One");
    w.dispatcher.run_round(10).unwrap();
    w.clock.advance(Duration::hours(25));
    team(&w, "Two");
    w.dispatcher.run_round(10).unwrap();
    let secrets: Vec<Vec<String>> = w.endpoint.received.lock().unwrap().iter().map(|r| r.2.clone()).collect();
    assert_eq!(secrets, [vec![rotated.secret.clone(), created.secret.clone()], vec![rotated.secret.clone()]]);
    assert!(w.webhooks.rotate_secret(&caller("owner"), &w.org, created.webhook.id, 73).is_err());
}

#[test]
fn resealing_moves_both_signing_secrets_to_the_current_key() {
    let w = world();
    let created = w.webhooks.create(&caller("owner"), &w.org, hook("https://a.example.com/", &[])).unwrap();
    let rotated = w.webhooks.rotate_secret(&caller("owner"), &w.org, created.webhook.id, 24).unwrap();
    let untouched = w.webhooks.create(&caller("owner"), &w.org, hook("https://b.example.com/", &["role.*"])).unwrap();
    let records = w.store.audit().len();
    let k2 = FakeBox { key_id: "k2".into() };
    assert_eq!(reseal_webhook_secrets(&w.store, &k2, 1), Ok(3), "two of one webhook, one of the other");
    assert_eq!(reseal_webhook_secrets(&w.store, &k2, 1), Ok(0));
    let stored = w.store.state().webhooks[&created.webhook.id].clone();
    let (previous, _) = stored.secrets.previous.as_ref().expect("the rotated secret still signs");
    assert_eq!((stored.secrets.current.key_id.as_str(), previous.key_id.as_str()), ("k2", "k2"));
    assert_eq!(stored.version, rotated.webhook.version, "re-sealing changes no setting");
    assert_eq!(w.store.audit().len(), records, "nor writes an audit record");
    assert_eq!(w.store.state().webhooks[&untouched.webhook.id].secrets.current.key_id, "k2");

    // Deliveries are signed with the same secrets, opened under the new key alone.
    let endpoint = Arc::new(Endpoint::default());
    let dispatcher = Dispatcher::new(w.store.clone(), w.clock.clone(), Arc::new(k2), endpoint.clone());
    team(&w, "One");
    dispatcher.run_round(10).unwrap();
    let secrets: Vec<Vec<String>> = endpoint.received.lock().unwrap().iter().map(|r| r.2.clone()).collect();
    assert_eq!(secrets, [vec![rotated.secret, created.secret]]);
}

#[test]
fn a_worker_whose_lease_ran_out_writes_nothing() {
    let w = world();
    w.webhooks.create(&caller("owner"), &w.org, hook("https://a.example.com/", &[])).unwrap();
    team(&w, "One");
    let stale = w.dispatcher.claim(10).unwrap();
    assert_eq!(stale.len(), 1);
    assert!(w.dispatcher.claim(10).unwrap().is_empty(), "held under the lease");
    w.clock.advance(Duration::seconds(super::service::LEASE_SECS + 1));
    let fresh = w.dispatcher.claim(10).unwrap();
    assert_eq!(fresh.len(), 1, "another worker takes it once the lease ran out");
    *w.endpoint.answers.lock().unwrap() = vec![503, 200];
    // The stale worker's failure is not recorded over the fresh one's success.
    w.dispatcher.attempt(fresh.into_iter().next().unwrap()).unwrap();
    w.dispatcher.attempt(stale.into_iter().next().unwrap()).unwrap();
    let delivery = w.store.state().deliveries.into_values().next().unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.attempts.len(), 1);
}

#[test]
fn a_resent_delivery_starts_a_new_run_of_attempts() {
    let w = world();
    let created = w.webhooks.create(&caller("owner"), &w.org, hook("https://a.example.com/", &[])).unwrap();
    team(&w, "One");
    *w.endpoint.answers.lock().unwrap() = vec![500; 40];
    // Fails for three days: given up, and the webhook turned off.
    for _ in 0..40 {
        w.dispatcher.run_round(10).unwrap();
        w.clock.advance(Duration::hours(15));
    }
    let id = created.webhook.id;
    assert_eq!(w.webhooks.get(&caller("owner"), &w.org, id).unwrap().disabled_reason.as_deref(), Some("failing"));
    let on = WebhookPatch { enabled: Some(true), ..Default::default() };
    w.webhooks.update(&caller("owner"), &w.org, id, on).unwrap();
    let delivery = w.store.state().deliveries.into_values().next().unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    w.webhooks.redeliver(&caller("owner"), &w.org, id, delivery.id).unwrap();
    // One more failure is the first of a new run: retried in seconds, not given up.
    w.dispatcher.run_round(10).unwrap();
    let delivery = w.store.state().deliveries.into_values().next().unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Pending);
    assert!(delivery.next_attempt_at.unwrap() - w.clock.now() <= Duration::seconds(6));
    assert!(w.webhooks.get(&caller("owner"), &w.org, id).unwrap().enabled);
}
