//! What goes wrong in a SCIM request, as RFC 7644 §3.12 names it: an HTTP status and,
//! for 400 and 409, a `scimType`.

use crate::error::StoreError;

/// A refused SCIM request. The message is the SCIM error's `detail`: it says what to
/// change, and never echoes a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimFault {
    /// The token is missing, unknown, rotated away, or its organization's provisioning is
    /// disabled.
    #[error("{0}")]
    Unauthorized(String),
    /// Nothing with this id in the token's organization (another organization's ids
    /// included).
    #[error("{0}")]
    NotFound(String),
    /// The request body is not valid JSON or SCIM (`invalidSyntax`).
    #[error("{0}")]
    InvalidSyntax(String),
    /// A value breaks the schema or a rule (`invalidValue`).
    #[error("{0}")]
    InvalidValue(String),
    /// A filter that cannot be parsed or applied (`invalidFilter`).
    #[error("{0}")]
    InvalidFilter(String),
    /// A PATCH path that cannot be parsed or applied (`invalidPath`).
    #[error("{0}")]
    InvalidPath(String),
    /// A PATCH path that matched nothing where it must (`noTarget`).
    #[error("{0}")]
    NoTarget(String),
    /// The change touches what may not change (a read-only attribute), or what a rule
    /// protects (the last active owner).
    #[error("{0}")]
    Mutability(String),
    /// A value that must be unique is taken (`uniqueness`, 409).
    #[error("{0}")]
    Uniqueness(String),
    /// More than the service will do in one request (`tooMany`).
    #[error("{0}")]
    TooMany(String),
    /// `If-Match` named another version.
    #[error("the resource is at version {current}, not the one If-Match named")]
    VersionMismatch {
        /// The resource's current version (its `ETag`).
        current: String,
    },
    /// The storage failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ScimFault {
    /// The HTTP status of the SCIM error response.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized(_) => 401,
            Self::NotFound(_) => 404,
            Self::Uniqueness(_) => 409,
            Self::VersionMismatch { .. } => 412,
            Self::Store(StoreError::Unavailable(_) | StoreError::Contention(_)) => 503,
            Self::Store(StoreError::Internal(_)) => 500,
            _ => 400,
        }
    }

    /// The RFC 7644 table 9 `scimType`, where one applies.
    pub fn scim_type(&self) -> Option<&'static str> {
        Some(match self {
            Self::InvalidSyntax(_) => "invalidSyntax",
            Self::InvalidValue(_) => "invalidValue",
            Self::InvalidFilter(_) => "invalidFilter",
            Self::InvalidPath(_) => "invalidPath",
            Self::NoTarget(_) => "noTarget",
            Self::Mutability(_) => "mutability",
            Self::Uniqueness(_) => "uniqueness",
            Self::TooMany(_) => "tooMany",
            _ => return None,
        })
    }

    pub(crate) fn invalid_value(detail: impl Into<String>) -> Self {
        Self::InvalidValue(detail.into())
    }
}

impl From<super::filter::FilterError> for ScimFault {
    fn from(err: super::filter::FilterError) -> Self {
        Self::InvalidFilter(err.to_string())
    }
}

impl From<super::path::PathError> for ScimFault {
    fn from(err: super::path::PathError) -> Self {
        Self::InvalidPath(err.to_string())
    }
}
