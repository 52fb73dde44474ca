//! Policy rules over the in-memory store: writes, the gate on every way in, lock-out
//! previews and the owners' way out.

use std::sync::Arc;

use chrono::{Duration, Utc};

use super::*;
use crate::apikey::{ApiKeyService, CreateApiKey};
use crate::audit::AuditAction;
use crate::error::AccessError;
use crate::invite::{CreateInvite, InviteError, InviteService};
use crate::member::{MemberError, MemberQuery, MemberService};
use crate::org::{CreateOrg, OrgRef, OrgService};
use crate::pagination::PageRequest;
use crate::testing::{identity, join, key_caller, presented, CountingMinter, InMemoryStore};
use crate::time::SystemClock;
use crate::{Caller, RequestMeta};

struct World {
    store: InMemoryStore,
    orgs: OrgService<InMemoryStore>,
    policies: PolicyService<InMemoryStore>,
    members: MemberService<InMemoryStore>,
    keys: ApiKeyService<InMemoryStore>,
    org: OrgRef,
}

const OFFICE: &str = "203.0.113.10";
const HOME: &str = "198.51.100.20";

/// A person signing in from `ip`, with a second factor when `mfa`, `signed_in_ago` seconds ago.
fn person(subject: &str, ip: &str, mfa: bool, signed_in_ago: i64) -> Caller {
    let mut id = identity(subject, &format!("{subject}@example.com"));
    if mfa {
        id.auth_methods.push("otp".into());
    }
    id.auth_time = Some(Utc::now() - Duration::seconds(signed_in_ago));
    Caller::user(id, RequestMeta { client_ip: ip.parse().ok(), ..Default::default() })
}

fn world(plan: Plan) -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(SystemClock);
    let orgs = OrgService::new(store.clone(), clock.clone()).with_default_plan(plan);
    let created =
        orgs.create(&person("owner", OFFICE, true, 60), CreateOrg { name: "Acme".into(), ..Default::default() });
    let org = created.unwrap().org.id;
    join(&store, org, "admin", "admin");
    join(&store, org, "plain", "member");
    World {
        policies: PolicyService::new(store.clone(), clock.clone()),
        members: MemberService::new(store.clone(), clock.clone()),
        keys: ApiKeyService::new(store.clone(), clock, Arc::new(CountingMinter::default())),
        orgs,
        store,
        org: OrgRef::Id(org),
    }
}

impl World {
    /// Makes `subject` seen from `ip`, with or without a second factor.
    fn visit(&self, subject: &str, ip: &str, mfa: bool) -> Result<(), MemberError> {
        self.members
            .list(&person(subject, ip, mfa, 60), &self.org, MemberQuery::default(), PageRequest::first(1))
            .map(drop)
    }

    fn allowlist(
        &self,
        who: &Caller,
        cidrs: &[&str],
        mode: WriteMode,
    ) -> Result<PolicyWrite<SecurityPolicy>, PolicyError> {
        let input =
            SecurityPolicyInput { ip_allowlist: cidrs.iter().map(|c| (*c).to_owned()).collect(), ..Default::default() };
        self.policies.put_security_policy(who, &self.org, input, mode)
    }
}

fn refused_with(result: Result<(), MemberError>) -> &'static str {
    match result {
        Err(MemberError::Access(AccessError::Policy(refusal))) => refusal.code(),
        other => panic!("expected a policy refusal, got {other:?}"),
    }
}

#[test]
fn writes_are_versioned_and_a_stale_version_is_refused() {
    let w = world(Plan::Enterprise);
    let owner = person("owner", OFFICE, true, 60);
    let first = w
        .policies
        .put_sign_in_methods(&owner, &w.org, &["password".into(), "sso".into()], WriteMode::default())
        .unwrap();
    assert_eq!((first.applied, first.policy.version), (true, 1));
    let stale = WriteMode { if_match: Some(0), ..Default::default() };
    assert_eq!(
        w.policies.put_sign_in_methods(&owner, &w.org, &["sso".into()], stale).unwrap_err(),
        PolicyError::VersionMismatch { expected: 0, current: 1 }
    );
    let read = w.policies.get(&owner, &w.org).unwrap();
    assert_eq!(read.sign_in.version, 1);
    assert_eq!(read.mfa.version, 0, "each policy has its own version");
    assert_eq!(w.store.audit().last().map(|r| r.action), Some(AuditAction::SignInMethodsUpdated));
}

