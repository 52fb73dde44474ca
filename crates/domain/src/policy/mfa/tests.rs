//! The 2FA dashboard and reminders over the in-memory store.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::audit::AuditAction;
use crate::context::{Caller, RequestMeta};
use crate::notification::{NotificationCursor, NotificationKind, NotificationService};
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::policy::{PolicyService, WriteMode};
use crate::testing::{caller, identity, join, InMemoryStore};
use crate::time::Clock;
use crate::Store;

/// A clock the test moves.
#[derive(Debug)]
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

struct World {
    store: InMemoryStore,
    clock: Arc<TestClock>,
    mfa: MfaService<InMemoryStore>,
    org: OrgRef,
    org_id: OrgId,
}

/// The owner signs in with a second factor.
fn owner() -> Caller {
    let mut id = identity("owner", "owner@example.com");
    id.auth_methods.push("otp".into());
    Caller::user(id, RequestMeta::default())
}

/// An organization whose owner has 2FA, with `plain` members without it and `secure`
/// members with it, joined in that order.
fn world(plain: usize, secure: usize) -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(TestClock(Mutex::new(Utc::now())));
    let orgs = OrgService::new(store.clone(), clock.clone());
    let org_id = orgs.create(&owner(), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id;
    for n in 0..plain {
        join(&store, org_id, &format!("plain-{n}"), "member");
    }
    for n in 0..secure {
        let subject = format!("secure-{n}");
        join(&store, org_id, &subject, "member");
        let mut id = identity(&subject, &format!("{subject}@example.com"));
        id.auth_methods.push("hwk".into());
        store
            .transaction(|tx| crate::user::sync_user(tx, &id, &crate::context::RequestMeta::default(), Utc::now()))
            .unwrap();
    }
    World {
        mfa: MfaService::new(store.clone(), clock.clone(), "https://app.test"),
        store,
        clock,
        org: OrgRef::Id(org_id),
        org_id,
    }
}

fn first_page(limit: u32) -> PageRequest {
    PageRequest { limit, after: None }
}

#[test]
fn coverage_is_an_integer_share_rounded_down() {
    let totals = |members, enrolled| MfaTotals { members, enrolled };
    assert_eq!(totals(3, 1).coverage_basis_points(), 3_333);
    assert_eq!(totals(3, 2).coverage_basis_points(), 6_666);
    assert_eq!(totals(1_000_000, 999_999).coverage_basis_points(), 9_999, "never 100 % while one lacks it");
    assert_eq!(totals(4, 4).coverage_basis_points(), 10_000);
    assert_eq!(totals(0, 0).coverage_basis_points(), 10_000);
    assert_eq!(totals(3, 1).not_enrolled(), 2);
}

#[test]
fn a_reminder_is_due_once_a_day_and_never_to_the_enrolled() {
    let now = Utc::now();
    let member = MfaMember {
        member_id: MemberId::generate(),
        user_id: UserId::generate(),
        name: None,
        email: None,
        email_verified: false,
        role: RoleKey::parse("member").unwrap(),
        mfa_enrolled: false,
        mfa_methods: Vec::new(),
        last_seen_at: None,
        last_reminded_at: None,
    };
    assert!(member.due_for_reminder(now));
    let recent = MfaMember { last_reminded_at: Some(now - Duration::hours(23)), ..member.clone() };
    assert!(!recent.due_for_reminder(now));
    let yesterday = MfaMember { last_reminded_at: Some(now - REMINDER_INTERVAL), ..member.clone() };
    assert!(yesterday.due_for_reminder(now));
    assert!(!MfaMember { mfa_enrolled: true, ..member }.due_for_reminder(now));
}

#[test]
fn the_dashboard_counts_filters_and_pages_in_join_order() {
    let w = world(3, 2);
    let first = w.mfa.dashboard(&owner(), &w.org, None, first_page(4)).unwrap();
    assert_eq!(first.totals, Some(MfaTotals { members: 6, enrolled: 3 }), "the owner has 2FA too");
    assert_eq!(first.members.items.len(), 4);
    assert!(first.members.items[0].mfa_enrolled && first.members.items[0].role.is_owner());
    let rest =
        w.mfa.dashboard(&owner(), &w.org, None, PageRequest { limit: 4, after: first.members.next_after }).unwrap();
    assert_eq!(rest.totals, None, "later pages do not count again");
    assert_eq!(rest.members.items.len(), 2);
    assert_eq!(rest.members.next_after, None);
    assert_eq!(rest.members.items[1].mfa_methods, vec!["hwk".to_owned()]);

    let without = w.mfa.dashboard(&owner(), &w.org, Some(false), first_page(10)).unwrap();
    let names: Vec<_> = without.members.items.iter().map(|m| m.name.clone().unwrap()).collect();
    assert_eq!(names, ["plain-0", "plain-1", "plain-2"]);
    let with = w.mfa.dashboard(&owner(), &w.org, Some(true), first_page(10)).unwrap();
    assert!(with.members.items.iter().all(|m| m.mfa_enrolled));
    assert_eq!(with.members.items.len(), 3);
    assert_eq!(with.totals, first.totals, "totals ignore the filter");
}

