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
    pub const MAX_CHARS: usize = 100;

    pub fn parse(value: &str) -> Result<Self, ValueError> {
        crate::text::display_name(value, Self::MAX_CHARS, "a team name").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const DESCRIPTION_MAX_CHARS: usize = 1000;

pub(super) fn parse_description(value: Option<&str>) -> Result<Option<String>, ValueError> {
    crate::text::description(value, DESCRIPTION_MAX_CHARS)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    pub org_id: OrgId,
    pub name: TeamName,
    pub description: Option<String>,
    /// The identity provider's id for the group this team mirrors (SCIM).
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change, SCIM's included; the team's ETag.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSummary {
    pub team: Team,
    pub member_count: u64,
}

/// One member of a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    pub member: Member,
    pub is_manager: bool,
    pub added_at: DateTime<Utc>,
}

/// A team with the first page of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamDetail {
    pub summary: TeamSummary,
    pub members: Page<TeamMember>,
}

#[derive(Debug, Clone, Default)]
pub struct CreateTeam {
    pub name: String,
    pub description: Option<String>,
}

/// Absent fields are kept; `Some(None)` clears the description.
#[derive(Debug, Clone, Default)]
pub struct UpdateTeam {
    /// The version the client read (`If-Match`); a change over a newer one is refused.
    pub if_match: Option<i64>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamWriteError {
    #[error("the organization already has a team with this name")]
    NameTaken,
    #[error("the member is already in the team")]
    AlreadyInTeam,
    /// Another team mirrors the same identity-provider group.
    #[error("the organization already has a team with this external id")]
    ExternalIdTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("the organization already has a team with this name")]
    NameTaken,
    #[error("the member is already in the team")]
    AlreadyInTeam,
    #[error("the team is at version {current}, not {expected}")]
    VersionMismatch { expected: i64, current: i64 },
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
    fn insert_team(&mut self, team: &Team) -> Result<(), TeamWriteError>;

    fn find_team(&mut self, org: OrgId, id: TeamId) -> Result<Option<Team>, StoreError>;

    fn count_team_members(&mut self, org: OrgId, team: TeamId) -> Result<u64, StoreError>;

    /// Teams in creation order, each with its member count.
    fn list_teams(&mut self, org: OrgId, page: PageRequest) -> Result<Page<TeamSummary>, StoreError>;

    fn update_team(&mut self, team: &Team) -> Result<(), TeamWriteError>;

    /// Deletes the team and its memberships (never the organization members themselves).
    fn delete_team(&mut self, org: OrgId, id: TeamId) -> Result<(), StoreError>;

    fn add_team_member(
        &mut self,
        org: OrgId,
        team: TeamId,
        member: MemberId,
        is_manager: bool,
        at: DateTime<Utc>,
    ) -> Result<(), TeamWriteError>;

    fn find_team_member(
        &mut self,
        org: OrgId,
        team: TeamId,
        member: MemberId,
    ) -> Result<Option<TeamMember>, StoreError>;

    fn remove_team_member(&mut self, org: OrgId, team: TeamId, member: MemberId) -> Result<(), StoreError>;

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
