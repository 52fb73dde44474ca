use crate::error::{AccessError, Invalid, StoreError};

/// Why a use case on memberships (read, change role, remove, leave, transfer ownership) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemberError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The role named is neither a system role nor one of the organization's custom roles.
    #[error("`{0}` is not a role of this organization")]
    UnknownRole(String),
    /// The change would leave the organization without an owner.
    #[error("the organization must keep at least one owner; transfer ownership first")]
    LastOwner,
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the member is at version {current}, not {expected}")]
    VersionMismatch {
        /// The version the client expected.
        expected: i64,
        /// The member's version now.
        current: i64,
    },
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
