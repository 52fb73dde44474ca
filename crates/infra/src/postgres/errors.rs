use diesel::result::{DatabaseErrorKind, Error};
use orgd_domain::StoreError;

/// The storage failure behind a diesel error. Messages go to logs, never to clients.
pub fn store_error(err: Error) -> StoreError {
    match err {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
            StoreError::Contention(info.message().to_owned())
        }
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
            StoreError::Unavailable(info.message().to_owned())
        }
        // A server that turned read-only (a failover in progress) will take writes again.
        Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, info) => {
            StoreError::Unavailable(info.message().to_owned())
        }
        // A statement or lock timeout, or a cancellation by the operator.
        Error::DatabaseError(_, info) if info.message().starts_with("canceling statement") => {
            StoreError::Contention(info.message().to_owned())
        }
        Error::DatabaseError(_, info) if info.message().contains("deadlock detected") => {
            StoreError::Contention(info.message().to_owned())
        }
        other => StoreError::Internal(other.to_string()),
    }
}

/// The name of the unique constraint a write violated, if that is why it failed.
pub fn violated_unique(err: &Error) -> Option<&str> {
    match err {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => info.constraint_name(),
        _ => None,
    }
}

/// A stored value that no longer passes its domain type's validation.
pub fn corrupt(table: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("unreadable {table} row: {detail}"))
}