#[test]
fn the_gate_refuses_each_policy_with_its_code_on_every_way_in() {
    let w = world(Plan::Enterprise);
    let owner = person("owner", OFFICE, true, 60);
    w.visit("plain", OFFICE, false).unwrap();
    w.policies.put_mfa(&owner, &w.org, true, None, WriteMode::default()).unwrap();
    assert_eq!(refused_with(w.visit("plain", OFFICE, false)), "mfa_required");
    assert!(w.visit("plain", OFFICE, true).is_ok());

    w.allowlist(&owner, &["203.0.113.0/24", "2001:db8::/32"], WriteMode::default()).unwrap();
    assert_eq!(refused_with(w.visit("plain", HOME, true)), "ip_not_allowed");
    assert!(w.visit("plain", "2001:db8::42", true).is_ok(), "IPv6 networks admit their addresses");

    // An API key answers to the allowlist too, but not to 2FA.
    let key = w.keys.create(
        &owner,
        &w.org,
        CreateApiKey { name: "ci".into(), permissions: vec!["members:read".into()], expires_at: None },
    );
    let token = key.unwrap().token;
    let mut from_office = key_caller(&token);
    from_office.meta.client_ip = OFFICE.parse().ok();
    let listed = w.members.list(&from_office, &OrgRef::Me, MemberQuery::default(), PageRequest::first(1));
    assert!(listed.is_ok());
    let mut from_home = from_office.clone();
    from_home.meta.client_ip = HOME.parse().ok();
    let refused = w.members.list(&from_home, &OrgRef::Me, MemberQuery::default(), PageRequest::first(1));
    assert_eq!(refused_with(refused.map(drop)), "ip_not_allowed");

    // Joining through an invite is a way in as well.
    let invites = InviteService::new(
        w.store.clone(),
        Arc::new(SystemClock),
        Arc::new(CountingMinter::default()),
        Default::default(),
    );
    let link = invites
        .create(&owner, &w.org, CreateInvite { role: "member".into(), max_uses: Some(5), ..Default::default() })
        .unwrap();
    let outsider = person("newcomer", HOME, true, 60);
    assert_eq!(
        invites.accept(&outsider, &presented(link.token.as_bytes())).unwrap_err(),
        InviteError::Access(AccessError::Policy(PolicyRefusal::IpNotAllowed { ip: HOME.parse().ok() }))
    );
    assert!(
        invites.accept(&person("newcomer", OFFICE, false, 60), &presented(link.token.as_bytes())).is_err(),
        "2FA is enforced"
    );
    assert!(invites.accept(&person("newcomer", OFFICE, true, 60), &presented(link.token.as_bytes())).is_ok());

    // Listing one's organizations shows the org and why it is closed.
    let mine = w.orgs.list_mine(&person("plain", HOME, false, 60), PageRequest::first(10)).unwrap();
    assert_eq!(mine.items[0].blocked_by.as_ref().map(PolicyRefusal::code), Some("ip_not_allowed"));
}

#[test]
fn sessions_and_sign_in_methods_are_enforced() {
    let w = world(Plan::Enterprise);
    let owner = person("owner", OFFICE, true, 60);
    let input = SecurityPolicyInput { max_session_age_secs: Some(3_600), ..Default::default() };
    w.policies.put_security_policy(&owner, &w.org, input, WriteMode::default()).unwrap();
    let stale =
        w.members.list(&person("plain", OFFICE, false, 7_200), &w.org, MemberQuery::default(), PageRequest::first(1));
    assert_eq!(refused_with(stale.map(drop)), "session_too_old");
    let sso_only = w.policies.put_sign_in_methods(
        &owner,
        &w.org,
        &["sso".into()],
        WriteMode { force: true, ..Default::default() },
    );
    assert_eq!(
        sso_only.unwrap_err(),
        PolicyError::Lockout(LockoutRefusal::EveryOwner),
        "the only owner signs in with a password"
    );
    w.policies.put_sign_in_methods(&owner, &w.org, &["password".into()], WriteMode::default()).unwrap();
    let password =
        w.members.list(&person("plain", OFFICE, false, 60), &w.org, MemberQuery::default(), PageRequest::first(1));
    assert!(password.is_ok());
    let mut sso = identity("plain", "plain@example.com");
    sso.sign_in_method = Some(SignInMethod::Google);
    let google = Caller::user(sso, RequestMeta { client_ip: OFFICE.parse().ok(), ..Default::default() });
    let refused = w.members.list(&google, &w.org, MemberQuery::default(), PageRequest::first(1));
    assert_eq!(refused_with(refused.map(drop)), "sign_in_method_not_allowed");
}

