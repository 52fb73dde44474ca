//! Spend use cases over the in-memory store, with a clock the tests move.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::apikey::{ApiKeyService, CreateApiKey};
use crate::audit::AuditAction;
use crate::error::AccessError;
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::testing::{caller, join, key_caller, CountingMinter, InMemoryStore};
use crate::time::Clock;
use crate::Caller;

struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn set(&self, at: &str) {
        *self.0.lock().unwrap() = at.parse().unwrap();
    }
}

struct World {
    store: InMemoryStore,
    clock: Arc<TestClock>,
    spend: SpendService<InMemoryStore>,
    org: OrgRef,
    key: Caller,
}

fn world(timezone: Option<&str>) -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(TestClock(Mutex::new("2026-12-06T12:00:00Z".parse().unwrap())));
    let orgs = OrgService::new(store.clone(), clock.clone());
    let input = CreateOrg { name: "Acme".into(), timezone: timezone.map(Into::into), ..Default::default() };
    let org = OrgRef::Id(orgs.create(&caller("owner"), input).unwrap().org.id);
    let keys = ApiKeyService::new(store.clone(), clock.clone(), Arc::new(CountingMinter::default()));
    let issued = keys
        .create(
            &caller("owner"),
            &org,
            CreateApiKey { name: "meter".into(), permissions: vec!["usage:write".into()], expires_at: None },
        )
        .unwrap();
    World { spend: SpendService::new(store.clone(), clock.clone()), store, clock, org, key: key_caller(&issued.token) }
}

fn usage(key: &str, amount_micros: i64) -> UsageInput {
    UsageInput { idempotency_key: key.into(), amount_micros, model: Some("gpt-4o".into()), ..Default::default() }
}

fn limits(budget: i64, overage: i64) -> SpendLimitsInput {
    SpendLimitsInput { budget_micros: Some(budget), max_overage_micros: Some(overage), ..Default::default() }
}

impl World {
    fn record(&self, key: &str, amount: i64) -> Recorded {
        self.spend.record_usage(&self.key, &self.org, &usage(key, amount)).unwrap()
    }

