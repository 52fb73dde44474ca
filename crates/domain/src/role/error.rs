use crate::error::{AccessError, Invalid, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("the organization already has a role with this key")]
    KeyTaken,
    #[error("`owner` is reserved: the owner role always holds every permission")]
    ReservedKey,
    #[error("the organization already has {0} custom roles, the most it may have")]
    TooManyRoles(usize),
    /// Deleting would strand members; name a replacement role.
    #[error("{members} member(s) hold this role; pass `reassign_to` to move them to another role")]
    InUse { members: u64 },
    #[error("`{0}` is not a role of this organization")]
    UnknownRole(String),
    #[error("the role is at version {current}, not {expected}")]
    VersionMismatch { expected: i64, current: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}
