use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};
use orgd_domain::events::Event;
use orgd_domain::ids::{DeliveryId, EventId, OrgId, WebhookId};
use orgd_domain::pagination::{Page, PageRequest};
use orgd_domain::sso::Sealed;
use orgd_domain::webhooks::{Attempt, Claimed, Delivery, DeliveryStatus, Webhook, WebhookRepository, WebhookSecrets};
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::schema::{events, webhook_deliveries, webhooks};
use super::store::PgTx;

/// The attempts a delivery keeps, newest last.
const KEPT_ATTEMPTS: usize = 50;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = webhooks, primary_key(org_id, id), check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct WebhookRow {
    id: Uuid,
    org_id: Uuid,
    url: String,
    event_types: Vec<Option<String>>,
    description: Option<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    secret_key_id: String,
    secret: Vec<u8>,
    previous_secret_key_id: Option<String>,
    previous_secret: Option<Vec<u8>>,
    previous_secret_until: Option<DateTime<Utc>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Webhook> for WebhookRow {
    fn from(w: &Webhook) -> Self {
        let previous = w.secrets.previous.as_ref();
        Self {
            id: w.id.as_uuid(),
            org_id: w.org_id.as_uuid(),
            url: w.url.clone(),
            event_types: w.event_types.iter().cloned().map(Some).collect(),
            description: w.description.clone(),
            enabled: w.enabled,
            disabled_reason: w.disabled_reason.clone(),
            secret_key_id: w.secrets.current.key_id.clone(),
            secret: w.secrets.current.ciphertext.clone(),
            previous_secret_key_id: previous.map(|(s, _)| s.key_id.clone()),
            previous_secret: previous.map(|(s, _)| s.ciphertext.clone()),
            previous_secret_until: previous.map(|(_, until)| *until),
            version: w.version,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

impl From<WebhookRow> for Webhook {
    fn from(row: WebhookRow) -> Self {
        let previous = match (row.previous_secret_key_id, row.previous_secret, row.previous_secret_until) {
            (Some(key_id), Some(ciphertext), Some(until)) => Some((Sealed { key_id, ciphertext }, until)),
            _ => None,
        };
        Webhook {
            id: WebhookId::from_uuid(row.id),
            org_id: OrgId::from_uuid(row.org_id),
            url: row.url,
            event_types: row.event_types.into_iter().flatten().collect(),
            description: row.description,
            enabled: row.enabled,
            disabled_reason: row.disabled_reason,
            secrets: WebhookSecrets { current: Sealed { key_id: row.secret_key_id, ciphertext: row.secret }, previous },
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
struct DeliveryRow {
    id: Uuid,
    webhook_id: Uuid,
    org_id: Uuid,
    event_id: Uuid,
    event_type: String,
    event_seq: i64,
    status: String,
    attempts: serde_json::Value,
    next_attempt_at: Option<DateTime<Utc>>,
    retry_started_at: Option<DateTime<Utc>>,
    retries: i32,
    leased_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredAttempt {
    at: DateTime<Utc>,
    status: Option<u16>,
    detail: String,
    duration_ms: i64,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;

    fn try_from(row: DeliveryRow) -> Result<Self, StoreError> {
        let status = DeliveryStatus::parse(&row.status).ok_or_else(|| corrupt("webhook_deliveries", "status"))?;
        let attempts: Vec<StoredAttempt> =
            serde_json::from_value(row.attempts).map_err(|e| corrupt("webhook_deliveries", &e))?;
        Ok(Delivery {
            id: DeliveryId::from_uuid(row.id),
            webhook_id: WebhookId::from_uuid(row.webhook_id),
            org_id: OrgId::from_uuid(row.org_id),
            event_id: EventId::from_uuid(row.event_id),
            event_type: row.event_type,
            event_seq: row.event_seq,
            status,
            attempts: attempts
                .into_iter()
                .map(|a| Attempt { at: a.at, status: a.status, detail: a.detail, duration_ms: a.duration_ms })
                .collect(),
            next_attempt_at: row.next_attempt_at,
            retry_started_at: row.retry_started_at,
            retries: u32::try_from(row.retries).map_err(|e| corrupt("webhook_deliveries", e))?,
            leased_until: row.leased_until,
            created_at: row.created_at,
        })
    }
}

/// A delivery's key.
#[derive(QueryableByName)]
struct ClaimedDelivery {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    org_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

impl PgTx<'_> {
    /// Queues `event` for `takers`, the webhooks of its organization that take it (found
    /// with the event's insert, `audit::LINK_AND_PUBLISH`), in the event's transaction.
    pub(super) fn deliver_to(&mut self, event: &Event, takers: Vec<Uuid>) -> Result<(), StoreError> {
        if takers.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> = takers
            .into_iter()
            .map(|webhook| {
                (
                    webhook_deliveries::id.eq(DeliveryId::generate().as_uuid()),
                    webhook_deliveries::webhook_id.eq(webhook),
                    webhook_deliveries::org_id.eq(event.org_id.as_uuid()),
                    webhook_deliveries::event_id.eq(event.id.as_uuid()),
                    webhook_deliveries::event_type.eq(event.event_type.clone()),
                    webhook_deliveries::event_seq.eq(event.seq),
                    webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                    webhook_deliveries::next_attempt_at.eq(Some(event.occurred_at)),
                    webhook_deliveries::created_at.eq(event.occurred_at),
                )
            })
            .collect();
        diesel::insert_into(webhook_deliveries::table).values(rows).execute(self.conn).map(|_| ()).map_err(store_error)
    }
}

impl WebhookRepository for PgTx<'_> {
    fn insert_webhook(&mut self, webhook: &Webhook) -> Result<(), StoreError> {
        prepared(diesel::insert_into(webhooks::table).values(WebhookRow::from(webhook)))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn update_webhook(&mut self, webhook: &Webhook) -> Result<(), StoreError> {
        prepared(
            diesel::update(webhooks::table.find((webhook.org_id.as_uuid(), webhook.id.as_uuid())))
                .set(WebhookRow::from(webhook)),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn delete_webhook(&mut self, org: OrgId, id: WebhookId) -> Result<bool, StoreError> {
        diesel::delete(webhooks::table.find((org.as_uuid(), id.as_uuid())))
            .execute(self.conn)
            .map(|n| n > 0)
            .map_err(store_error)
    }

    fn webhooks_sealed_not_under(&mut self, key_id: &str, limit: i64) -> Result<Vec<Webhook>, StoreError> {
        webhooks::table
            .filter(webhooks::secret_key_id.ne(key_id).or(webhooks::previous_secret_key_id.ne(key_id)))
            .order((webhooks::org_id.asc(), webhooks::id.asc()))
            .limit(limit)
            .select(WebhookRow::as_select())
            .for_update()
            .load(self.conn)
            .map(|rows| rows.into_iter().map(Webhook::from).collect())
            .map_err(store_error)
    }

    fn find_webhook(&mut self, org: OrgId, id: WebhookId, lock: bool) -> Result<Option<Webhook>, StoreError> {
        let query = webhooks::table.find((org.as_uuid(), id.as_uuid())).select(WebhookRow::as_select());
        let row = if lock { query.for_update().first(self.conn) } else { query.first(self.conn) };
        Ok(row.optional().map_err(store_error)?.map(Webhook::from))
    }

    fn list_webhooks(&mut self, org: OrgId) -> Result<Vec<Webhook>, StoreError> {
        webhooks::table
            .filter(webhooks::org_id.eq(org.as_uuid()))
            .order(webhooks::id.asc())
            .select(WebhookRow::as_select())
            .load(self.conn)
            .map(|rows| rows.into_iter().map(Webhook::from).collect())
            .map_err(store_error)
    }

    fn list_deliveries(
        &mut self,
        org: OrgId,
        webhook: WebhookId,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let mut query = webhook_deliveries::table
            .filter(webhook_deliveries::org_id.eq(org.as_uuid()))
            .filter(webhook_deliveries::webhook_id.eq(webhook.as_uuid()))
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(webhook_deliveries::id.lt(after));
        }
        let rows: Vec<DeliveryRow> = query
            .order(webhook_deliveries::id.desc())
            .limit(page.fetch_limit())
            .select(DeliveryRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        let deliveries = rows.into_iter().map(Delivery::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(deliveries, page, |d| d.id.as_uuid()))
    }

    fn find_delivery(
        &mut self,
        org: OrgId,
        webhook: WebhookId,
        id: DeliveryId,
        lock: bool,
    ) -> Result<Option<Delivery>, StoreError> {
        let query = webhook_deliveries::table
            .find((org.as_uuid(), id.as_uuid()))
            .filter(webhook_deliveries::webhook_id.eq(webhook.as_uuid()))
            .select(DeliveryRow::as_select());
        let row = if lock { query.for_update().first(self.conn) } else { query.first(self.conn) };
        row.optional().map_err(store_error)?.map(Delivery::try_from).transpose()
    }

    fn schedule_delivery(&mut self, org: OrgId, id: DeliveryId, at: DateTime<Utc>) -> Result<(), StoreError> {
        prepared(diesel::update(webhook_deliveries::table.find((org.as_uuid(), id.as_uuid()))).set((
            webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
            webhook_deliveries::next_attempt_at.eq(Some(at)),
            webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
            webhook_deliveries::retry_started_at.eq(None::<DateTime<Utc>>),
            webhook_deliveries::retries.eq(0),
        )))
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn claim_deliveries(
        &mut self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError> {
        let claimed: Vec<ClaimedDelivery> = prepared(
            diesel::sql_query(
                // Each enabled webhook's first pending delivery (through the line index), so
                // that a backlog behind a failing endpoint costs one row, not one per delivery.
                // The lease is re-checked under the row lock: of two workers, one takes it.
                "WITH due AS (
                SELECT head.org_id, head.id FROM webhooks w
                CROSS JOIN LATERAL (
                    SELECT d.org_id, d.id, d.next_attempt_at, d.leased_until FROM webhook_deliveries d
                    WHERE d.webhook_id = w.id AND d.org_id = w.org_id AND d.status = 'pending'
                    ORDER BY d.event_seq LIMIT 1) head
                WHERE w.enabled AND head.next_attempt_at <= $1
                  AND (head.leased_until IS NULL OR head.leased_until < $1)
                ORDER BY head.next_attempt_at LIMIT $3)
             UPDATE webhook_deliveries d SET leased_until = $2 FROM due
             WHERE d.org_id = due.org_id AND d.id = due.id AND d.status = 'pending'
               AND (d.leased_until IS NULL OR d.leased_until < $1)
             RETURNING d.org_id, d.id",
            )
            .bind::<Timestamptz, _>(now)
            .bind::<Timestamptz, _>(now + lease)
            .bind::<BigInt, _>(i64::from(limit)),
        )
        .load::<ClaimedDelivery>(self.conn)
        .map_err(store_error)?;
        let mut out = Vec::with_capacity(claimed.len());
        for ClaimedDelivery { org_id, id } in claimed {
            let delivery = webhook_deliveries::table
                .find((org_id, id))
                .select(DeliveryRow::as_select())
                .first(self.conn)
                .map_err(store_error)
                .and_then(Delivery::try_from)?;
            let webhook = webhooks::table
                .find((org_id, delivery.webhook_id.as_uuid()))
                .select(WebhookRow::as_select())
                .first(self.conn)
                .map(Webhook::from)
                .map_err(store_error)?;
            let event = events::table
                .filter(events::org_id.eq(org_id))
                .filter(events::id.eq(delivery.event_id.as_uuid()))
                .select((events::seq, events::type_, events::data, events::occurred_at))
                .first::<(i64, String, serde_json::Value, DateTime<Utc>)>(self.conn)
                .optional()
                .map_err(store_error)?;
            // An event past the feed's retention cannot be sent any more.
            let Some((seq, event_type, data, occurred_at)) = event else {
                let gone =
                    Attempt { at: now, status: None, detail: "the event is past retention".into(), duration_ms: 0 };
                self.record_attempt(
                    delivery.org_id,
                    delivery.id,
                    delivery.leased_until,
                    &gone,
                    DeliveryStatus::Failed,
                    None,
                )?;
                continue;
            };
            let event = Event { seq, id: delivery.event_id, org_id: delivery.org_id, event_type, data, occurred_at };
            out.push(Claimed { delivery, webhook, event });
        }
        Ok(out)
    }

    fn delete_ended_deliveries(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StoreError> {
        prepared(
            diesel::sql_query(
                "DELETE FROM webhook_deliveries WHERE (org_id, id) IN (
                SELECT org_id, id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1 LIMIT $2)",
            )
            .bind::<Timestamptz, _>(before)
            .bind::<BigInt, _>(i64::from(limit)),
        )
        .execute(self.conn)
        .map_err(store_error)
    }

    fn record_attempt(
        &mut self,
        org: OrgId,
        id: DeliveryId,
        lease: Option<DateTime<Utc>>,
        attempt: &Attempt,
        status: DeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let stored = StoredAttempt {
            at: attempt.at,
            status: attempt.status,
            detail: attempt.detail.clone(),
            duration_ms: attempt.duration_ms,
        };
        let attempted_at = attempt.at;
        let attempt = serde_json::to_value([stored]).map_err(|e| StoreError::Internal(e.to_string()))?;
        prepared(
            diesel::sql_query(
                "UPDATE webhook_deliveries SET
                attempts = jsonb_path_query_array(attempts || $2, ('$[last - ' || $5 || ' to last]')::jsonpath),
                status = $3, next_attempt_at = $4, leased_until = NULL,
                retry_started_at = coalesce(retry_started_at, $7), retries = retries + 1
             WHERE org_id = $8 AND id = $1 AND ($6::timestamptz IS NULL OR leased_until = $6)",
            )
            .bind::<diesel::sql_types::Uuid, _>(id.as_uuid())
            .bind::<diesel::sql_types::Jsonb, _>(attempt)
            .bind::<diesel::sql_types::Text, _>(status.as_str())
            .bind::<diesel::sql_types::Nullable<Timestamptz>, _>(next_attempt_at)
            .bind::<BigInt, _>(KEPT_ATTEMPTS as i64 - 1)
            .bind::<diesel::sql_types::Nullable<Timestamptz>, _>(lease)
            .bind::<Timestamptz, _>(attempted_at)
            .bind::<diesel::sql_types::Uuid, _>(org.as_uuid()),
        )
        .execute(self.conn)
        .map(|written| written > 0)
        .map_err(store_error)
    }
}
