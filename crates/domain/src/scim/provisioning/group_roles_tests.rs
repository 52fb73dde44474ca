//! Group-to-role mappings: what a group gives, takes back, and never touches.

use serde_json::json;

use super::*;
use crate::scim::GroupRoleInput;

impl World {
    fn map_groups(&self, mappings: &[(&str, &str)]) -> Result<ScimWrite, crate::scim::ScimError> {
        let input = mappings.iter().map(|(team, role)| GroupRoleInput { team: (*team).into(), role: (*role).into() });
        self.settings.put(&caller("owner"), &OrgRef::Id(self.org), true, false, Some(input.collect()), None)
    }

    /// A custom role `auditor` that reads the audit log.
    fn with_auditor_role(&self) {
        let roles = crate::role::RoleService::new(self.store.clone(), self.clock.clone());
        let input = crate::role::CreateRole {
            key: Some("auditor".into()),
            name: "Auditor".into(),
            description: None,
            permissions: vec!["audit:read".into()],
        };
        roles.create(&caller("owner"), &OrgRef::Id(self.org), input).unwrap();
    }

    fn role_of(&self, member: MemberId) -> (String, bool) {
        let m = self.store.state().memberships[&member].clone();
        (m.role.to_string(), m.role_from_group)
    }

    fn group(&self, name: &str) -> String {
        id_of(&self.scim.create_group(&self.ctx, &json!({"displayName": name})).unwrap())
    }

    fn add_to(&self, group: &str, member: &str) {
        let ops = json!([{"op": "add", "path": "members", "value": [{"value": member}]}]);
        self.patch_group(group, ops).unwrap();
    }

    fn remove_from(&self, group: &str, member: &str) {
        let ops = json!([{"op": "remove", "path": format!("members[value eq \"{member}\"]")}]);
        self.patch_group(group, ops).unwrap();
    }
}

#[test]
fn joining_a_mapped_group_gives_its_role_and_leaving_takes_it_back() {
    let w = world();
    let admins = w.group("Admins");
    w.map_groups(&[(&admins, "admin")]).unwrap();
    let (ada, member) = w.create(&okta_user("ada@acme.test"));
    let before = w.store.audit().len();

    w.add_to(&admins, &ada);
    assert_eq!(w.role_of(member), ("admin".into(), true));
    let records = w.audit_since(before);
    let change = records.iter().find(|r| r.action == AuditAction::MemberRoleChanged).expect("recorded");
    assert_eq!(change.actor, Actor::Scim);

    w.remove_from(&admins, &ada);
    assert_eq!(w.role_of(member), ("member".into(), false));
}

#[test]
fn the_first_mapping_that_applies_wins() {
    let w = world();
    w.with_auditor_role();
    let (admins, auditors) = (w.group("Admins"), w.group("Auditors"));
    w.map_groups(&[(&auditors, "auditor"), (&admins, "admin")]).unwrap();
    let (ada, member) = w.create(&okta_user("ada@acme.test"));
    w.add_to(&admins, &ada);
    assert_eq!(w.role_of(member).0, "admin");
    w.add_to(&auditors, &ada);
    assert_eq!(w.role_of(member).0, "auditor", "listed first");
    w.remove_from(&auditors, &ada);
    assert_eq!(w.role_of(member).0, "admin");
}

#[test]
fn a_group_never_touches_an_owner_nor_a_role_given_by_hand() {
    let w = world();
    let admins = w.group("Admins");
    w.map_groups(&[(&admins, "admin")]).unwrap();
    w.add_to(&admins, &w.owner.to_string());
    assert_eq!(w.role_of(w.owner), ("owner".into(), false));
    w.remove_from(&admins, &w.owner.to_string());
    assert_eq!(w.role_of(w.owner).0, "owner");

    w.with_auditor_role();
    let (ada, member) = w.create(&okta_user("ada@acme.test"));
    w.add_to(&admins, &ada);
    let members = MemberService::new(w.store.clone(), w.clock.clone());
    members.change_role(&caller("owner"), &OrgRef::Id(w.org), member, "auditor").unwrap();
    assert_eq!(w.role_of(member), ("auditor".into(), false));
    w.remove_from(&admins, &ada);
    assert_eq!(w.role_of(member).0, "auditor", "a role given by hand stays");
}

#[test]
fn deleting_a_mapped_group_takes_its_role_back() {
    let w = world();
    let admins = w.group("Admins");
    w.map_groups(&[(&admins, "admin")]).unwrap();
    let (ada, member) = w.create(&okta_user("ada@acme.test"));
    w.add_to(&admins, &ada);
    w.scim.delete_group(&w.ctx, &admins, None).unwrap();
    assert_eq!(w.role_of(member), ("member".into(), false));
}