#[test]
fn a_grace_period_lets_members_in_until_it_ends() {
    let w = world(Plan::Enterprise);
    let owner = person("owner", OFFICE, true, 60);
    let end = Utc::now() + Duration::days(7);
    let write =
        w.policies.put_mfa(&owner, &w.org, true, Some(end), WriteMode { dry_run: true, ..Default::default() }).unwrap();
    assert!(!write.applied);
    w.visit("plain", OFFICE, false).unwrap();
    let preview =
        w.policies.put_mfa(&owner, &w.org, true, Some(end), WriteMode { dry_run: true, ..Default::default() }).unwrap();
    let plain = preview.lockout.members.iter().find(|m| m.name.as_deref() == Some("plain")).unwrap();
    assert_eq!(plain.from, end, "the lock-out starts when the grace ends");
    w.policies.put_mfa(&owner, &w.org, true, Some(end), WriteMode::default()).unwrap();
    assert!(w.visit("plain", OFFICE, false).is_ok());
}

#[test]
fn a_grace_period_is_no_way_for_the_only_owner_to_lock_themselves_out_later() {
    let w = world(Plan::Enterprise);
    // This sign-in proved no second factor: once the grace ends, the only owner is out.
    let owner = person("owner", OFFICE, false, 60);
    let end = Utc::now() + Duration::days(7);
    let write = w.policies.put_mfa(&owner, &w.org, true, Some(end), WriteMode { force: true, ..Default::default() });
    assert_eq!(write.unwrap_err(), PolicyError::Lockout(LockoutRefusal::EveryOwner));
    let with_second_factor = person("owner", OFFICE, true, 60);
    assert!(w.policies.put_mfa(&with_second_factor, &w.org, true, Some(end), WriteMode::default()).unwrap().applied);
}

#[test]
fn a_dry_run_names_exactly_who_would_be_locked_out_and_saves_nothing() {
    let w = world(Plan::Enterprise);
    let owner = person("owner", OFFICE, true, 60);
    w.visit("admin", OFFICE, true).unwrap();
    w.visit("plain", HOME, true).unwrap();
    let OrgRef::Id(org) = w.org else { unreachable!() };
    join(&w.store, org, "ghost", "member"); // never seen: where they come from is unknown
    let key = |name: &str| CreateApiKey { name: name.into(), permissions: vec!["org:read".into()], expires_at: None };
    let office_key = w.keys.create(&owner, &w.org, key("office")).unwrap();
    w.keys.create(&owner, &w.org, key("unused")).unwrap();
    let mut used = key_caller(&office_key.token);
    used.meta.client_ip = OFFICE.parse().ok();
    w.orgs.get(&used, &OrgRef::Me).unwrap();

    let preview = w.allowlist(&owner, &["203.0.113.0/24"], WriteMode { dry_run: true, ..Default::default() }).unwrap();
    assert!(!preview.applied);
    let mut names: Vec<_> = preview.lockout.members.iter().map(|m| m.name.clone().unwrap()).collect();
    names.sort();
    assert_eq!(names, vec!["ghost", "plain"]);
    assert_eq!(preview.lockout.members_total, 2);
    assert_eq!(preview.lockout.api_keys.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(), vec!["unused"]);
    assert_eq!((preview.lockout.caller.clone(), preview.lockout.every_owner), (None, false));
    assert_eq!(w.policies.get(&owner, &w.org).unwrap().security.version, 0, "a dry run saves nothing");
}

