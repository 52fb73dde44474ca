use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use orgd_domain::idempotency::{
    Fingerprint, IdempotencyKey, IdempotencyRecord, IdempotencyRepository, IdempotencyScope,
};
use orgd_domain::sso::Sealed;
use orgd_domain::StoreError;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::schema::idempotency_records;
use super::store::PgTx;

/// Seeds the 64-bit hash an idempotency key is locked under. Two keys sharing a hash (about
/// one chance in 2^64) would only see a 409 while the other is in flight, never share a
/// response.
const LOCK_SEED: i64 = 0x1de0;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_records, check_for_backend(diesel::pg::Pg))]
struct RecordRow {
    scope: String,
    key: String,
    fingerprint: Vec<u8>,
    status: i16,
    headers: serde_json::Value,
    body_key_id: String,
    body: Vec<u8>,
    created_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Bool)]
    claimed: bool,
}

impl TryFrom<RecordRow> for IdempotencyRecord {
    type Error = StoreError;

    fn try_from(row: RecordRow) -> Result<Self, StoreError> {
        let bad = |e: &dyn std::fmt::Display| corrupt("idempotency_records", e);
        let fingerprint = <[u8; 32]>::try_from(row.fingerprint.as_slice()).map_err(|e| bad(&e))?;
        let headers: Vec<(String, String)> = serde_json::from_value(row.headers).map_err(|e| bad(&e))?;
        Ok(IdempotencyRecord {
            fingerprint: Fingerprint(fingerprint),
            status: u16::try_from(row.status).map_err(|e| bad(&e))?,
            headers,
            body: Sealed { key_id: row.body_key_id, ciphertext: row.body },
            created_at: row.created_at,
        })
    }
}

impl IdempotencyRepository for PgTx<'_> {
    fn try_claim_idempotency_key(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
    ) -> Result<bool, StoreError> {
        let claimed: Claimed = prepared(
            diesel::sql_query("SELECT pg_try_advisory_xact_lock(hashtextextended($2 || chr(10) || $3, $1)) AS claimed")
                .bind::<diesel::sql_types::BigInt, _>(LOCK_SEED)
                .bind::<Text, _>(scope.as_str())
                .bind::<Text, _>(key.as_str()),
        )
        .get_result(self.conn)
        .map_err(store_error)?;
        Ok(claimed.claimed)
    }

    fn find_idempotency_record(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        since: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        idempotency_records::table
            .filter(idempotency_records::scope.eq(scope.as_str()))
            .filter(idempotency_records::key.eq(key.as_str()))
            .filter(idempotency_records::created_at.ge(since))
            .select(RecordRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?
            .map(IdempotencyRecord::try_from)
            .transpose()
    }

    fn save_idempotency_record(
        &mut self,
        scope: &IdempotencyScope,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError> {
        let row = RecordRow {
            scope: scope.as_str().to_owned(),
            key: key.as_str().to_owned(),
            fingerprint: record.fingerprint.0.to_vec(),
            status: i16::try_from(record.status).map_err(|e| StoreError::Internal(e.to_string()))?,
            headers: serde_json::to_value(&record.headers).map_err(|e| StoreError::Internal(e.to_string()))?,
            body_key_id: record.body.key_id.clone(),
            body: record.body.ciphertext.clone(),
            created_at: record.created_at,
        };
        use idempotency_records::dsl as r;
        prepared(
            diesel::insert_into(idempotency_records::table)
                .values(&row)
                .on_conflict((r::scope, r::key))
                .do_update()
                .set((
                    r::fingerprint.eq(&row.fingerprint),
                    r::status.eq(row.status),
                    r::headers.eq(&row.headers),
                    r::body_key_id.eq(&row.body_key_id),
                    r::body.eq(&row.body),
                    r::created_at.eq(row.created_at),
                )),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn delete_idempotency_records(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StoreError> {
        // Oldest first through the index, skipping a row a request is rewriting under its
        // expired key: a sweep never makes a request wait.
        prepared(
            diesel::sql_query(
                "DELETE FROM idempotency_records WHERE ctid IN (
                SELECT ctid FROM idempotency_records WHERE created_at < $1
                ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
            )
            .bind::<diesel::sql_types::Timestamptz, _>(before)
            .bind::<diesel::sql_types::BigInt, _>(i64::from(limit)),
        )
        .execute(self.conn)
        .map_err(store_error)
    }
}
