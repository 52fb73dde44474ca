//! Platform staff's rules over the in-memory store.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::audit::{AuditQuery, AuditService, VerifyRange};
use crate::error::AccessError;
use crate::ids::OrgId;
use crate::member::{MemberQuery, MemberService};
use crate::org::{CreateOrg, OrgError, OrgRef, OrgService, Patch, UpdateOrg};
use crate::pagination::PageRequest;
use crate::policy::Plan;
use crate::role::{CreateRole, RoleService};
use crate::testing::{caller, identity, InMemoryStore};
use crate::time::SystemClock;
use crate::{Caller, RequestMeta};

struct World {
    store: InMemoryStore,
    orgs: OrgService<InMemoryStore>,
    platform: PlatformService<InMemoryStore>,
    org: OrgId,
}

fn world(plan: Plan) -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(SystemClock);
    let orgs = OrgService::new(store.clone(), clock.clone()).with_default_plan(plan);
    let org = orgs.create(&caller("owner"), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id;
    World { platform: PlatformService::new(store.clone(), clock), orgs, store, org }
}

fn staff(subject: &str, role: StaffRole, request_id: &str) -> Caller {
    let mut id = identity(subject, &format!("{subject}@platform.test"));
    id.staff = Some(role);
    Caller::user(id, RequestMeta { request_id: request_id.into(), ..RequestMeta::default() })
}

fn admin() -> Caller {
    staff("root", StaffRole::Admin, "")
}

fn entitlements(plan: &str, overrides: &[(&str, bool)]) -> SetEntitlements {
    SetEntitlements {
        plan: plan.into(),
        overrides: overrides.iter().map(|(f, on)| ((*f).to_owned(), *on)).collect::<BTreeMap<_, _>>(),
    }
}

fn custom_role(key: &str) -> CreateRole {
    CreateRole { key: Some(key.into()), name: key.into(), description: None, permissions: vec!["org:read".into()] }
}

#[test]
fn people_who_are_not_staff_find_nothing_and_staff_read_changes_nothing() {
    let w = world(Plan::Enterprise);
    for outsider in [caller("owner"), caller("eve")] {
        let err = w.platform.list_orgs(&outsider, OrgSearchInput::default(), PageRequest::first(10)).unwrap_err();
        assert_eq!(err, PlatformError::Access(AccessError::NotFound("resource")));
        assert!(matches!(w.platform.get_org(&outsider, w.org), Err(PlatformError::Access(AccessError::NotFound(_)))));
        assert!(matches!(
            w.platform.delete_org(&outsider, w.org),
            Err(PlatformError::Access(AccessError::NotFound(_)))
        ));
    }
    let reader = staff("support", StaffRole::Read, "");
    assert_eq!(
        w.platform.list_orgs(&reader, OrgSearchInput::default(), PageRequest::first(10)).unwrap().items.len(),
        1
    );
    assert!(matches!(w.platform.delete_org(&reader, w.org), Err(PlatformError::Access(AccessError::NotAllowed(_)))));
    assert!(matches!(
        w.platform.set_entitlements(&reader, w.org, entitlements("free", &[]), None),
        Err(PlatformError::Access(AccessError::NotAllowed(_)))
    ));
}

#[test]
fn search_finds_by_name_slug_domain_or_id_and_deleted_ones_on_request() {
    let w = world(Plan::Team);
    let other = w
        .orgs
        .create(
            &caller("bo"),
            CreateOrg { name: "Globex".into(), domain: Some("globex.io".into()), ..Default::default() },
        )
        .unwrap()
        .org
        .id;
    let find = |q: &str, include_deleted: bool, plan: Option<&str>| -> Vec<OrgId> {
        let input = OrgSearchInput { q: Some(q.into()), include_deleted, plan: plan.map(Into::into) };
        w.platform.list_orgs(&admin(), input, PageRequest::first(10)).unwrap().items.iter().map(|o| o.org.id).collect()
    };
    assert_eq!(find("ACME", false, None), vec![w.org]);
    assert_eq!(find("globex.io", false, None), vec![other]);
    assert_eq!(find(&other.to_string(), false, None), vec![other]);
    assert_eq!(find("", false, Some("team")), vec![w.org, other]);
    assert_eq!(find("", false, Some("free")), Vec::<OrgId>::new());
    w.platform.delete_org(&admin(), other).unwrap();
    assert_eq!(find("globex", false, None), Vec::<OrgId>::new());
    assert_eq!(find("globex", true, None), vec![other]);
    let bad = OrgSearchInput { plan: Some("platinum".into()), ..Default::default() };
    assert!(matches!(w.platform.list_orgs(&admin(), bad, PageRequest::first(10)), Err(PlatformError::Invalid(_))));
}

