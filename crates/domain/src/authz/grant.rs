//! What a caller may do in one organization, and the decision point that checks it.

use super::{Permission, PermissionSet, RoleKey, SystemRole};
use crate::error::AccessError;

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
    pub const fn as_str(self) -> &'static str {
        match self {
            Access::Direct => "direct",
            Access::Staff => "staff",
            Access::ApiKey => "api_key",
        }
    }
}

/// What an action is performed on, for permissions that can be held on part of an
/// organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The organization as a whole.
    Organization,
    /// The member list of one team; `caller_manages` when the caller is one of its managers.
    TeamMembership { caller_manages: bool },
}

/// A caller's rights in one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: RoleKey,
    pub permissions: PermissionSet,
    pub access: Access,
}

impl Grant {
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

    pub fn is_owner(&self) -> bool {
        self.access == Access::Direct && self.role.is_owner()
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
    fn only_a_direct_owner_is_an_owner() {
        assert!(Grant::for_system_role(SystemRole::Owner).is_owner());
        assert!(!Grant::for_system_role(SystemRole::Admin).is_owner());
        let staff = Grant { access: Access::Staff, ..Grant::for_system_role(SystemRole::Owner) };
        assert!(!staff.is_owner());
    }
}
