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
    assert_eq!(promote, MemberError::Access(AccessError::OwnerRequired));
    let demote = w.members.change_role(&caller("admin"), &w.org, owner, "member").unwrap_err();
    assert_eq!(demote, MemberError::Access(AccessError::OwnerRequired));
    let remove = w.members.remove(&caller("admin"), &w.org, owner).unwrap_err();
    assert_eq!(remove, MemberError::Access(AccessError::OwnerRequired));
    let wider = w.roles.create(&caller("owner"), &w.org, w.role("wide", &["org:delete", "members:read"])).unwrap();
    w.members.change_role(&caller("owner"), &w.org, w.member_id("plain"), &wider.key.to_string()).unwrap();
    let above = w.members.change_role(&caller("admin"), &w.org, plain, "member").unwrap_err();
    assert!(matches!(above, MemberError::Access(AccessError::Escalation { .. })), "{above:?}");
    w.members.change_role(&caller("owner"), &w.org, plain, "member").unwrap();
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
    assert_eq!(
        w.members.transfer_ownership(&caller("admin"), &w.org, plain).unwrap_err(),
        MemberError::Access(AccessError::OwnerRequired)
    );
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

/// Who tries to make or unmake an owner, in the table below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Challenger {
    Owner,
    Admin,
    /// A member holding a custom role with every permission in the catalogue.
    EveryPermissionRole,
    /// An API key holding every permission in the catalogue, minted by an owner.
    EveryPermissionKey,
}

impl World {
    /// A second owner to demote or remove, and the caller acting as `who`.
    fn challenge(&self, who: Challenger) -> crate::Caller {
        let every: Vec<String> = Permission::ALL.iter().map(|p| p.as_str().to_owned()).collect();
        match who {
            Challenger::Owner => caller("owner"),
            Challenger::Admin => caller("admin"),
            Challenger::EveryPermissionRole => {
                self.roles.create(&caller("owner"), &self.org, self.role("root", &[])).unwrap();
                let root = self.roles.list(&caller("owner"), &self.org).unwrap();
                let RoleView::Custom { role, .. } = root.iter().find(|r| r.key().as_str() == "root").unwrap() else {
                    unreachable!()
                };
                let all = UpdateRole { permissions: Some(every), ..Default::default() };
                self.roles.update(&caller("owner"), &self.org, role.id, all).unwrap();
                let OrgRef::Id(org) = self.org else { unreachable!() };
                join(&self.store, org, "root", "root");
                caller("root")
            }
            Challenger::EveryPermissionKey => {
                let input = CreateApiKey { name: "all".into(), permissions: every, expires_at: None };
                key_caller(&self.keys.create(&caller("owner"), &self.org, input).unwrap().token)
            }
        }
    }
}

/// The access refusal behind a use case's error, if that is what it was.
trait Refusal {
    fn refusal(self) -> Result<(), Option<AccessError>>;
}

impl<T> Refusal for Result<T, MemberError> {
    fn refusal(self) -> Result<(), Option<AccessError>> {
        self.map(drop).map_err(|e| match e {
            MemberError::Access(a) => Some(a),
            _ => None,
        })
    }
}

impl Refusal for Result<(), RoleError> {
    fn refusal(self) -> Result<(), Option<AccessError>> {
        self.map_err(|e| match e {
            RoleError::Access(a) => Some(a),
            _ => None,
        })
    }
}

#[test]
fn only_an_owner_who_is_a_person_makes_unmakes_removes_or_transfers_owners_on_every_path() {
    use crate::invite::{CreateInvite, InviteError, InviteService};
    type Attempt = fn(&World, &crate::Caller) -> Result<(), Option<AccessError>>;
    let paths: &[(&str, Attempt)] = &[
        ("promote a member to owner", |w, c| w.members.change_role(c, &w.org, w.member_id("plain"), "owner").refusal()),
        ("demote an owner", |w, c| w.members.change_role(c, &w.org, w.member_id("second"), "admin").refusal()),
        ("remove an owner", |w, c| w.members.remove(c, &w.org, w.member_id("second")).refusal()),
        ("transfer ownership", |w, c| w.members.transfer_ownership(c, &w.org, w.member_id("plain")).refusal()),
        ("delete a role, reassigning its holders to owner", |w, c| {
            let held = w.roles.create(&caller("owner"), &w.org, w.role("held", &["org:read"])).unwrap();
            w.members.change_role(&caller("owner"), &w.org, w.member_id("plain"), "held").unwrap();
            w.roles.delete(c, &w.org, held.id, Some("owner".into())).refusal()
        }),
    ];
    let challengers =
        [Challenger::Owner, Challenger::Admin, Challenger::EveryPermissionRole, Challenger::EveryPermissionKey];
    let owners = |w: &World| {
        let query = MemberQuery { role: Some("owner".into()), ..Default::default() };
        w.members.list(&caller("owner"), &w.org, query, PageRequest::first(10)).unwrap().items.len()
    };
    for (path, attempt) in paths {
        for who in challengers {
            let w = world();
            let OrgRef::Id(org) = w.org else { unreachable!() };
            join(&w.store, org, "second", "owner");
            let acting = w.challenge(who);
            let result = attempt(&w, &acting);
            if who == Challenger::Owner {
                assert_eq!(result, Ok(()), "an owner may {path}");
            } else {
                assert_eq!(result, Err(Some(AccessError::OwnerRequired)), "{who:?} may not {path}");
                assert_eq!(owners(&w), 2, "{who:?} changed nothing trying to {path}");
            }
        }
    }

    // No invite makes an owner, whoever sends it.
    for who in challengers {
        let w = world();
        let acting = w.challenge(who);
        let minter = Arc::new(CountingMinter::default());
        let invites = InviteService::new(w.store.clone(), Arc::new(SystemClock), minter, Default::default());
        let input = CreateInvite { role: "owner".into(), ..Default::default() };
        assert_eq!(invites.create(&acting, &w.org, input).unwrap_err(), InviteError::OwnerRole, "{who:?}");
    }
}

#[test]
fn custom_roles_need_a_plan_that_includes_them_and_deleting_one_never_does() {
    use crate::policy::Plan;
    let w = world();
    let viewer = w.roles.create(&caller("owner"), &w.org, w.role("viewer", &["org:read"])).unwrap();
    w.store.set_plan(&w.org, Plan::Free);
    assert_eq!(
        w.roles.create(&caller("owner"), &w.org, w.role("auditor", &["audit:read"])).unwrap_err(),
        RoleError::Access(AccessError::FeatureNotInPlan { feature: "custom_roles", plan: "free" })
    );
    let rename = UpdateRole { name: Some("Reader".into()), ..Default::default() };
    assert!(matches!(
        w.roles.update(&caller("owner"), &w.org, viewer.id, rename).unwrap_err(),
        RoleError::Access(AccessError::FeatureNotInPlan { .. })
    ));
    assert!(w.roles.list(&caller("owner"), &w.org).is_ok(), "reading is never gated");
    assert!(w.roles.delete(&caller("owner"), &w.org, viewer.id, None).is_ok(), "a downgraded org can clean up");
    w.store.set_plan(&w.org, Plan::Team);
    assert!(w.roles.create(&caller("owner"), &w.org, w.role("auditor", &["audit:read"])).is_ok());
}
