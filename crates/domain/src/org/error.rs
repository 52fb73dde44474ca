use crate::error::{AccessError, Invalid, StoreError};
use crate::org::OrgWriteError;

/// Why a use case on an organization (create, read, update, delete) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Names are unique among live organizations.
    #[error("another live organization already has this name")]
    NameTaken,
    /// Slugs are unique among live organizations.
    #[error("another live organization already has this slug")]
    SlugTaken,
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the organization changed since version {expected}; it is now at version {current}")]
    VersionMismatch {
        /// The version the client expected.
        expected: i64,
        /// The organization's version now.
        current: i64,
    },
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<OrgWriteError> for OrgError {
    fn from(err: OrgWriteError) -> Self {
        match err {
            OrgWriteError::NameTaken => OrgError::NameTaken,
            OrgWriteError::SlugTaken => OrgError::SlugTaken,
            OrgWriteError::Store(e) => OrgError::Store(e),
        }
    }
}
