//! Rules of roles, member administration and API keys, over the in-memory store.

use std::sync::Arc;

use crate::apikey::{ApiKeyService, CreateApiKey};
use crate::authz::Permission;
use crate::error::AccessError;
use crate::member::{MemberError, MemberQuery, MemberService};
use crate::org::{CreateOrg, OrgError, OrgRef, OrgService};
use crate::pagination::PageRequest;
use crate::role::{CreateRole, RoleError, RoleService, RoleView, UpdateRole};
use crate::testing::{caller, join, key_caller, CountingMinter, InMemoryStore};
use crate::time::SystemClock;

struct World {
    store: InMemoryStore,
    orgs: OrgService<InMemoryStore>,
    members: MemberService<InMemoryStore>,
    roles: RoleService<InMemoryStore>,
    keys: ApiKeyService<InMemoryStore>,
    org: OrgRef,
}

fn world() -> World {
    let store = InMemoryStore::default();
    let clock = Arc::new(SystemClock);
    let orgs = OrgService::new(store.clone(), clock.clone());
    let created = orgs.create(&caller("owner"), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap();
    let org_id = created.org.id;
    join(&store, org_id, "admin", "admin");
    join(&store, org_id, "plain", "member");
    World {
        members: MemberService::new(store.clone(), clock.clone()),
        roles: RoleService::new(store.clone(), clock.clone()),
        keys: ApiKeyService::new(store.clone(), clock, Arc::new(CountingMinter::default())),
        orgs,
        store,
        org: OrgRef::Id(org_id),
    }
}

impl World {
    fn member_id(&self, subject: &str) -> crate::ids::MemberId {
        let all =
            self.members.list(&caller("owner"), &self.org, MemberQuery::default(), PageRequest::first(100)).unwrap();
        all.items.into_iter().find(|m| m.name.as_deref() == Some(subject)).unwrap().membership.id
    }

    fn role(&self, key: &str, permissions: &[&str]) -> CreateRole {
        CreateRole {
            key: Some(key.into()),
            name: key.into(),
            description: None,
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }
    }
}

#[test]
fn an_admin_cannot_create_a_role_wider_than_itself() {
    let w = world();
    let err = w.roles.create(&caller("admin"), &w.org, w.role("destroyer", &["org:read", "org:delete"])).unwrap_err();
    assert_eq!(err, RoleError::Access(AccessError::Escalation { missing: vec!["org:delete"] }));
    assert!(w.roles.create(&caller("admin"), &w.org, w.role("reader", &["org:read", "audit:read"])).is_ok());
}

#[test]
fn owner_is_reserved_and_keys_are_unique() {
    let w = world();
    assert_eq!(w.roles.create(&caller("owner"), &w.org, w.role("owner", &[])).unwrap_err(), RoleError::ReservedKey);
    w.roles.create(&caller("owner"), &w.org, w.role("auditor", &["audit:read"])).unwrap();
    assert_eq!(w.roles.create(&caller("owner"), &w.org, w.role("auditor", &[])).unwrap_err(), RoleError::KeyTaken);
}

#[test]
fn a_custom_role_shadows_the_system_role_of_its_key() {
    let w = world();
    assert!(w.orgs.permissions(&caller("plain"), &w.org).unwrap().permissions.contains(Permission::MembersRead));
    w.roles.create(&caller("owner"), &w.org, w.role("member", &["org:read"])).unwrap();
    let grant = w.orgs.permissions(&caller("plain"), &w.org).unwrap();
    assert!(!grant.permissions.contains(Permission::MembersRead));
    let roles = w.roles.list(&caller("owner"), &w.org).unwrap();
    let keys: Vec<_> = roles.iter().map(|r| r.key().to_string()).collect();
    assert_eq!(keys, vec!["owner", "admin", "member"], "the shadowed system role is listed once, as the custom one");
    assert!(matches!(roles[2], RoleView::Custom { shadows: Some(_), .. }));
}

#[test]
fn a_held_role_is_deleted_only_with_a_replacement() {
    let w = world();
    let auditor = w.roles.create(&caller("owner"), &w.org, w.role("auditor", &["audit:read", "org:read"])).unwrap();
    w.members.change_role(&caller("owner"), &w.org, w.member_id("plain"), "auditor").unwrap();
    assert_eq!(
        w.roles.delete(&caller("owner"), &w.org, auditor.id, None).unwrap_err(),
        RoleError::InUse { members: 1 }
    );
    assert_eq!(
        w.roles.delete(&caller("owner"), &w.org, auditor.id, Some("ghost".into())).unwrap_err(),
        RoleError::UnknownRole("ghost".into())
    );
    w.roles.delete(&caller("owner"), &w.org, auditor.id, Some("member".into())).unwrap();
    let plain = w.members.get(&caller("owner"), &w.org, w.member_id("plain")).unwrap();
    assert_eq!(plain.membership.role.as_str(), "member");
}

#[test]
fn editing_a_role_needs_every_permission_it_holds() {
    let w = world();
    let wide = w.roles.create(&caller("owner"), &w.org, w.role("wide", &["org:delete"])).unwrap();
    let rename = UpdateRole { name: Some("Wider".into()), ..Default::default() };
    assert!(matches!(
        w.roles.update(&caller("admin"), &w.org, wide.id, rename).unwrap_err(),
        RoleError::Access(AccessError::Escalation { .. })
    ));
}

#[test]
fn nobody_promotes_past_themselves_or_demotes_someone_above_them() {
    let w = world();
    let plain = w.member_id("plain");
    let owner = w.member_id("owner");
    let promote = w.members.change_role(&caller("admin"), &w.org, plain, "owner").unwrap_err();
    assert!(matches!(promote, MemberError::Access(AccessError::Escalation { .. })));
    let demote = w.members.change_role(&caller("admin"), &w.org, owner, "member").unwrap_err();
    assert!(matches!(demote, MemberError::Access(AccessError::Escalation { .. })));
    let remove = w.members.remove(&caller("admin"), &w.org, owner).unwrap_err();
    assert!(matches!(remove, MemberError::Access(AccessError::Escalation { .. })));
    assert_eq!(
        w.members.change_role(&caller("plain"), &w.org, owner, "member").unwrap_err(),
        MemberError::Access(AccessError::Forbidden { permission: "members:update" })
    );
    assert!(w.members.change_role(&caller("admin"), &w.org, plain, "admin").is_ok());
}

#[test]
fn the_last_owner_keeps_the_role() {
    let w = world();
    let owner = w.member_id("owner");
    assert_eq!(w.members.change_role(&caller("owner"), &w.org, owner, "admin").unwrap_err(), MemberError::LastOwner);
    assert_eq!(w.members.remove(&caller("owner"), &w.org, owner).unwrap_err(), MemberError::LastOwner);
    w.members.change_role(&caller("owner"), &w.org, w.member_id("admin"), "owner").unwrap();
    assert!(
        w.members.change_role(&caller("owner"), &w.org, owner, "admin").is_ok(),
        "with a second owner, the first may step down"
    );
}

#[test]
fn ownership_moves_to_the_target_and_the_giver_becomes_admin() {
    let w = world();
    let plain = w.member_id("plain");
    assert!(matches!(
        w.members.transfer_ownership(&caller("admin"), &w.org, plain).unwrap_err(),
        MemberError::Access(AccessError::Forbidden { .. })
    ));
    let new_owner = w.members.transfer_ownership(&caller("owner"), &w.org, plain).unwrap();
    assert!(new_owner.membership.role.is_owner());
    let old = w.members.get(&caller("plain"), &w.org, w.member_id("owner")).unwrap();
    assert_eq!(old.membership.role.as_str(), "admin");
    assert_eq!(w.store.audit().last().map(|r| r.action.as_str()), Some("org.ownership_transferred"));
}

#[test]
fn api_keys_act_as_their_org_with_exactly_their_permissions() {
    let w = world();
    let wide = CreateApiKey { name: "ci".into(), permissions: vec!["org:delete".into()], expires_at: None };
    assert!(matches!(
        w.keys.create(&caller("admin"), &w.org, wide).unwrap_err(),
        crate::apikey::ApiKeyError::Access(AccessError::Escalation { .. })
    ));
    let issued = w
        .keys
        .create(
            &caller("admin"),
            &w.org,
            CreateApiKey { name: "ci".into(), permissions: vec!["members:read".into()], expires_at: None },
        )
        .unwrap();
    let key = key_caller(&issued.token);
    assert!(w.members.list(&key, &OrgRef::Me, MemberQuery::default(), PageRequest::first(10)).is_ok());
    assert!(matches!(w.orgs.get(&key, &OrgRef::Me).unwrap_err(), OrgError::Access(AccessError::Forbidden { .. })));
    assert!(matches!(
        w.orgs.list_mine(&key, PageRequest::first(10)).unwrap_err(),
        OrgError::Access(AccessError::UserRequired)
    ));

    let other = w.orgs.create(&caller("stranger"), CreateOrg { name: "Other".into(), ..Default::default() }).unwrap();
    let elsewhere = w.members.list(&key, &OrgRef::Id(other.org.id), MemberQuery::default(), PageRequest::first(10));
    assert_eq!(elsewhere.unwrap_err(), MemberError::Access(AccessError::NotFound("organization")));

    w.keys.revoke(&caller("admin"), &w.org, issued.key.id).unwrap();
    let revoked = w.members.list(&key, &OrgRef::Me, MemberQuery::default(), PageRequest::first(10));
    assert_eq!(revoked.unwrap_err(), MemberError::Access(AccessError::Unauthenticated("revoked")));
    assert!(matches!(
        w.members
            .list(&key_caller("never-issued"), &OrgRef::Me, MemberQuery::default(), PageRequest::first(1))
            .unwrap_err(),
        MemberError::Access(AccessError::Unauthenticated("unknown"))
    ));
}
