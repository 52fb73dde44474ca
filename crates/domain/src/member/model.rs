use chrono::{DateTime, Utc};

use crate::authz::RoleKey;
use crate::error::{Invalid, ValueError};
use crate::ids::{MemberId, OrgId, UserId};
use crate::user::Email;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub id: MemberId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: RoleKey,
    pub joined_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the identity provider deactivated the member (SCIM `active: false`). A
    /// suspended member keeps role and team seats and is refused at the gate.
    pub suspended_at: Option<DateTime<Utc>>,
    /// The role was given by a SCIM group-to-role mapping, so leaving the group takes it
    /// back.
    pub role_from_group: bool,
    /// Bumped by every change of role, suspension or person, whoever makes it; the
    /// member's ETag.
    pub version: i64,
}

impl Membership {
    /// A new, active membership.
    pub fn new(org_id: OrgId, user_id: UserId, role: RoleKey, now: DateTime<Utc>) -> Self {
        Self {
            id: MemberId::generate(),
            org_id,
            user_id,
            role,
            joined_at: now,
            updated_at: now,
            suspended_at: None,
            role_from_group: false,
            version: 1,
        }
    }

    pub fn is_suspended(&self) -> bool {
        self.suspended_at.is_some()
    }

    /// An owner who holds the organization now: the last-owner rule counts these.
    pub fn is_active_owner(&self) -> bool {
        self.role.is_owner() && !self.is_suspended()
    }
}

/// A membership with the user's profile, as member listings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub membership: Membership,
    pub name: Option<String>,
    pub email: Option<Email>,
    /// The identity provider vouched for `email`; an unverified address proves nothing.
    pub email_verified: bool,
}

/// A case-insensitive substring to find in members' names and emails: trimmed,
/// lower-cased, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(value: &str) -> Result<Option<Self>, ValueError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::new("too_long", format!("a search has at most {} characters", Self::MAX_CHARS)));
        }
        if value.chars().any(char::is_control) {
            return Err(ValueError::new("invalid_characters", "a search must not contain control characters"));
        }
        Ok(Some(Self(value.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Filters of a member listing, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberFilter {
    pub search: Option<SearchText>,
    pub role: Option<RoleKey>,
}

/// Filters of a member listing as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    pub q: Option<String>,
    pub role: Option<String>,
}

impl MemberQuery {
    pub fn parse(self) -> Result<MemberFilter, Invalid> {
        let mut invalid = Invalid::default();
        let search = invalid.check("q", SearchText::parse(self.q.as_deref().unwrap_or(""))).flatten();
        let role = self.role.as_deref().and_then(|r| invalid.check("role", RoleKey::parse(r)));
        invalid.into_result()?;
        Ok(MemberFilter { search, role })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_search_is_no_search() {
        assert_eq!(SearchText::parse("   "), Ok(None));
        assert_eq!(SearchText::parse(" Ada ").unwrap().map(|s| s.as_str().to_owned()), Some("ada".into()));
        assert!(SearchText::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn bad_filters_are_reported_by_field() {
        let err = MemberQuery { q: Some("x".repeat(101)), role: Some("Not A Role".into()) }.parse().unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["q", "role"]);
    }
}
