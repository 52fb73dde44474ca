use chrono::{DateTime, Utc};

use crate::authz::RoleKey;
use crate::error::StoreError;
use crate::ids::{OrgId, TeamId, UserId};
use crate::policy::Versioned;

/// An organization's SCIM provisioning settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScimConfig {
    /// The identity provider may provision members.
    pub enabled: bool,
    /// The token the identity provider authenticates with; there is one exactly while
    /// provisioning is enabled.
    pub token: Option<StoredScimToken>,
    /// Which role the members of a group (team) get, the first that applies winning.
    pub group_roles: Vec<GroupRole>,
}

/// Members of `team` get `role` (never `owner`) while they are in it, and while the
/// person who set the mapping could still set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRole {
    /// The team whose members get the role.
    pub team: TeamId,
    /// The role they get.
    pub role: RoleKey,
    /// The person who set the mapping; it holds only while they could still give the role.
    pub set_by: UserId,
}

/// The most group-to-role mappings an organization keeps.
pub const MAX_GROUP_ROLES: usize = 50;

/// What is kept of a SCIM token: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredScimToken {
    /// The keyed hash a presented token is looked up by.
    pub lookup_hash: Vec<u8>,
    /// e.g. `orgs_Ab12…x9Qz`, for people to recognise it.
    pub hint: String,
    /// When the token was issued.
    pub created_at: DateTime<Utc>,
}

/// The port SCIM settings are stored through.
pub trait ScimRepository {
    /// The organization's settings; `None` if it never wrote any.
    fn find_scim_config(&mut self, org: OrgId) -> Result<Option<Versioned<ScimConfig>>, StoreError>;

    /// Creates or replaces the organization's settings.
    fn save_scim_config(&mut self, org: OrgId, config: &Versioned<ScimConfig>) -> Result<(), StoreError>;

    /// The live organization whose SCIM token hashes to `lookup_hash`, if provisioning is
    /// enabled there.
    fn find_scim_org_by_token_hash(&mut self, lookup_hash: &[u8]) -> Result<Option<OrgId>, StoreError>;

    /// Stores the SCIM token under the hash `to` instead of `from` (a hashing-key rotation).
    fn rekey_scim_token(&mut self, from: &[u8], to: &[u8]) -> Result<(), StoreError>;
}
