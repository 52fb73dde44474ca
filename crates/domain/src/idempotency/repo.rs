//! The port kept responses are stored through.

use chrono::{DateTime, Utc};

use super::model::{IdempotencyKey, IdempotencyRecord, IdempotencyScope};
use crate::error::StoreError;

/// The port kept responses are stored through.
pub trait IdempotencyRepository {
    /// Claims (scope, key) until the transaction ends, without waiting: `false` when another
    /// transaction holds it, that is, while the first request with the key is in flight.
    fn try_claim_idempotency_key(&mut self, scope: &IdempotencyScope, key: &IdempotencyKey)
        -> Result<bool, StoreError>;

    /// The response kept for (scope, key) since `since`; older ones no longer count.
    fn find_idempotency_record(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        since: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Keeps the response, replacing an expired one under the same key.
    fn save_idempotency_record(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError>;

    /// Forgets at most `limit` responses kept before `before`; answers how many.
    fn delete_idempotency_records(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StoreError>;
}