    fn posture_records(&self) -> Vec<String> {
        self.store
            .audit()
            .iter()
            .filter(|r| r.action == AuditAction::SpendPostureChanged)
            .map(|r| r.changes.clone().into_value()["posture"]["to"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[test]
fn a_duplicate_counts_once_and_answers_the_first_event() {
    let w = world(None);
    let first = w.record("req-1", 5_000_000);
    assert!(!first.replayed);
    let again = w.record("req-1", 5_000_000);
    assert!(again.replayed);
    assert_eq!(again.event, first.event);
    assert_eq!(w.spend.status(&caller("owner"), &w.org).unwrap().spend_micros, 5_000_000);
    let other_body = w.spend.record_usage(&w.key, &w.org, &usage("req-1", 6_000_000)).unwrap_err();
    assert_eq!(other_body, SpendError::IdempotencyKeyReused);
}

#[test]
fn recording_needs_usage_write_and_is_no_audit_record() {
    let w = world(None);
    let before = w.store.audit().len();
    w.record("a", 1);
    assert_eq!(w.store.audit().len(), before, "usage events are not audit records");
    let OrgRef::Id(id) = w.org else { unreachable!() };
    join(&w.store, id, "plain", "member");
    assert!(matches!(
        w.spend.record_usage(&caller("plain"), &w.org, &usage("b", 1)).unwrap_err(),
        SpendError::Access(AccessError::Forbidden { permission: "usage:write" })
    ));
    assert!(matches!(
        w.spend.status(&caller("plain"), &w.org).unwrap_err(),
        SpendError::Access(AccessError::Forbidden { permission: "billing:read" })
    ));
    assert!(matches!(
        w.spend.record_usage(&caller("stranger"), &w.org, &usage("c", 1)).unwrap_err(),
        SpendError::Access(AccessError::NotFound(_))
    ));
}

#[test]
fn bad_events_are_refused_field_by_field() {
    let w = world(None);
    let mut input = usage("", -1);
    input.occurred_at = Some(w.clock.now() + Duration::hours(1));
    let SpendError::Invalid(invalid) = w.spend.record_usage(&w.key, &w.org, &input).unwrap_err() else {
        panic!("invalid expected")
    };
    let fields: Vec<_> = invalid.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["idempotency_key", "amount_micros", "occurred_at"]);
}

#[test]
fn each_posture_is_announced_once_per_window_with_one_email_per_owner() {
    let w = world(None);
    let owner = caller("owner");
    w.spend.put_limits(&owner, &w.org, &limits(100_000_000, 20_000_000), None).unwrap();
    let emails = || w.store.outbox().len();
    w.record("1", 79_000_000);
    assert_eq!((w.posture_records().len(), emails()), (0, 0));
    w.record("2", 1_000_000); // 80%: warning
    w.record("3", 1_000_000);
    assert_eq!(w.posture_records(), vec!["warning"]);
    assert_eq!(emails(), 1);
    assert!(w.store.outbox()[0].subject.contains("80%"), "{}", w.store.outbox()[0].subject);
    w.record("4", 20_000_000); // 101: over budget
    w.record("5", 19_000_000); // 120: still over budget (within the overage)
    assert_eq!(w.posture_records(), vec!["warning", "over_budget"]);
    w.record("6", 1); // past budget and overage
    assert_eq!(w.posture_records(), vec!["warning", "over_budget", "blocked"]);
    assert_eq!(emails(), 3);
    let status = w.spend.status(&owner, &w.org).unwrap();
    assert_eq!(
        (status.posture, status.allowance_micros(), status.remaining_micros()),
        (Posture::Blocked, Some(0), Some(-20_000_001))
    );

    // A new month starts over; jumping straight to blocked announces that level only.
    w.clock.set("2027-01-02T00:00:00Z");
    assert_eq!(w.spend.status(&owner, &w.org).unwrap().posture, Posture::Ok);
    w.record("7", 130_000_000);
    assert_eq!(w.posture_records().last().map(String::as_str), Some("blocked"));
    assert_eq!(w.posture_records().len(), 4);
    w.record("8", 1);
    assert_eq!(emails(), 4);
}

#[test]
fn lowering_the_budget_announces_the_posture_it_puts_the_org_in() {
    let w = world(None);
    let owner = caller("owner");
    w.record("1", 50_000_000);
    let status = w.spend.put_limits(&owner, &w.org, &limits(40_000_000, 0), None).unwrap();
    assert_eq!(status.posture, Posture::Blocked);
    assert_eq!(w.posture_records(), vec!["blocked"]);
    let actions: Vec<_> = w.store.audit().iter().map(|r| r.action).collect();
    assert!(actions.contains(&AuditAction::SpendLimitsUpdated));
    // The same limits again change nothing and announce nothing more.
    let v = status.limits.version;
    let again = w.spend.put_limits(&owner, &w.org, &limits(40_000_000, 0), Some(v)).unwrap();
    assert_eq!(again.limits.version, v);
    assert_eq!(w.posture_records().len(), 1);
    assert_eq!(
        w.spend.put_limits(&owner, &w.org, &limits(1, 0), Some(v - 1)).unwrap_err(),
        SpendError::VersionMismatch { expected: v - 1, current: v }
    );
}

#[test]
fn windows_follow_the_organizations_time_zone_across_a_month_change() {
    // 30 November 20:00 UTC is already 1 December in Tokyo (UTC+9).
    let w = world(Some("Asia/Tokyo"));
    let owner = caller("owner");
    w.clock.set("2026-11-30T14:59:59Z"); // 23:59:59 in Tokyo, still November
    w.record("nov", 1_000_000);
    w.clock.set("2026-11-30T15:00:00Z"); // midnight in Tokyo: December
    let status = w.spend.status(&owner, &w.org).unwrap();
    assert_eq!(status.spend_micros, 0, "the November event belongs to the previous window");
    assert_eq!(status.window_starts_at.to_rfc3339(), "2026-11-30T15:00:00+00:00");
    assert_eq!(status.window_ends_at.to_rfc3339(), "2026-12-31T15:00:00+00:00");
    w.record("dec", 2_000_000);
    // A late event is counted in the window it happened in.
    let mut late = usage("late-nov", 4_000_000);
    late.occurred_at = Some("2026-11-30T10:00:00Z".parse().unwrap());
    w.spend.record_usage(&w.key, &w.org, &late).unwrap();
    assert_eq!(w.spend.status(&owner, &w.org).unwrap().spend_micros, 2_000_000);
    w.clock.set("2026-11-30T14:00:00Z");
    assert_eq!(w.spend.status(&owner, &w.org).unwrap().spend_micros, 5_000_000);

    // The same instants in UTC fall the other way.
    let utc = world(None);
    utc.clock.set("2026-11-30T15:00:00Z");
    utc.record("nov", 1_000_000);
    assert_eq!(utc.spend.status(&owner, &utc.org).unwrap().spend_micros, 1_000_000);
    utc.clock.set("2026-12-01T00:00:00Z");
    assert_eq!(utc.spend.status(&owner, &utc.org).unwrap().spend_micros, 0);
}

#[test]
fn weekly_and_daily_windows() {
    let w = world(None);
    let owner = caller("owner");
    let input = SpendLimitsInput { window: Some("weekly".into()), budget_micros: Some(10), ..Default::default() };
    w.spend.put_limits(&owner, &w.org, &input, None).unwrap();
    w.clock.set("2026-12-06T23:00:00Z"); // Sunday
    w.record("sun", 3);
    w.clock.set("2026-12-07T00:00:00Z"); // Monday: a new week
    let status = w.spend.status(&owner, &w.org).unwrap();
    assert_eq!((status.spend_micros, status.window_starts_at.to_rfc3339()), (0, "2026-12-07T00:00:00+00:00".into()));
    let input = SpendLimitsInput { window: Some("daily".into()), budget_micros: Some(10), ..Default::default() };
    w.spend.put_limits(&owner, &w.org, &input, None).unwrap();
    w.record("mon", 4);
    assert_eq!(w.spend.status(&owner, &w.org).unwrap().spend_micros, 4);
}
