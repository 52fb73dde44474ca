//! What a caller may do in one organization, and the decision point that checks it.

use super::{Permission, PermissionSet, RoleKey, SystemRole};
use crate::error::{AccessError, ValueError};

/// How the caller reaches the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Through its own membership.
    Direct,
    /// As platform staff, without a membership.
    Staff,
    /// Through an organization API key.
    ApiKey,
}

impl Access {
    /// Every way into an organization.
    pub const ALL: &'static [Access] = &[Access::Direct, Access::Staff, Access::ApiKey];

    /// The name the HTTP API gives this access: `direct`, `staff` or `api_key`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Access::Direct => "direct",
            Access::Staff => "staff",
            Access::ApiKey => "api_key",
        }
    }

    /// Reads back a name [`Access::as_str`] gives.
    pub fn parse(name: &str) -> Result<Self, ValueError> {
        Self::ALL
            .iter()
            .copied()
            .find(|access| access.as_str() == name)
            .ok_or_else(|| ValueError::new("unknown_access", format!("`{name}` is not one of direct, staff, api_key")))
    }
}

/// What an action is performed on, for permissions that can be held on part of an
/// organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The organization as a whole.
    Organization,
    /// The member list of one team; `caller_manages` when the caller is one of its managers.
    TeamMembership {
        /// True when the caller is one of the team's managers.
        caller_manages: bool,
    },
}

/// A role as one side of a role change: its key and the permissions it carries in the
/// organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleGrant<'a> {
    /// The role's key.
    pub key: &'a RoleKey,
    /// The permissions it carries in the organization.
    pub permissions: PermissionSet,
}

/// A caller's rights in one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The caller's role: its key (`api_key` for an API key, the role a staff member reads as).
    pub role: RoleKey,
    /// Every permission the caller holds here; [`Grant::authorize`] checks against it.
    pub permissions: PermissionSet,
    /// How the caller reaches the organization.
    pub access: Access,
}

impl Grant {
    /// The rights of a direct member holding a system role.
    pub fn for_system_role(role: SystemRole) -> Self {
        Self { role: role.key(), permissions: role.permissions(), access: Access::Direct }
    }

    /// The authorization decision: allowed, or refused naming the missing permission.
    pub fn authorize(&self, permission: Permission) -> Result<(), AccessError> {
        if self.permissions.contains(permission) {
            Ok(())
        } else {
            Err(AccessError::Forbidden { permission: permission.as_str() })
        }
    }

    /// The authorization decision for a permission held, or not, on one resource. Beyond
    /// the organization-wide grant, a team's managers may change that team's membership
    /// (`teams:update` scoped to the team) without holding `teams:update` everywhere.
    pub fn authorize_on(&self, permission: Permission, resource: &Resource) -> Result<(), AccessError> {
        let scoped = match resource {
            Resource::Organization => false,
            Resource::TeamMembership { caller_manages } => {
                permission == Permission::TeamsUpdate && *caller_manages && self.access == Access::Direct
            }
        };
        if scoped {
            Ok(())
        } else {
            self.authorize(permission)
        }
    }