#[test]
fn restore_is_refused_while_live_or_when_the_name_or_slug_was_taken() {
    let w = world(Plan::Enterprise);
    assert_eq!(w.platform.restore_org(&admin(), w.org).unwrap_err(), PlatformError::NotDeleted);
    w.orgs.delete(&caller("owner"), &OrgRef::Id(w.org)).unwrap();
    let squatter = w
        .orgs
        .create(&caller("bo"), CreateOrg { name: "ACME".into(), slug: Some("other".into()), ..Default::default() })
        .unwrap();
    assert_eq!(w.platform.restore_org(&admin(), w.org).unwrap_err(), PlatformError::NameTaken);
    let rename =
        UpdateOrg { name: Patch::Set("Squatter".into()), slug: Patch::Set("acme".into()), ..Default::default() };
    w.orgs.update(&caller("bo"), &OrgRef::Id(squatter.org.id), rename, None).unwrap();
    assert_eq!(w.platform.restore_org(&admin(), w.org).unwrap_err(), PlatformError::SlugTaken);
    let rename = UpdateOrg { slug: Patch::Set("squatter".into()), ..Default::default() };
    w.orgs.update(&caller("bo"), &OrgRef::Id(squatter.org.id), rename, None).unwrap();

    let restored = w.platform.restore_org(&admin(), w.org).unwrap();
    assert_eq!(restored.deleted_at, None);
    assert!(w.orgs.get(&caller("owner"), &OrgRef::Id(w.org)).is_ok(), "the owner is back in");
    let actions: Vec<_> = w.store.audit().iter().map(|r| (r.action.as_str(), r.actor.kind())).collect();
    assert_eq!(actions.last(), Some(&("org.restored", "staff")));
    let platform = w.platform.list_audit(&admin(), None, AuditQuery::default(), None, 10).unwrap();
    assert_eq!(platform.events[0].action, "org.restored");
}

#[test]
fn admin_updates_reuse_the_tenant_rules_and_honour_if_match() {
    let w = world(Plan::Enterprise);
    let version = w.platform.get_org(&admin(), w.org).unwrap().org.version;
    let bad = UpdateOrg { name: Patch::Clear, ..Default::default() };
    assert!(matches!(w.platform.update_org(&admin(), w.org, bad, None), Err(PlatformError::Invalid(_))));
    let rename = || UpdateOrg { name: Patch::Set("Acme Renamed".into()), ..Default::default() };
    assert!(matches!(
        w.platform.update_org(&admin(), w.org, rename(), Some(version + 5)),
        Err(PlatformError::VersionMismatch { .. })
    ));
    let renamed = w.platform.update_org(&admin(), w.org, rename(), Some(version)).unwrap();
    assert_eq!(renamed.org.name.as_str(), "Acme Renamed");
    let last = w.store.audit().last().cloned().unwrap();
    assert_eq!((last.action.as_str(), last.actor.kind()), ("org.updated", "staff"));
    w.platform.delete_org(&admin(), w.org).unwrap();
    assert_eq!(w.platform.update_org(&admin(), w.org, rename(), None).unwrap_err(), PlatformError::Deleted);
    assert!(matches!(
        w.orgs.get(&caller("owner"), &OrgRef::Id(w.org)),
        Err(OrgError::Access(AccessError::NotFound(_)))
    ));
}

#[test]
fn the_plan_and_its_overrides_decide_what_the_feature_gates_allow() {
    let w = world(Plan::Free);
    let roles = RoleService::new(w.store.clone(), Arc::new(SystemClock));
    let org = OrgRef::Id(w.org);
    let refused = roles.create(&caller("owner"), &org, custom_role("viewer")).unwrap_err();
    assert_eq!(refused.to_string(), "the `free` plan does not include `custom_roles`");
    w.platform.set_entitlements(&admin(), w.org, entitlements("free", &[("custom_roles", true)]), None).unwrap();
    roles.create(&caller("owner"), &org, custom_role("viewer")).unwrap();
    w.platform.set_entitlements(&admin(), w.org, entitlements("team", &[("custom_roles", false)]), None).unwrap();
    assert!(roles.create(&caller("owner"), &org, custom_role("editor")).is_err());
    let unknown = w.platform.set_entitlements(&admin(), w.org, entitlements("gold", &[("teleport", true)]), None);
    let Err(PlatformError::Invalid(invalid)) = unknown else { panic!("{unknown:?}") };
    let fields: Vec<_> = invalid.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["plan", "overrides.teleport"]);
    let log = w.platform.list_audit(&admin(), Some(w.org), AuditQuery::default(), None, 10).unwrap();
    assert_eq!(log.events.iter().filter(|e| e.action == "org.plan_changed").count(), 2);
}

#[test]
fn a_staff_look_inside_is_recorded_once_per_request_and_the_chain_still_verifies() {
    let w = world(Plan::Enterprise);
    let members = MemberService::new(w.store.clone(), Arc::new(SystemClock));
    let org = OrgRef::Id(w.org);
    let before = w.store.audit().len();
    let reader = staff("support", StaffRole::Read, "req-1");
    members.list(&reader, &org, MemberQuery::default(), PageRequest::first(10)).unwrap();
    members.list(&reader, &org, MemberQuery::default(), PageRequest::first(10)).unwrap();
    let records = w.store.audit();
    assert_eq!(records.len(), before + 1, "one record for one request");
    assert_eq!((records[before].action.as_str(), records[before].actor.kind()), ("staff.accessed", "staff"));
    members
        .list(&staff("support", StaffRole::Read, "req-2"), &org, MemberQuery::default(), PageRequest::first(10))
        .unwrap();
    assert_eq!(w.store.audit().len(), before + 2);
    // Even staff_admin only reads through the tenant's routes.
    let update = UpdateOrg { name: Patch::Set("Hijacked".into()), ..Default::default() };
    assert!(matches!(
        w.orgs.update(&staff("root", StaffRole::Admin, "req-3"), &org, update, None),
        Err(OrgError::Access(AccessError::Forbidden { .. }))
    ));
    let audit = AuditService::new(w.store.clone(), Arc::new(SystemClock));
    let report = audit.verify(&caller("owner"), &org, VerifyRange::default()).unwrap();
    assert!(report.first_break.is_none());
    let platform = w.platform.list_audit(&admin(), None, AuditQuery::default(), None, 1).unwrap();
    assert_eq!(platform.events[0].action, "staff.accessed");
    assert!(platform.next_before.is_some());
}
