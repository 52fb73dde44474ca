//! The organization's directory as SCIM sees it, and the port it is stored through.
//!
//! Every member of the organization is a SCIM User whose id is the member id; a member
//! the identity provider provisioned or took over also has a [`ScimUserRecord`]. Every
//! team is a SCIM Group whose id is the team id.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::ids::{MemberId, OrgId, TeamId};
use crate::member::Membership;
use crate::team::Team;
use crate::user::Email;

/// The SCIM attributes kept for a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserRecord {
    /// The membership it describes.
    pub member_id: MemberId,
    /// The organization.
    pub org_id: OrgId,
    /// The identity provider's `userName`, unique in the organization.
    pub user_name: String,
    /// The identity provider's own id for the person.
    pub external_id: Option<String>,
    /// The normalised resource as the identity provider last sent it (see
    /// [`super::resource`]), `userName`, `externalId` and `active` included.
    pub attributes: Map<String, Value>,
    /// When the identity provider first provisioned the member.
    pub created_at: DateTime<Utc>,
    /// When it last changed the record.
    pub updated_at: DateTime<Utc>,
}

/// A member as the directory lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The membership.
    pub membership: Membership,
    /// The person's profile, for a member the identity provider never described.
    pub email: Option<Email>,
    /// The person's display name, for a member the identity provider never described.
    pub name: Option<String>,
    /// What the identity provider provisioned; `None` for a member who joined otherwise.
    pub scim: Option<ScimUserRecord>,
}

/// A team as the directory lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryGroup {
    /// The team.
    pub team: Team,
    /// The members' ids and display names, in the order they joined the organization.
    pub members: Vec<(MemberId, Option<String>)>,
}

/// What an index narrows a search to before the filter decides: a superset of the
/// matches, never fewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// `userName eq`: a provisioned member's user name, or another member's email.
    UserName(String),
    /// `externalId eq`.
    ExternalId(String),
    /// `emails.value eq`
    Email(String),
    /// `displayName eq` (groups)
    DisplayName(String),
}

/// Where a page of an unfiltered listing starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// After this id (keyset): the page that follows one already served.
    After(uuid::Uuid),
    /// Skip this many (the rare jump to an arbitrary `startIndex`).
    Offset(u64),
}

/// The port the SCIM directory is stored through. Every read is scoped by organization.
pub trait DirectoryRepository {
    /// One member as the directory shows it.
    fn find_directory_user(&mut self, org: OrgId, member: MemberId) -> Result<Option<DirectoryUser>, StoreError>;

    /// Members in join order, from `start`, at most `limit`; narrowed by `lookup`.
    fn list_directory_users(
        &mut self,
        org: OrgId,
        lookup: Option<&Lookup>,
        start: Start,
        limit: u64,
    ) -> Result<Vec<DirectoryUser>, StoreError>;

    /// How many members the organization has.
    fn count_directory_users(&mut self, org: OrgId) -> Result<u64, StoreError>;

    /// Whether `user_name` is another member's: a provisioned member's user name, or the
    /// email of a member without one (compared case-insensitively).
    fn user_name_taken(&mut self, org: OrgId, user_name: &str, except: Option<MemberId>) -> Result<bool, StoreError>;

    /// Creates or replaces the member's SCIM attributes.
    fn save_scim_user(&mut self, record: &ScimUserRecord) -> Result<(), StoreError>;

    /// Suspends (`Some`) or reactivates (`None`) the membership.
    fn set_member_suspended(
        &mut self,
        org: OrgId,
        member: MemberId,
        suspended_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Deletes a provisioned person's user once no membership is left to them.
    fn delete_user_if_unlinked_and_orphaned(&mut self, user: crate::ids::UserId) -> Result<(), StoreError>;

    /// One team as the directory shows it, with its members.
    fn find_directory_group(&mut self, org: OrgId, team: TeamId) -> Result<Option<DirectoryGroup>, StoreError>;

    /// Teams in creation order, narrowed by `lookup`, with members when `with_members`.
    fn list_directory_groups(
        &mut self,
        org: OrgId,
        lookup: Option<&Lookup>,
        with_members: bool,
    ) -> Result<Vec<DirectoryGroup>, StoreError>;

    /// The team's members, replaced by `members` in one statement each way.
    fn set_team_members(
        &mut self,
        org: OrgId,
        team: TeamId,
        add: &[MemberId],
        remove: &[MemberId],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Which of `members` are members of the organization.
    fn existing_members(&mut self, org: OrgId, members: &[MemberId]) -> Result<Vec<MemberId>, StoreError>;
}
