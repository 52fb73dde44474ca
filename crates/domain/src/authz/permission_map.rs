//! A caller's permission map as the HTTP API serves it, turned back into a [`Grant`] so a
//! Rust service can decide in-process with [`Grant::authorize`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Access, Grant, Permission, PermissionSet, RoleKey};
use crate::error::Invalid;

/// The body of `GET /v1/orgs/{org}/permissions`: the caller's role, how it reaches the
/// organization, and every catalogue permission with whether it is held.
///
/// Deserialize it from the response, then convert it with [`Grant::try_from`]. Fields a
/// newer server adds are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PermissionMap {
    /// The role key (`owner`, `admin`, `member`, a custom role's key, or `api_key`).
    pub role: String,
    /// `direct`, `staff` or `api_key`, as [`Access::as_str`] spells them.
    pub access: String,
    /// Every permission name the server knows, and whether the caller holds it.
    pub permissions: BTreeMap<String, bool>,
    /// The permission names the caller lacks.
    pub denied: Vec<String>,
}

impl TryFrom<PermissionMap> for Grant {
    type Error = Invalid;

    /// Fails closed: a permission is held only when `permissions` says `true` and `denied`
    /// does not name it, so a catalogue permission the map leaves out (an older server) is
    /// not held. Names this crate's catalogue lacks (a newer server) are skipped, as no
    /// caller of this crate can ask about them. An unknown `access` or a malformed `role`
    /// is refused.
    fn try_from(map: PermissionMap) -> Result<Self, Self::Error> {
        let mut invalid = Invalid::default();
        let role = invalid.check("role", RoleKey::parse(&map.role));
        let access = invalid.check("access", Access::parse(&map.access));
        let (Some(role), Some(access)) = (role, access) else {
            return Err(invalid);
        };
        let permissions: PermissionSet = map
            .permissions
            .iter()
            .filter(|(name, held)| **held && !map.denied.contains(name))
            .filter_map(|(name, _)| name.parse::<Permission>().ok())
            .collect();
        Ok(Grant { role, permissions, access })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::authz::SystemRole;

    /// The permission map of `grant` as the HTTP API serves it.
    fn served(grant: &Grant) -> serde_json::Value {
        let permissions: BTreeMap<_, _> =
            Permission::ALL.iter().map(|p| (p.as_str(), grant.permissions.contains(*p))).collect();
        let denied: Vec<_> = grant.denied().iter().map(|p| p.as_str()).collect();
        json!({ "role": grant.role.as_str(), "access": grant.access.as_str(), "permissions": permissions, "denied": denied })
    }

    fn grant_of(body: serde_json::Value) -> Result<Grant, Invalid> {
        let map: PermissionMap = serde_json::from_value(body).unwrap();
        Grant::try_from(map)
    }

    #[test]
    fn every_system_role_and_access_reads_back_as_the_same_grant() {
        for role in SystemRole::ALL {
            for access in Access::ALL {
                let grant = Grant { access: *access, ..Grant::for_system_role(*role) };
                assert_eq!(grant_of(served(&grant)), Ok(grant.clone()), "{role:?} {access:?}");
            }
        }
    }

    #[test]
    fn a_custom_role_keeps_its_key_and_exactly_the_permissions_marked_held() {
        let grant = grant_of(json!({
            "role": "billing-admin",
            "access": "direct",
            "permissions": { "org:read": true, "billing:read": true, "billing:update": false },
            "denied": ["billing:update"],
        }))
        .unwrap();
        assert_eq!(grant.role.as_str(), "billing-admin");
        assert_eq!(grant.permissions, PermissionSet::of(&[Permission::OrgRead, Permission::BillingRead]));
        assert!(grant.authorize(Permission::BillingUpdate).is_err());
    }

    #[test]
    fn permissions_left_out_or_also_denied_are_not_held() {
        let grant = grant_of(json!({
            "role": "member",
            "access": "direct",
            "permissions": { "members:read": true, "members:update": true },
            "denied": ["members:update"],
        }))
        .unwrap();
        assert_eq!(grant.authorize(Permission::MembersRead), Ok(()));
        assert!(grant.authorize(Permission::MembersUpdate).is_err(), "denied wins over a contradicting map");
        assert!(grant.authorize(Permission::OrgRead).is_err(), "a permission the map omits is not held");
    }

    #[test]
    fn names_and_fields_of_a_newer_server_are_skipped() {
        let grant = grant_of(json!({
            "role": "admin",
            "access": "direct",
            "permissions": { "org:read": true, "rockets:launch": true },
            "denied": ["rockets:land"],
            "inherited_from": "parent-org",
        }))
        .unwrap();
        assert_eq!(grant.permissions, PermissionSet::of(&[Permission::OrgRead]));
    }

    #[test]
    fn an_unknown_access_and_a_malformed_role_are_refused_by_field() {
        let err = grant_of(json!({ "role": "Owner!", "access": "root", "permissions": {}, "denied": [] })).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(fields, vec![("role", "invalid_format"), ("access", "unknown_access")]);
    }

    #[test]
    fn a_body_without_the_permissions_is_not_a_permission_map() {
        let body = json!({ "role": "member", "access": "direct", "denied": [] });
        assert!(serde_json::from_value::<PermissionMap>(body).is_err());
    }
}
