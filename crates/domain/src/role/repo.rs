use chrono::{DateTime, Utc};

use super::model::CustomRole;
use crate::authz::RoleKey;
use crate::error::StoreError;
use crate::ids::{OrgId, RoleId};

/// Why storing a custom role failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleWriteError {
    /// Role keys are unique within an organization.
    #[error("the organization already has a role with this key")]
    KeyTaken,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The port custom roles are stored through. Every read is scoped by organization.
pub trait RoleRepository {
    /// The custom role keyed `key` in `org`.
    fn find_role_by_key(&mut self, org: OrgId, key: &RoleKey) -> Result<Option<CustomRole>, StoreError>;

    /// The custom role `id` of `org`.
    fn find_role(&mut self, org: OrgId, id: RoleId) -> Result<Option<CustomRole>, StoreError>;

    /// The organization's custom roles, oldest first (at most `MAX_CUSTOM_ROLES`).
    fn list_roles(&mut self, org: OrgId) -> Result<Vec<CustomRole>, StoreError>;

    /// Stores a new custom role.
    fn insert_role(&mut self, role: &CustomRole) -> Result<(), RoleWriteError>;

    /// Stores a role's new name, description or permissions.
    fn update_role(&mut self, role: &CustomRole) -> Result<(), StoreError>;

    /// Deletes the custom role `id` of `org`.
    fn delete_role(&mut self, org: OrgId, id: RoleId) -> Result<(), StoreError>;

    /// How many members of `org` hold the role keyed `key`.
    fn count_members_with_role(&mut self, org: OrgId, key: &RoleKey) -> Result<u64, StoreError>;

    /// Moves every member holding `from` to `to`; returns how many moved.
    fn reassign_role(&mut self, org: OrgId, from: &RoleKey, to: &RoleKey, at: DateTime<Utc>)
        -> Result<u64, StoreError>;
}
