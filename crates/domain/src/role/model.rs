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
    pub const MAX_CHARS: usize = 60;

    pub fn parse(value: &str) -> Result<Self, ValueError> {
        crate::text::display_name(value, Self::MAX_CHARS, "a role name").map(Self)
    }

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRole {
    pub id: RoleId,
    pub org_id: OrgId,
    pub key: RoleKey,
    pub name: RoleName,
    pub description: Option<String>,
    pub permissions: PermissionSet,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the role's ETag.
    pub version: i64,
}

/// A role as listed: a system role or a custom one (which may shadow a system role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleView {
    System(SystemRole),
    Custom { role: CustomRole, shadows: Option<SystemRole> },
}

impl RoleView {
    pub fn key(&self) -> RoleKey {
        match self {
            RoleView::System(r) => r.key(),
            RoleView::Custom { role, .. } => role.key.clone(),
        }
    }

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
    pub key: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
}

/// Input of "update a custom role": absent fields are kept. The key never changes: members
/// hold their role by key.
#[derive(Debug, Clone, Default)]
pub struct UpdateRole {
    /// The version the client read (`If-Match`); a change over a newer one is refused.
    pub if_match: Option<i64>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
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