    /// Refuses handing out (to a role, a member, an invite or an API key) any permission
    /// this grant does not hold: nobody can create more power than they have.
    pub fn may_grant(&self, permissions: PermissionSet) -> Result<(), AccessError> {
        let missing: Vec<&'static str> = permissions.minus(self.permissions).iter().map(Permission::as_str).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AccessError::Escalation { missing })
        }
    }

    /// True for a person whose own membership holds `owner`: staff and API keys never are.
    pub fn is_owner(&self) -> bool {
        self.access == Access::Direct && self.role.is_owner()
    }

    /// The one decision for every change of someone's role — a role change, a removal, a
    /// newcomer's role (invite, join request, provisioning), a reassignment, a transfer:
    /// `from` is the role they hold now (`None` for a newcomer), `to` the role they will
    /// hold (`None` when they leave the organization).
    ///
    /// Any change that makes or unmakes an owner needs a person who is an owner, whatever
    /// permissions the caller holds; beyond that, the caller must hold every permission of
    /// both roles, so nobody promotes past themselves or demotes someone above them.
    pub fn may_change_role(&self, from: Option<&RoleGrant<'_>>, to: Option<&RoleGrant<'_>>) -> Result<(), AccessError> {
        let touches_owner = [from, to].into_iter().flatten().any(|side| side.key.is_owner());
        if touches_owner && !self.is_owner() {
            return Err(AccessError::OwnerRequired);
        }
        for side in [from, to].into_iter().flatten() {
            self.may_grant(side.permissions)?;
        }
        Ok(())
    }

    /// Every catalogue permission this grant lacks, for client-side gating.
    pub fn denied(&self) -> Vec<Permission> {
        self.permissions.denied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_refused_what_its_role_lacks_with_the_permission_named() {
        let grant = Grant::for_system_role(SystemRole::Member);
        assert_eq!(grant.authorize(Permission::OrgRead), Ok(()));
        assert_eq!(grant.authorize(Permission::OrgUpdate), Err(AccessError::Forbidden { permission: "org:update" }));
        assert!(grant.denied().contains(&Permission::OrgDelete));
        assert!(!grant.denied().contains(&Permission::OrgRead));
    }

    #[test]
    fn team_managers_may_change_their_teams_membership_only() {
        let member = Grant::for_system_role(SystemRole::Member);
        let managing = Resource::TeamMembership { caller_manages: true };
        let not_managing = Resource::TeamMembership { caller_manages: false };
        assert_eq!(member.authorize_on(Permission::TeamsUpdate, &managing), Ok(()));
        assert!(member.authorize_on(Permission::TeamsUpdate, &not_managing).is_err());
        assert!(
            member.authorize_on(Permission::TeamsUpdate, &Resource::Organization).is_err(),
            "managers do not rename"
        );
        assert!(member.authorize_on(Permission::TeamsDelete, &managing).is_err(), "managers do not delete");
        let key = Grant { access: Access::ApiKey, ..member };
        assert!(key.authorize_on(Permission::TeamsUpdate, &managing).is_err(), "only people manage teams");
    }

    #[test]
    fn nobody_grants_what_they_lack() {
        let admin = Grant::for_system_role(SystemRole::Admin);
        assert_eq!(admin.may_grant(SystemRole::Member.permissions()), Ok(()));
        assert_eq!(
            admin.may_grant(SystemRole::Owner.permissions()),
            Err(AccessError::Escalation { missing: vec!["org:delete", "org:transfer_ownership", "scim:write"] })
        );
    }

    #[test]
    fn only_a_person_who_is_an_owner_makes_or_unmakes_owners() {
        let owner_key = RoleKey::owner();
        let member_key = SystemRole::Member.key();
        let owner = RoleGrant { key: &owner_key, permissions: PermissionSet::all() };
        let member = RoleGrant { key: &member_key, permissions: SystemRole::Member.permissions() };
        let every_permission =
            |access| Grant { role: RoleKey::parse("root").unwrap(), permissions: PermissionSet::all(), access };
        let callers = [
            ("admin", Grant::for_system_role(SystemRole::Admin)),
            ("custom role with every permission", every_permission(Access::Direct)),
            ("API key with every permission", every_permission(Access::ApiKey)),
            ("staff", Grant { access: Access::Staff, ..Grant::for_system_role(SystemRole::Owner) }),
        ];
        let changes = [
            ("promote", Some(&member), Some(&owner)),
            ("demote", Some(&owner), Some(&member)),
            ("remove", Some(&owner), None),
            ("admit as owner", None, Some(&owner)),
        ];
        for (who, grant) in &callers {
            for (what, from, to) in changes {
                assert_eq!(grant.may_change_role(from, to), Err(AccessError::OwnerRequired), "{who} may not {what}");
            }
            assert!(grant.may_change_role(Some(&member), None).is_ok(), "{who} may remove a plain member");
        }
        let real_owner = Grant::for_system_role(SystemRole::Owner);
        for (what, from, to) in changes {
            assert_eq!(real_owner.may_change_role(from, to), Ok(()), "an owner may {what}");
        }
    }

    #[test]
    fn only_a_direct_owner_is_an_owner() {
        assert!(Grant::for_system_role(SystemRole::Owner).is_owner());
        assert!(!Grant::for_system_role(SystemRole::Admin).is_owner());
        let staff = Grant { access: Access::Staff, ..Grant::for_system_role(SystemRole::Owner) };
        assert!(!staff.is_owner());
    }
}
