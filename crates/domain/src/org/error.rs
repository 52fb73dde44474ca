use crate::error::{AccessError, Invalid, StoreError};
use crate::org::OrgWriteError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("another live organization already has this name")]
    NameTaken,
    #[error("another live organization already has this slug")]
    SlugTaken,
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the organization changed since version {expected}; it is now at version {current}")]
    VersionMismatch { expected: i64, current: i64 },
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
