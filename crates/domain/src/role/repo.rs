use chrono::{DateTime, Utc};

use super::model::CustomRole;
use crate::authz::RoleKey;
use crate::error::StoreError;
use crate::ids::{OrgId, RoleId};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleWriteError {
    #[error("the organization already has a role with this key")]
    KeyTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The port custom roles are stored through. Every read is scoped by organization.
pub trait RoleRepository {
    fn find_role_by_key(&mut self, org: OrgId, key: &RoleKey) -> Result<Option<CustomRole>, StoreError>;

    fn find_role(&mut self, org: OrgId, id: RoleId) -> Result<Option<CustomRole>, StoreError>;

    /// The organization's custom roles, oldest first (at most `MAX_CUSTOM_ROLES`).
    fn list_roles(&mut self, org: OrgId) -> Result<Vec<CustomRole>, StoreError>;

    fn insert_role(&mut self, role: &CustomRole) -> Result<(), RoleWriteError>;

    fn update_role(&mut self, role: &CustomRole) -> Result<(), StoreError>;

    fn delete_role(&mut self, org: OrgId, id: RoleId) -> Result<(), StoreError>;

    fn count_members_with_role(&mut self, org: OrgId, key: &RoleKey) -> Result<u64, StoreError>;

    /// Moves every member holding `from` to `to`; returns how many moved.
    fn reassign_role(&mut self, org: OrgId, from: &RoleKey, to: &RoleKey, at: DateTime<Utc>)
        -> Result<u64, StoreError>;
}