#[test]
fn a_mapping_never_makes_an_owner_nor_names_what_the_organization_lacks() {
    let w = world();
    let admins = w.group("Admins");
    let invalid = |result: Result<ScimWrite, crate::scim::ScimError>| match result {
        Err(crate::scim::ScimError::Invalid(invalid)) => invalid.0[0].code,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(invalid(w.map_groups(&[(&admins, "owner")])), "owner_not_provisioned");
    assert_eq!(invalid(w.map_groups(&[(&admins, "no-such-role")])), "unknown_role");
    assert_eq!(invalid(w.map_groups(&[("team_nope", "admin")])), "unknown_team");
    assert_eq!(invalid(w.map_groups(&[(&admins, "admin"), (&admins, "member")])), "duplicate_team");
    let (other_org, _, other_ctx) = w.org_with_scim("bob", "Beta");
    let theirs = id_of(&w.scim.create_group(&other_ctx, &json!({"displayName": "Theirs"})).unwrap());
    assert_eq!(invalid(w.map_groups(&[(&theirs, "admin")])), "unknown_team", "another organization's team");
    let _ = other_org;
    assert!(w.settings.get(&caller("owner"), &OrgRef::Id(w.org)).unwrap().policy.group_roles.is_empty());
}

impl World {
    /// A custom role holding `permissions`, given to a new member `subject`.
    fn holder_of(&self, key: &str, permissions: &[&str], subject: &str) -> MemberId {
        let roles = crate::role::RoleService::new(self.store.clone(), self.clock.clone());
        let input = crate::role::CreateRole {
            key: Some(key.into()),
            name: key.into(),
            description: None,
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        };
        roles.create(&caller("owner"), &OrgRef::Id(self.org), input).unwrap();
        join(&self.store, self.org, subject, key)
    }
}

#[test]
fn a_custom_role_holding_every_permission_maps_roles_but_never_owner() {
    let w = world();
    let every: Vec<&str> = crate::authz::Permission::ALL.iter().map(|p| p.as_str()).collect();
    w.holder_of("superuser", &every, "chris");
    let admins = w.group("Admins");
    let chris = |mappings: Vec<GroupRoleInput>| {
        w.settings.put(&caller("chris"), &OrgRef::Id(w.org), true, false, Some(mappings), None)
    };
    let map = |role: &str| vec![GroupRoleInput { team: admins.clone(), role: role.into() }];
    assert!(matches!(chris(map("owner")), Err(crate::scim::ScimError::Invalid(_))));
    chris(map("admin")).expect("every permission of admin is held");
}

#[test]
fn a_mapping_without_the_right_to_change_roles_is_refused() {
    let w = world();
    w.holder_of("scim-admin", &["scim:read", "scim:write", "org:read"], "sam");
    let admins = w.group("Admins");
    let mapping = vec![GroupRoleInput { team: admins, role: "member".into() }];
    let refused = w.settings.put(&caller("sam"), &OrgRef::Id(w.org), true, false, Some(mapping), None);
    assert!(matches!(refused, Err(crate::scim::ScimError::Access(AccessError::Forbidden { .. }))), "{refused:?}");
}

#[test]
fn a_mapping_gives_nothing_once_its_setter_is_demoted() {
    let w = world();
    let every: Vec<&str> = crate::authz::Permission::ALL.iter().map(|p| p.as_str()).collect();
    let chris = w.holder_of("superuser", &every, "chris");
    let admins = w.group("Admins");
    let mapping = vec![GroupRoleInput { team: admins.clone(), role: "admin".into() }];
    w.settings.put(&caller("chris"), &OrgRef::Id(w.org), true, false, Some(mapping), None).unwrap();
    let (ada, ada_member) = w.create(&okta_user("ada@acme.test"));
    w.add_to(&admins, &ada);
    assert_eq!(w.role_of(ada_member), ("admin".into(), true));

    let members = MemberService::new(w.store.clone(), w.clock.clone());
    members.change_role(&caller("owner"), &OrgRef::Id(w.org), chris, "member").unwrap();
    let (bob, bob_member) = w.create(&okta_user("bob@acme.test"));
    w.add_to(&admins, &bob);
    assert_eq!(w.role_of(bob_member), ("member".into(), false), "the demoted setter vouches for nobody");
    w.remove_from(&admins, &ada);
    w.add_to(&admins, &ada);
    assert_eq!(w.role_of(ada_member), ("member".into(), false), "and takes back what the mapping gave");
}
