use chrono::{DateTime, Utc};

use crate::authz::{PermissionSet, RoleKey, SystemRole};
use crate::error::ValueError;
use crate::ids::{OrgId, RoleId};

/// Custom roles an organization may define; enough for any real hierarchy, small enough to
/// list in one response.
pub const MAX_CUSTOM_ROLES: usize = 100;

/// Display name of a role: trimmed, 1 to 60 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleName(String);

impl RoleName {
    /// The longest name, in characters.
    pub const MAX_CHARS: usize = 60;

    /// Trims `value` and refuses empty, over-long or control-character names.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        crate::text::display_name(value, Self::MAX_CHARS, "a role name").map(Self)
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key a role gets when none is given: `Billing Admin` → `billing_admin`.
    pub fn derive_key(&self) -> Result<RoleKey, ValueError> {
        let mut key = String::new();
        for c in self.0.chars() {
            if c.is_ascii_alphanumeric() {
                key.push(c.to_ascii_lowercase());
            } else if !key.is_empty() && !key.ends_with('_') {
                key.push('_');
            }
        }
        let key: String = key.trim_end_matches('_').chars().take(RoleKey::MAX_LEN).collect();
        RoleKey::parse(&key).map_err(|_| ValueError::new("key_required", "give the role a `key`: its name yields none"))
    }
}

const DESCRIPTION_MAX_CHARS: usize = 500;

pub(super) fn parse_description(value: Option<&str>) -> Result<Option<String>, ValueError> {
    crate::text::description(value, DESCRIPTION_MAX_CHARS)
}

/// An organization's own named set of permissions, assigned to members like a system role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRole {
    /// The role's public id.
    pub id: RoleId,
    /// The organization it belongs to.
    pub org_id: OrgId,
    /// The key memberships name it by, unique in the organization; never `owner`.
    pub key: RoleKey,
    /// Its display name.
    pub name: RoleName,
    /// What the role is for.
    pub description: Option<String>,
    /// The permissions it grants.
    pub permissions: PermissionSet,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the role's ETag.
    pub version: i64,
}

/// A role as listed: a system role or a custom one (which may shadow a system role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleView {
    /// A built-in role.
    System(SystemRole),
    /// A custom role.
    Custom {
        /// The role.
        role: CustomRole,
        /// The system role it replaces in this organization, when its key is one.
        shadows: Option<SystemRole>,
    },
}

impl RoleView {
    /// The key memberships name the role by.
    pub fn key(&self) -> RoleKey {
        match self {
            RoleView::System(r) => r.key(),
            RoleView::Custom { role, .. } => role.key.clone(),
        }
    }

    /// The permissions the role grants in this organization.
    pub fn permissions(&self) -> PermissionSet {
        match self {
            RoleView::System(r) => r.permissions(),
            RoleView::Custom { role, .. } => role.permissions,
        }
    }
}

/// Input of "create a custom role", before validation.
#[derive(Debug, Clone, Default)]
pub struct CreateRole {
    /// The key; derived from the name when `None`.
    pub key: Option<String>,
    /// The display name.
    pub name: String,
    /// What the role is for.
    pub description: Option<String>,
    /// Permission names (`resource:action`); the caller must hold every one.
    pub permissions: Vec<String>,
}

/// Input of "update a custom role": absent fields are kept. The key never changes: members
/// hold their role by key.
#[derive(Debug, Clone, Default)]
pub struct UpdateRole {
    /// The version the client read (`If-Match`); a change over a newer one is refused.
    pub if_match: Option<i64>,
    /// The new display name.
    pub name: Option<String>,
    /// The new description, or `Some(None)` to clear it.
    pub description: Option<Option<String>>,
    /// The new permission names, replacing the old ones.
    pub permissions: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_derive_from_names() {
        let key = |n: &str| RoleName::parse(n).unwrap().derive_key().map(|k| k.as_str().to_owned());
        assert_eq!(key("Billing Admin"), Ok("billing_admin".into()));
        assert_eq!(key("  SRE / On-call "), Ok("sre_on_call".into()));
        assert!(key("42").is_err(), "a key starts with a letter");
        assert!(key("Équipe").is_ok());
    }
}
