use chrono::{DateTime, Utc};

use super::State;
use crate::error::StoreError;
use crate::idempotency::{IdempotencyKey, IdempotencyRecord, IdempotencyRepository, IdempotencyScope};

/// Transactions here run one at a time, so a key is never held by another.
impl IdempotencyRepository for State {
    fn try_claim_idempotency_key(&mut self, _: &IdempotencyScope, _: &IdempotencyKey) -> Result<bool, StoreError> {
        Ok(true)
    }

    fn find_idempotency_record(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        since: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let found = self.idempotency.get(&(scope.as_str().to_owned(), key.as_str().to_owned()));
        Ok(found.filter(|record| record.created_at >= since).cloned())
    }

    fn save_idempotency_record(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError> {
        self.idempotency.insert((scope.as_str().to_owned(), key.as_str().to_owned()), record.clone());
        Ok(())
    }

    fn delete_idempotency_records(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StoreError> {
        let expired: Vec<_> = self
            .idempotency
            .iter()
            .filter(|(_, record)| record.created_at < before)
            .map(|(id, _)| id.clone())
            .take(limit as usize)
            .collect();
        for id in &expired {
            self.idempotency.remove(id);
        }
        Ok(expired.len())
    }
}