#[test]
fn nobody_locks_themselves_out_by_accident_and_nothing_locks_out_every_owner() {
    let w = world(Plan::Enterprise);
    let owner = person("owner", OFFICE, true, 60);
    let admin = person("admin", HOME, true, 60);
    w.visit("admin", HOME, true).unwrap();
    let err = w.allowlist(&admin, &["203.0.113.0/24"], WriteMode::default()).unwrap_err();
    assert!(matches!(err, PolicyError::Lockout(LockoutRefusal::Caller(PolicyRefusal::IpNotAllowed { .. }))), "{err:?}");
    let forced = w.allowlist(&admin, &["203.0.113.0/24"], WriteMode { force: true, ..Default::default() }).unwrap();
    assert!(forced.applied);
    let record = w.store.audit().last().cloned().unwrap();
    assert_eq!(record.changes.into_value()["forced"]["to"], serde_json::json!(true));

    let everyone_out = w.allowlist(&owner, &["192.0.2.0/24"], WriteMode { force: true, ..Default::default() });
    assert_eq!(everyone_out.unwrap_err(), PolicyError::Lockout(LockoutRefusal::EveryOwner));
}

#[test]
fn an_owner_with_a_fresh_second_factor_can_break_the_glass_and_it_is_audited() {
    let w = world(Plan::Enterprise);
    let owner = person("owner", OFFICE, true, 60);
    let OrgRef::Id(org) = w.org else { unreachable!() };
    join(&w.store, org, "second", "owner");
    w.visit("second", OFFICE, true).unwrap();
    w.allowlist(&owner, &["203.0.113.0/24"], WriteMode::default()).unwrap();

    // The owner is travelling: outside the list, every route refuses...
    assert_eq!(refused_with(w.visit("owner", HOME, true)), "ip_not_allowed");
    // ...but with a second factor proved in the last minutes the policies can be reached.
    let travelling = person("owner", HOME, true, 60);
    w.allowlist(&travelling, &["203.0.113.0/24", "198.51.100.0/24"], WriteMode::default()).unwrap();
    let actions: Vec<_> = w.store.audit().iter().rev().take(2).map(|r| r.action).collect();
    assert_eq!(actions, vec![AuditAction::SecurityPolicyUpdated, AuditAction::BreakGlassUsed]);

    // Not with an old sign-in, not for an admin.
    w.allowlist(&owner, &["203.0.113.0/24"], WriteMode::default()).unwrap();
    let stale = person("owner", HOME, true, 3_600);
    assert!(matches!(w.policies.get(&stale, &w.org), Err(PolicyError::Access(AccessError::Policy(_)))));
    let admin = person("admin", HOME, true, 60);
    assert!(matches!(w.policies.get(&admin, &w.org), Err(PolicyError::Access(AccessError::Policy(_)))));
}

#[test]
fn plans_gate_writing_an_ip_allowlist_but_never_reading_or_2fa() {
    let w = world(Plan::Free);
    let owner = person("owner", OFFICE, true, 60);
    assert_eq!(
        w.allowlist(&owner, &["203.0.113.0/24"], WriteMode::default()).unwrap_err(),
        PolicyError::Access(AccessError::FeatureNotInPlan { feature: "ip_allowlist", plan: "free" })
    );
    let sessions = SecurityPolicyInput { max_session_age_secs: Some(86_400), ..Default::default() };
    assert!(w.policies.put_security_policy(&owner, &w.org, sessions, WriteMode::default()).is_ok());
    assert!(w.policies.put_mfa(&owner, &w.org, true, None, WriteMode::default()).is_ok());
    assert!(w.policies.get(&owner, &w.org).is_ok());
}

#[test]
fn members_without_security_update_cannot_write_and_outsiders_see_nothing() {
    let w = world(Plan::Enterprise);
    let plain = person("plain", OFFICE, true, 60);
    assert_eq!(
        w.policies.put_mfa(&plain, &w.org, true, None, WriteMode::default()).unwrap_err(),
        PolicyError::Access(AccessError::Forbidden { permission: "security:update" })
    );
    assert_eq!(
        w.policies.get(&person("stranger", OFFICE, true, 60), &w.org).unwrap_err(),
        PolicyError::Access(AccessError::NotFound("organization"))
    );
}
