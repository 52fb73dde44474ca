//! The fixed catalogue of `resource:action` permissions.

use std::fmt;
use std::str::FromStr;

use crate::error::{FieldError, Invalid};

macro_rules! catalogue {
    ($($variant:ident = $name:literal : $description:literal,)+) => {
        /// One entry of the permission catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Permission {
            $(#[doc = concat!("`", $name, "`: ", $description)] $variant,)+
        }

        impl Permission {
            /// Every permission, in catalogue order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)+];

            /// The `resource:action` name clients see.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $name,)+
                }
            }

            /// What holding the permission allows, for people.
            pub const fn description(self) -> &'static str {
                match self {
                    $(Permission::$variant => $description,)+
                }
            }
        }
    };
}

catalogue! {
    OrgRead = "org:read": "View the organization's profile and dashboard.",
    OrgUpdate = "org:update": "Change the organization's profile (name, slug, domain, logo, timezone, address).",
    OrgDelete = "org:delete": "Delete the organization.",
    OrgTransferOwnership = "org:transfer_ownership": "Give the owner role to another member.",
    MembersRead = "members:read": "List and view members.",
    MembersUpdate = "members:update": "Change a member's role.",
    MembersRemove = "members:remove": "Remove a member from the organization.",
    RolesRead = "roles:read": "List system and custom roles.",
    RolesCreate = "roles:create": "Create custom roles.",
    RolesUpdate = "roles:update": "Rename custom roles and change their permissions.",
    RolesDelete = "roles:delete": "Delete custom roles.",
    InvitesRead = "invites:read": "List invitations.",
    InvitesCreate = "invites:create": "Create and re-send invitations.",
    InvitesRevoke = "invites:revoke": "Revoke invitations.",
    TeamsRead = "teams:read": "List and view teams.",
    TeamsCreate = "teams:create": "Create teams.",
    TeamsUpdate = "teams:update": "Rename teams and manage any team's members and managers.",
    TeamsDelete = "teams:delete": "Delete teams.",
    SecurityRead = "security:read": "View 2FA status, sign-in methods, IP allowlist and session policy.",
    SecurityUpdate = "security:update": "Change 2FA enforcement, sign-in methods, IP allowlist and session policy.",
    SsoRead = "sso:read": "View the SSO federation configuration (secrets are never shown).",
    SsoWrite = "sso:write": "Change the SSO federation configuration.",
    ScimRead = "scim:read": "View the SCIM provisioning configuration.",
    ScimWrite = "scim:write": "Change the SCIM provisioning configuration and rotate its token.",
    AuditRead = "audit:read": "Read, verify and export the audit log.",
    EventsRead = "events:read": "Read the organization's event feed.",
    WebhooksManage = "webhooks:manage": "Create, list, change and delete webhooks, see their deliveries and re-send them.",
    BillingRead = "billing:read": "View spend, budget and overage posture.",
    BillingUpdate = "billing:update": "Change budgets and overage limits.",
    LlmRead = "llm:read": "View the LLM admission policy.",
    LlmUpdate = "llm:update": "Change the LLM admission policy.",
    ApiKeysManage = "api_keys:manage": "Create, list and revoke organization API keys.",
    UsageWrite = "usage:write": "Record metered usage events.",
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A permission name that is not in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a permission of the catalogue")]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Permission::ALL.iter().copied().find(|p| p.as_str() == name).ok_or_else(|| UnknownPermission(name.to_owned()))
    }
}

/// A set of permissions as a bit set: membership tests are a single AND.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PermissionSet(u64);

impl PermissionSet {
    /// No permission.
    pub const EMPTY: PermissionSet = PermissionSet(0);

    /// Every permission of the catalogue.
    pub fn all() -> Self {
        Self::of(Permission::ALL)
    }

    /// Exactly `permissions`.
    pub fn of(permissions: &[Permission]) -> Self {
        permissions.iter().fold(Self::EMPTY, |set, p| set.with(*p))
    }

    const fn bit(permission: Permission) -> u64 {
        1 << permission as u8
    }

    /// This set with `permission` added.
    #[must_use]
    pub const fn with(self, permission: Permission) -> Self {
        Self(self.0 | Self::bit(permission))
    }

    /// This set with `permission` removed.
    #[must_use]
    pub const fn without(self, permission: Permission) -> Self {
        Self(self.0 & !Self::bit(permission))
    }

    /// Whether `permission` is in the set.
    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & Self::bit(permission) != 0
    }

    /// True when every permission of `other` is also in `self`.
    pub const fn is_superset_of(self, other: PermissionSet) -> bool {
        other.0 & !self.0 == 0
    }

    /// The permissions in both sets.
    #[must_use]
    pub const fn intersect(self, other: PermissionSet) -> PermissionSet {
        Self(self.0 & other.0)
    }

    /// The permissions of `self` that `other` lacks.
    #[must_use]
    pub const fn minus(self, other: PermissionSet) -> PermissionSet {
        Self(self.0 & !other.0)
    }

    /// The permissions in the set, in catalogue order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.iter().copied().filter(move |p| self.contains(*p))
    }

    /// The catalogue permissions this set does not hold.
    pub fn denied(self) -> impl Iterator<Item = Permission> {
        Self::all().minus(self).iter()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        iter.into_iter().fold(Self::EMPTY, |set, p| set.with(p))
    }
}

/// Parses permission names, reporting each unknown one under `field[index]`.
pub fn parse_permissions(invalid: &mut Invalid, field: &str, names: &[String]) -> PermissionSet {
    let mut set = PermissionSet::EMPTY;
    for (index, name) in names.iter().enumerate() {
        match name.parse::<Permission>() {
            Ok(p) => set = set.with(p),
            Err(e) => invalid.0.push(FieldError::new(format!("{field}[{index}]"), "unknown_permission", e.to_string())),
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_permissions_are_reported_by_index() {
        let mut invalid = Invalid::default();
        let set = parse_permissions(&mut invalid, "permissions", &["org:read".into(), "org:fly".into()]);
        assert!(set.contains(Permission::OrgRead));
        assert_eq!(invalid.0[0].field, "permissions[1]");
    }

    #[test]
    fn the_catalogue_fits_the_bit_set() {
        assert!(Permission::ALL.len() <= 64);
    }

    #[test]
    fn names_are_unique_resource_action_pairs() {
        let mut names: Vec<_> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        for name in &names {
            let (resource, action) = name.split_once(':').unwrap_or_default();
            assert!(!resource.is_empty() && !action.is_empty(), "{name}");
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Permission::ALL.len());
    }

    #[test]
    fn every_name_parses_back() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>(), Ok(*p));
        }
        assert!("org:fly".parse::<Permission>().is_err());
    }

    #[test]
    fn set_algebra() {
        let read = PermissionSet::of(&[Permission::OrgRead, Permission::MembersRead]);
        let all = PermissionSet::all();
        assert!(all.is_superset_of(read));
        assert!(!read.is_superset_of(all));
        assert_eq!(read.minus(all), PermissionSet::EMPTY);
        assert_eq!(read.iter().collect::<Vec<_>>(), vec![Permission::OrgRead, Permission::MembersRead]);
        assert_eq!(read.denied().count(), Permission::ALL.len() - 2);
        assert!(!read.without(Permission::OrgRead).contains(Permission::OrgRead));
    }
}
