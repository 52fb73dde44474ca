//! Safe retries (draft-ietf-httpapi-idempotency-key): a request sent with an
//! `Idempotency-Key` has its effect once. The first successful response is kept for a day
//! per (caller, key) with a fingerprint of the request, and is what every retry gets back.
//!
//! The transport decides what a request and a response are; this module decides what a
//! retry deserves and keeps the response sealed, since it may hold a secret shown once
//! (a new API key, an invite link).

mod model;
mod repo;
mod service;

pub use model::{
    Fingerprint, IdempotencyKey, IdempotencyRecord, IdempotencyScope, InvalidIdempotencyKey, Presented, StoredResponse,
    MAX_KEY_CHARS,
};
pub use repo::IdempotencyRepository;
pub use service::{Begun, IdempotencyError, IdempotencyService, RETENTION_HOURS};

#[cfg(test)]
mod tests;
