//! Errors shared by every capability.

use std::fmt;

/// The storage behind a port failed. Never caused by the caller's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or has no free connection; worth retrying.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The transaction lost a race (serialization failure or deadlock); worth retrying.
    #[error("storage conflict: {0}")]
    Contention(String),
    /// Any other failure of the storage: a bug or a broken invariant, not worth retrying.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// Why a caller may not reach a resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The resource does not exist *for this caller*: unknown, deleted, or in an
    /// organization the caller does not belong to. Never reveals which.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is a member but lacks the permission.
    #[error("missing permission `{permission}`")]
    Forbidden {
        /// The permission the caller lacks, as `resource:action`.
        permission: &'static str,
    },
    /// The rule is not about a permission (e.g. only an owner may transfer ownership).
    #[error("{0}")]
    NotAllowed(&'static str),
    /// The change would hand out permissions the caller does not hold itself.
    #[error("the caller lacks permissions it tried to grant: {}", missing.join(", "))]
    Escalation {
        /// The permissions the caller tried to hand out without holding them.
        missing: Vec<&'static str>,
    },
    /// Only a person may do this; an API key may not.
    #[error("this needs a user's token, not an API key")]
    UserRequired,
    /// Making, unmaking, removing or transferring an owner needs an owner who is a person:
    /// `owner` is the organization's root of trust, not a bundle of permissions, so no
    /// API key, custom role or admin reaches it however many permissions it holds.
    #[error("only an owner, signed in as a person, can make, unmake, remove or transfer an owner")]
    OwnerRequired,
    /// A security policy of the organization keeps this request out.
    #[error("{}", .0.detail())]
    Policy(crate::policy::PolicyRefusal),
    /// The organization's plan does not include the feature whose settings were written.
    #[error("the `{plan}` plan does not include `{feature}`")]
    FeatureNotInPlan {
        /// The feature the settings belong to.
        feature: &'static str,
        /// The organization's current plan.
        plan: &'static str,
    },
    /// The caller's membership is suspended (deactivated by the organization's identity
    /// provider): it keeps its role and teams but opens nothing until reactivated.
    #[error("your membership of this organization is suspended; its identity provider deactivated it")]
    MembershipSuspended,
    /// The credential is unknown, revoked or expired.
    #[error("the credential is {0}")]
    Unauthenticated(&'static str),
}

/// One rejected input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, e.g. `address.country`.
    pub field: String,
    /// Stable machine code, e.g. `too_long`.
    pub code: &'static str,
    /// Human-readable explanation, for people rather than programs.
    pub message: String,
}

impl FieldError {
    /// A rejection of `field` with its stable `code` and a message.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code, message: message.into() }
    }
}

/// Input that breaks a rule of a value object; lists every offending field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    /// Input refused for one field only.
    pub fn field(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, code, message)])
    }

    /// Runs a parse, recording its error under `field` and returning `None` on failure, so a
    /// command can report every bad field at once instead of the first.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, ValueError>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(err) => {
                self.0.push(FieldError::new(field, err.code, err.message));
                None
            }
        }
    }

    /// `Ok` when no field was rejected, so a command can `?` after checking every field.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<_> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        write!(f, "invalid input ({})", fields.join("; "))
    }
}

impl std::error::Error for Invalid {}

/// True when `text` holds a control character other than line breaks and tabs: such
/// characters (NUL above all, which PostgreSQL refuses) are never stored.
pub fn has_forbidden_controls(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// Why one value was refused by its value object's `parse`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    /// Stable machine code, e.g. `too_long`, reported as the field's `code`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl ValueError {
    /// A refusal with its stable `code` and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}
