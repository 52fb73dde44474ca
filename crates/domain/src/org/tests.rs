use std::sync::Arc;

use super::*;
use crate::audit::AuditAction;
use crate::error::AccessError;
use crate::member::{MemberError, MemberService};
use crate::pagination::PageRequest;
use crate::testing::{caller, InMemoryStore};
use crate::time::SystemClock;

fn services() -> (InMemoryStore, OrgService<InMemoryStore>, MemberService<InMemoryStore>) {
    let store = InMemoryStore::default();
    let clock = Arc::new(SystemClock);
    (store.clone(), OrgService::new(store.clone(), clock.clone()), MemberService::new(store, clock))
}

fn create(orgs: &OrgService<InMemoryStore>, who: &str, name: &str) -> MyOrg {
    orgs.create(&caller(who), CreateOrg { name: name.into(), ..Default::default() }).unwrap()
}

#[test]
fn the_creator_owns_the_new_org_and_it_is_audited() {
    let (store, orgs, _) = services();
    let created = create(&orgs, "ada", "Acme, Inc.");
    assert!(created.grant.is_owner());
    assert!(created.is_default);
    assert_eq!(created.org.slug.as_str(), "acme-inc");
    let audit = store.audit();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, AuditAction::OrgCreated);
    assert_eq!(audit[0].org_id, created.org.id);
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let (_, orgs, _) = services();
    let input = CreateOrg {
        name: " ".into(),
        timezone: Some("Nowhere/City".into()),
        domain: Some("nodot".into()),
        ..Default::default()
    };
    let Err(OrgError::Invalid(invalid)) = orgs.create(&caller("ada"), input) else {
        panic!("expected a validation error")
    };
    let fields: Vec<_> = invalid.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["name", "domain", "timezone"]);
}

#[test]
fn names_are_unique_case_insensitively_and_derived_slugs_never_collide() {
    let (_, orgs, _) = services();
    create(&orgs, "ada", "Acme");
    let dup = orgs.create(&caller("bob"), CreateOrg { name: "ACME".into(), ..Default::default() });
    assert_eq!(dup.unwrap_err(), OrgError::NameTaken);
    let other = create(&orgs, "bob", "Acme!");
    assert!(other.org.slug.as_str().starts_with("acme-"));
}

#[test]
fn outsiders_cannot_tell_an_org_exists() {
    let (_, orgs, _) = services();
    let created = create(&orgs, "ada", "Acme");
    let err = orgs.get(&caller("eve"), &OrgRef::Id(created.org.id)).unwrap_err();
    assert_eq!(err, OrgError::Access(AccessError::NotFound("organization")));
}

#[test]
fn update_applies_set_and_clear_and_checks_the_version() {
    let (store, orgs, _) = services();
    let ada = caller("ada");
    let created = orgs
        .create(&ada, CreateOrg { name: "Acme".into(), domain: Some("acme.com".into()), ..Default::default() })
        .unwrap();
    let org = OrgRef::Id(created.org.id);
    let patch = UpdateOrg { domain: Patch::Clear, timezone: Patch::Set("Europe/Paris".into()), ..Default::default() };
    let updated = orgs.update(&ada, &org, patch, Some(1)).unwrap().org;
    assert_eq!(updated.domain, None);
    assert_eq!(updated.timezone.map(|t| t.as_str()), Some("Europe/Paris"));
    assert_eq!(updated.version, 2);
    let stale = orgs.update(&ada, &org, UpdateOrg { name: Patch::Set("Acme 2".into()), ..Default::default() }, Some(1));
    assert_eq!(stale.unwrap_err(), OrgError::VersionMismatch { expected: 1, current: 2 });
    let last = store.audit().pop().unwrap();
    assert_eq!(last.action, AuditAction::OrgUpdated);
    let changes = last.changes.into_value();
    assert_eq!(changes["domain"]["from"], "acme.com");
    assert!(changes["domain"]["to"].is_null());
    assert!(changes.get("name").is_none());
}

#[test]
fn a_no_op_update_writes_nothing() {
    let (store, orgs, _) = services();
    let created = create(&orgs, "ada", "Acme");
    let same = UpdateOrg { name: Patch::Set("Acme".into()), ..Default::default() };
    let view = orgs.update(&caller("ada"), &OrgRef::Id(created.org.id), same, None).unwrap();
    assert_eq!(view.org.version, 1);
    assert_eq!(store.audit().len(), 1);
}

#[test]
fn name_and_slug_cannot_be_cleared() {
    let (_, orgs, _) = services();
    let created = create(&orgs, "ada", "Acme");
    let patch = UpdateOrg { name: Patch::Clear, slug: Patch::Clear, ..Default::default() };
    let Err(OrgError::Invalid(invalid)) = orgs.update(&caller("ada"), &OrgRef::Id(created.org.id), patch, None) else {
        panic!("expected a validation error")
    };
    assert_eq!(invalid.0.len(), 2);
}

#[test]
fn deleted_orgs_vanish_and_free_their_name() {
    let (_, orgs, _) = services();
    let created = create(&orgs, "ada", "Acme");
    let org = OrgRef::Id(created.org.id);
    orgs.delete(&caller("ada"), &org).unwrap();
    assert!(matches!(orgs.get(&caller("ada"), &org), Err(OrgError::Access(AccessError::NotFound(_)))));
    assert!(orgs.list_mine(&caller("ada"), PageRequest::first(10)).unwrap().items.is_empty());
    create(&orgs, "bob", "acme");
}

#[test]
fn the_last_owner_cannot_leave() {
    let (store, orgs, members) = services();
    let created = create(&orgs, "ada", "Acme");
    let err = members.leave(&caller("ada"), &OrgRef::Id(created.org.id)).unwrap_err();
    assert_eq!(err, MemberError::LastOwner);
    assert_eq!(store.audit().len(), 1, "a refused change writes no audit record");
}

#[test]
fn me_resolves_to_the_earliest_joined_org() {
    let (_, orgs, _) = services();
    let first = create(&orgs, "ada", "First");
    let second = create(&orgs, "ada", "Second");
    assert!(!second.is_default);
    assert_eq!(orgs.get(&caller("ada"), &OrgRef::Me).unwrap().org.id, first.org.id);
}
