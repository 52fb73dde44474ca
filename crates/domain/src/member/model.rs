use chrono::{DateTime, Utc};

use crate::authz::RoleKey;
use crate::error::{Invalid, ValueError};
use crate::ids::{MemberId, OrgId, UserId};
use crate::user::Email;

/// A user's place in an organization: their role, and whether the identity provider
/// suspended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The membership's public id (the SCIM User id too).
    pub id: MemberId,
    /// The organization.
    pub org_id: OrgId,
    /// The person.
    pub user_id: UserId,
    /// The role they hold: a system role's key or a custom role's.
    pub role: RoleKey,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
    /// When the membership last changed.
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

    /// True while the identity provider keeps the membership deactivated.
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
    /// The membership.
    pub membership: Membership,
    /// The person's display name, from their identity provider.
    pub name: Option<String>,
    /// The person's email, verified or not (see `email_verified`).
    pub email: Option<Email>,
    /// The identity provider vouched for `email`; an unverified address proves nothing.
    pub email_verified: bool,
}

/// A case-insensitive substring to find in members' names and emails: trimmed,
/// lower-cased, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// The longest search, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Trims and lower-cases `value`; `None` for a search that is empty once trimmed.
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

    /// The lower-cased text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Filters of a member listing, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberFilter {
    /// Keep members whose name or email contains this.
    pub search: Option<SearchText>,
    /// Keep members holding this role.
    pub role: Option<RoleKey>,
}

/// Filters of a member listing as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    /// Text to find in names and emails.
    pub q: Option<String>,
    /// A role key.
    pub role: Option<String>,
}

impl MemberQuery {
    /// Validates the filters, reporting every bad one at once.
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
