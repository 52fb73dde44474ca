use crate::error::{AccessError, Invalid, StoreError};

/// Why a use case on custom roles failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Role keys are unique within an organization.
    #[error("the organization already has a role with this key")]
    KeyTaken,
    /// No custom role may be keyed `owner`.
    #[error("`owner` is reserved: the owner role always holds every permission")]
    ReservedKey,
    /// The organization is at its custom-role limit (the value).
    #[error("the organization already has {0} custom roles, the most it may have")]
    TooManyRoles(usize),
    /// Deleting would strand members; name a replacement role.
    #[error("{members} member(s) hold this role; pass `reassign_to` to move them to another role")]
    InUse {
        /// How many members hold the role.
        members: u64,
    },
    /// The role named is neither a system role nor one of the organization's custom roles.
    #[error("`{0}` is not a role of this organization")]
    UnknownRole(String),
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the role is at version {current}, not {expected}")]
    VersionMismatch {
        /// The version the client expected.
        expected: i64,
        /// The role's version now.
        current: i64,
    },
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
