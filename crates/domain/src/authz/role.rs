//! Role keys and the built-in system roles.

use std::fmt;

use super::{Permission, PermissionSet};
use crate::error::ValueError;

/// The key a membership names its role by: a system role (`owner`, `admin`, `member`) or an
/// organization's custom role. Lower-case letters, digits, `_` and `-`; 1 to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleKey(String);

impl RoleKey {
    /// The longest key, in characters.
    pub const MAX_LEN: usize = 40;

    /// Accepts a key of 1 to [`MAX_LEN`](Self::MAX_LEN) lower-case letters, digits, `_` and `-`,
    /// starting with a letter.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
        if value.is_empty() || value.len() > Self::MAX_LEN {
            return Err(ValueError::new("invalid_length", format!("a role key has 1 to {} characters", Self::MAX_LEN)));
        }
        if !value.chars().all(valid_char) || !value.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(ValueError::new(
                "invalid_format",
                "a role key starts with a lower-case letter and holds only lower-case letters, digits, `_` and `-`",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The key of the owner role.
    pub fn owner() -> Self {
        SystemRole::Owner.key()
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The system role this key names, if any; a custom role may shadow it in an organization.
    pub fn system_role(&self) -> Option<SystemRole> {
        SystemRole::ALL.iter().copied().find(|r| r.as_str() == self.0)
    }

    /// True for the `owner` key.
    pub fn is_owner(&self) -> bool {
        self.system_role() == Some(SystemRole::Owner)
    }
}

impl fmt::Display for RoleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The roles every organization has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemRole {
    /// Everything.
    Owner,
    /// Everything but deleting the organization, transferring ownership and writing the SCIM
    /// configuration.
    Admin,
    /// Reads the organization, its members and teams.
    Member,
}

impl SystemRole {
    /// Every system role, from most to least powerful.
    pub const ALL: &'static [SystemRole] = &[SystemRole::Owner, SystemRole::Admin, SystemRole::Member];

    /// The role's key: `owner`, `admin` or `member`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SystemRole::Owner => "owner",
            SystemRole::Admin => "admin",
            SystemRole::Member => "member",
        }
    }

    /// The role's key as a [`RoleKey`].
    pub fn key(self) -> RoleKey {
        RoleKey(self.as_str().to_owned())
    }

    /// What the role may do, for people.
    pub const fn description(self) -> &'static str {
        match self {
            SystemRole::Owner => "Full control of the organization, including deleting it and transferring ownership.",
            SystemRole::Admin => {
                "Manages the organization, except deleting it, transferring ownership and writing SCIM configuration."
            }
            SystemRole::Member => "Reads the organization, its members and teams.",
        }
    }

    /// The permissions the role grants, the same in every organization.
    pub fn permissions(self) -> PermissionSet {
        match self {
            SystemRole::Owner => PermissionSet::all(),
            SystemRole::Admin => PermissionSet::all()
                .without(Permission::OrgDelete)
                .without(Permission::OrgTransferOwnership)
                .without(Permission::ScimWrite),
            SystemRole::Member => PermissionSet::of(&[
                Permission::OrgRead,
                Permission::MembersRead,
                Permission::TeamsRead,
                Permission::LlmRead,
            ]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_roles_nest() {
        let owner = SystemRole::Owner.permissions();
        let admin = SystemRole::Admin.permissions();
        let member = SystemRole::Member.permissions();
        assert!(owner.is_superset_of(admin) && admin.is_superset_of(member));
        assert!(!admin.contains(Permission::OrgDelete));
        assert!(!admin.contains(Permission::OrgTransferOwnership));
        assert!(!admin.contains(Permission::ScimWrite));
        assert!(admin.contains(Permission::ScimRead));
        assert!(!member.contains(Permission::MembersUpdate));
    }

    #[test]
    fn role_keys_are_validated() {
        assert!(RoleKey::parse("billing-admin").is_ok());
        assert!(RoleKey::parse("").is_err());
        assert!(RoleKey::parse("Admin").is_err());
        assert!(RoleKey::parse("9lives").is_err());
        assert!(RoleKey::parse(&"a".repeat(41)).is_err());
        assert_eq!(RoleKey::parse("owner").map(|k| k.is_owner()), Ok(true));
    }
}
