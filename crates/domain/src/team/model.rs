use chrono::{DateTime, Utc};

use crate::error::{AccessError, Invalid, StoreError, ValueError};
use crate::ids::{MemberId, OrgId, TeamId};
use crate::member::Member;
use crate::pagination::{Page, PageRequest};

/// Team name: trimmed, 1 to 100 characters, no control characters; unique in its
/// organization, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamName(String);

impl TeamName {
    /// The longest name, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Trims `value` and refuses empty, over-long or control-character names.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        crate::text::display_name(value, Self::MAX_CHARS, "a team name").map(Self)
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const DESCRIPTION_MAX_CHARS: usize = 1000;

pub(super) fn parse_description(value: Option<&str>) -> Result<Option<String>, ValueError> {
    crate::text::description(value, DESCRIPTION_MAX_CHARS)
}

/// A named group of an organization's members, some of them its managers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// The team's public id.
    pub id: TeamId,
    /// The organization it belongs to.
    pub org_id: OrgId,
    /// Its name, unique in the organization.
    pub name: TeamName,
    /// Free text about the team, up to 1,000 characters.
    pub description: Option<String>,
    /// The identity provider's id for the group this team mirrors (SCIM).
    pub external_id: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change, SCIM's included; the team's ETag.
    pub version: i64,
}

/// A team with how many members it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSummary {
    /// The team.
    pub team: Team,
    /// How many members it has, managers included.
    pub member_count: u64,
}

/// One member of a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    /// The organization member.
    pub member: Member,
    /// True when they manage the team: they may add and remove its non-manager members.
    pub is_manager: bool,
    /// When they joined the team.
    pub added_at: DateTime<Utc>,
}

/// A team with the first page of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamDetail {
    /// The team and its member count.
    pub summary: TeamSummary,
    /// Its members, in the order they joined the organization.
    pub members: Page<TeamMember>,
}

/// A team as a client asks to create it; the use case validates every field.
#[derive(Debug, Clone, Default)]
pub struct CreateTeam {
    /// The team's name.
    pub name: String,
    /// What the team is for.
    pub description: Option<String>,
}

/// Absent fields are kept; `Some(None)` clears the description.
#[derive(Debug, Clone, Default)]
pub struct UpdateTeam {
    /// The version the client read (`If-Match`); a change over a newer one is refused.
    pub if_match: Option<i64>,
    /// The new name.
    pub name: Option<String>,
    /// The new description, or `Some(None)` to clear it.
    pub description: Option<Option<String>>,
}

/// Why storing a team or a team membership failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamWriteError {
    /// Team names are unique in an organization, compared without case.
    #[error("the organization already has a team with this name")]
    NameTaken,
    /// The member already sits in the team.
    #[error("the member is already in the team")]
    AlreadyInTeam,
    /// Another team mirrors the same identity-provider group.
    #[error("the organization already has a team with this external id")]
    ExternalIdTaken,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a use case on teams failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Team names are unique in an organization, compared without case.
    #[error("the organization already has a team with this name")]
    NameTaken,
    /// The member already sits in the team.
    #[error("the member is already in the team")]
    AlreadyInTeam,
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the team is at version {current}, not {expected}")]
    VersionMismatch {
        /// The version the client expected.
        expected: i64,
        /// The team's version now.
        current: i64,
    },
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TeamWriteError> for TeamError {
    fn from(err: TeamWriteError) -> Self {
        match err {
            TeamWriteError::NameTaken => TeamError::NameTaken,
            TeamWriteError::AlreadyInTeam => TeamError::AlreadyInTeam,
            // Only SCIM sets external ids; a team written here keeps the one it had.
            TeamWriteError::ExternalIdTaken => {
                TeamError::Store(StoreError::Internal("a team's external id changed outside SCIM".into()))
            }
            TeamWriteError::Store(e) => TeamError::Store(e),
        }
    }
}

/// The port teams are stored through. Every read is scoped by organization.
pub trait TeamRepository {
    /// Stores a new team.
    fn insert_team(&mut self, team: &Team) -> Result<(), TeamWriteError>;

    /// The team `id` of organization `org`.
    fn find_team(&mut self, org: OrgId, id: TeamId) -> Result<Option<Team>, StoreError>;

    /// How many members the team has, managers included.
    fn count_team_members(&mut self, org: OrgId, team: TeamId) -> Result<u64, StoreError>;

    /// Teams in creation order, each with its member count.
    fn list_teams(&mut self, org: OrgId, page: PageRequest) -> Result<Page<TeamSummary>, StoreError>;

    /// Stores a team's new name, description or external id.
    fn update_team(&mut self, team: &Team) -> Result<(), TeamWriteError>;

    /// Deletes the team and its memberships (never the organization members themselves).
    fn delete_team(&mut self, org: OrgId, id: TeamId) -> Result<(), StoreError>;

    /// Seats `member` in the team, as a manager when `is_manager`.
    fn add_team_member(
        &mut self,
        org: OrgId,
        team: TeamId,
        member: MemberId,
        is_manager: bool,
        at: DateTime<Utc>,
    ) -> Result<(), TeamWriteError>;

    /// One member of the team; `None` when they do not sit in it.
    fn find_team_member(
        &mut self,
        org: OrgId,
        team: TeamId,
        member: MemberId,
    ) -> Result<Option<TeamMember>, StoreError>;

    /// Takes `member` off the team; they stay in the organization.
    fn remove_team_member(&mut self, org: OrgId, team: TeamId, member: MemberId) -> Result<(), StoreError>;

    /// Makes `member` a manager of the team, or no longer one.
    fn set_team_manager(
        &mut self,
        org: OrgId,
        team: TeamId,
        member: MemberId,
        is_manager: bool,
    ) -> Result<(), StoreError>;

    /// The team's members in the order they joined the organization.
    fn list_team_members(
        &mut self,
        org: OrgId,
        team: TeamId,
        page: PageRequest,
    ) -> Result<Page<TeamMember>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_names_are_bounded() {
        assert!(TeamName::parse(" Platform ").is_ok_and(|n| n.as_str() == "Platform"));
        assert!(TeamName::parse("").is_err());
        assert!(TeamName::parse(&"x".repeat(101)).is_err());
    }
}