#[test]
fn the_dashboard_needs_security_read_and_hides_the_org_from_outsiders() {
    let w = world(1, 0);
    assert_eq!(
        w.mfa.dashboard(&caller("plain-0"), &w.org, None, first_page(10)).unwrap_err(),
        MfaError::Access(AccessError::Forbidden { permission: "security:read" })
    );
    assert_eq!(
        w.mfa.dashboard(&caller("stranger"), &w.org, None, first_page(10)).unwrap_err(),
        MfaError::Access(AccessError::NotFound("organization"))
    );
    assert_eq!(
        w.mfa.remind(&caller("plain-0"), &w.org).unwrap_err(),
        MfaError::Access(AccessError::Forbidden { permission: "security:update" })
    );
}

#[test]
fn reminders_reach_each_member_without_2fa_once_a_day() {
    let w = world(3, 2);
    join(&w.store, w.org_id, "admin", "admin");
    let sent = w.mfa.remind(&owner(), &w.org).unwrap();
    assert_eq!(sent, MfaReminders { reminded: 4, emailed: 4, skipped: 0 }, "three plain members and the admin");
    let outbox = w.store.outbox();
    let mut recipients: Vec<_> = outbox.iter().map(|e| e.to.as_str().to_owned()).collect();
    recipients.sort();
    assert_eq!(recipients, ["admin@example.com", "plain-0@example.com", "plain-1@example.com", "plain-2@example.com"]);
    assert!(outbox.iter().all(|e| e.org_id == Some(w.org_id) && e.text.contains("https://app.test")));
    let state = w.store.state();
    assert_eq!(state.notifications.len(), 4);
    assert!(state
        .notifications
        .values()
        .all(|n| n.kind == NotificationKind::MfaReminder && n.org_id == Some(w.org_id)));

    w.clock.advance(Duration::hours(23));
    let again = w.mfa.remind(&owner(), &w.org).unwrap();
    assert_eq!(again, MfaReminders { reminded: 0, emailed: 0, skipped: 4 });
    assert_eq!(w.store.outbox().len(), 4, "nothing more was queued");

    w.clock.advance(Duration::hours(1));
    assert_eq!(w.mfa.remind(&owner(), &w.org).unwrap().reminded, 4, "a day later they are due again");

    let actions: Vec<_> = w.store.audit().iter().map(|r| r.action).collect();
    assert_eq!(actions.iter().filter(|a| **a == AuditAction::MfaRemindersSent).count(), 3, "one record per round");
    let last = w.store.audit().last().cloned().unwrap();
    assert_eq!(last.changes.into_value()["skipped"]["to"], 0);
}

#[test]
fn reminders_walk_a_large_org_in_batches_and_email_only_verified_addresses() {
    let w = world(1_203, 0);
    let unverified = "unverified-0";
    join(&w.store, w.org_id, unverified, "member");
    let mut id = identity(unverified, "nobody@example.com");
    id.email_verified = false;
    w.store
        .transaction(|tx| crate::user::sync_user(tx, &id, &crate::context::RequestMeta::default(), Utc::now()))
        .unwrap();

    let sent = w.mfa.remind(&owner(), &w.org).unwrap();
    assert_eq!(sent, MfaReminders { reminded: 1_204, emailed: 1_203, skipped: 0 });
    let state = w.store.state();
    assert_eq!(state.mfa_reminded.len(), 1_204);
    assert_eq!(state.notifications.len(), 1_204);
    assert!(!w.store.outbox().iter().any(|e| e.to.as_str() == "nobody@example.com"));
}

#[test]
fn a_reminder_shows_up_in_the_members_notifications() {
    let w = world(1, 0);
    PolicyService::new(w.store.clone(), w.clock.clone())
        .put_mfa(&owner(), &w.org, true, Some(w.clock.now() + Duration::days(7)), WriteMode::default())
        .unwrap();
    w.mfa.remind(&owner(), &w.org).unwrap();
    let notifications = NotificationService::new(w.store.clone(), w.clock.clone());
    let page = PageRequest::<NotificationCursor> { limit: 10, after: None };
    let mine = notifications.list(&caller("plain-0"), page).unwrap();
    assert_eq!(mine.items.len(), 1);
    assert!(mine.items[0].body.starts_with("Acme requires two-factor authentication from"), "{}", mine.items[0].body);
    assert!(notifications.list(&owner(), page).unwrap().items.is_empty(), "the enrolled owner got none");
}
