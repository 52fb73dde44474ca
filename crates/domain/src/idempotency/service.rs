//! What a request with an idempotency key gets: its first response again, or a refusal
//! while that first request is in flight or when the key named another request.

use std::sync::Arc;

use chrono::Duration;

use super::model::{Fingerprint, IdempotencyKey, IdempotencyRecord, IdempotencyScope, Presented, StoredResponse};
use crate::error::StoreError;
use crate::sso::SecretBox;
use crate::store::Store;
use crate::time::Clock;

/// How long a kept response answers retries; the draft's suggestion, and Stripe's.
pub const RETENTION_HOURS: i64 = 24;

/// Why a request with an `Idempotency-Key` cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyError {
    /// The first request with the key has not finished; retry once it has.
    #[error("a request with this Idempotency-Key is still being processed; retry after it finishes")]
    InFlight,
    /// The key was used for a request with another method, target or body.
    #[error("this Idempotency-Key was used for another request; use a new key for a new request")]
    Reused,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the first step found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// No response is kept: run the request. The key stays claimed until the transaction
    /// the request runs in ends.
    Fresh,
    /// The request ran before: answer this.
    Replay(StoredResponse),
}

/// Keeps and replays responses. Both steps run in the transaction of the request's effect
/// (the adapter nests the use case's own transactions in it), so the effect and its kept
/// response commit together: a crash between them cannot give a retry a second effect.
pub struct IdempotencyService<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretBox>,
}

impl<S: Store> IdempotencyService<S> {
    /// The service over `store`, sealing kept bodies with `secrets` and reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>, secrets: Arc<dyn SecretBox>) -> Self {
        Self { store, clock, secrets }
    }

    /// Claims the key and answers whether the request ran before. A kept response is only
    /// for a caller whose credential still authenticates; for any other the request runs,
    /// and the route refuses it.
    pub fn begin(
        &self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        presented: &Presented,
    ) -> Result<Begun, IdempotencyError> {
        let now = self.clock.now();
        let since = now - Duration::hours(RETENTION_HOURS);
        let record = self.store.transaction(|tx| {
            if !tx.try_claim_idempotency_key(scope, key)? {
                return Err(IdempotencyError::InFlight);
            }
            let record = tx.find_idempotency_record(scope, key, since)?;
            match record {
                Some(record) if still_authenticates(tx, presented, now)? => Ok(Some(record)),
                _ => Ok(None),
            }
        })?;
        let Some(record) = record else {
            return Ok(Begun::Fresh);
        };
        if record.fingerprint != *fingerprint {
            return Err(IdempotencyError::Reused);
        }
        let body = self.secrets.open(&record.body, &seal_context(scope, key)).map_err(StoreError::from)?;
        Ok(Begun::Replay(StoredResponse { status: record.status, headers: record.headers, body }))
    }

    /// Keeps the response of a request that [`begin`](Self::begin) found fresh; a response
    /// that is not kept ([`StoredResponse::is_kept`]) is ignored.
    pub fn keep(
        &self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        if !response.is_kept() {
            return Ok(());
        }
        let record = IdempotencyRecord {
            fingerprint: fingerprint.clone(),
            status: response.status,
            headers: response.headers.clone(),
            body: self.secrets.seal(&response.body, &seal_context(scope, key))?,
            created_at: self.clock.now(),
        };
        self.store.transaction(|tx| tx.save_idempotency_record(scope, key, &record))
    }

    /// Forgets expired responses, `batch` at a time so that no statement holds many rows;
    /// answers how many it forgot.
    pub fn sweep(&self, batch: u32) -> Result<usize, StoreError> {
        let before = self.clock.now() - Duration::hours(RETENTION_HOURS);
        let mut forgotten = 0;
        loop {
            let deleted = self.store.transaction(|tx| tx.delete_idempotency_records(before, batch))?;
            forgotten += deleted;
            if deleted < batch as usize {
                return Ok(forgotten);
            }
        }
    }
}

fn still_authenticates(
    tx: &mut dyn crate::store::Tx,
    presented: &Presented,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    match presented {
        Presented::User => Ok(true),
        Presented::ApiKey(hashes) => {
            let key = hashes.find(tx, |tx, h| tx.find_api_key_by_hash(h), |tx, from, to| tx.rekey_api_key(from, to))?;
            Ok(key.is_some_and(|key| key.unusable_at(now).is_none()))
        }
        Presented::ScimToken(hashes) => Ok(crate::scim::find_provisioned_org(tx, hashes)?.is_some()),
    }
}

/// Binds a sealed body to its key: a ciphertext copied under another caller's key does not
/// open there.
fn seal_context(scope: &IdempotencyScope, key: &IdempotencyKey) -> Vec<u8> {
    [b"idempotency\0".as_slice(), scope.as_str().as_bytes(), b"\0", key.as_str().as_bytes()].concat()
}
