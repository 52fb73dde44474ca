use crate::error::{AccessError, Invalid, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemberError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("`{0}` is not a role of this organization")]
    UnknownRole(String),
    /// The change would leave the organization without an owner.
    #[error("the organization must keep at least one owner; transfer ownership first")]
    LastOwner,
    #[error("the member is at version {current}, not {expected}")]
    VersionMismatch { expected: i64, current: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}
