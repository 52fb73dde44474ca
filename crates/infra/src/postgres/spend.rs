use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use orgd_domain::ids::{OrgId, UsageEventId};
use orgd_domain::policy::Versioned;
use orgd_domain::spend::{BudgetWindow, Currency, Posture, SpendLimits, SpendRepository, UsageEvent, WindowSpan};
use orgd_domain::StoreError;
use rand::Rng;
use uuid::Uuid;

use super::api_keys::actor;
use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::schema::{spend_alerts, spend_days, spend_limits, usage_events};
use super::store::PgTx;

/// Rows one organization's spend of a day is spread over, so that concurrent recorders
/// rarely wait for each other's row lock.
const SPEND_SHARDS: i16 = 16;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = spend_limits, primary_key(org_id), check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct SpendLimitsRow {
    org_id: Uuid,
    currency: String,
    budget_window: String,
    budget_micros: Option<i64>,
    warning_percent: i32,
    max_overage_micros: i64,
    version: i64,
    updated_at: DateTime<Utc>,
}

impl TryFrom<SpendLimitsRow> for Versioned<SpendLimits> {
    type Error = StoreError;

    fn try_from(row: SpendLimitsRow) -> Result<Self, Self::Error> {
        let bad = |e: &dyn std::fmt::Display| corrupt("spend_limits", e);
        let limits = SpendLimits {
            currency: Currency::parse(&row.currency).map_err(|e| bad(&e))?,
            window: BudgetWindow::parse(&row.budget_window).map_err(|e| bad(&e))?,
            budget_micros: row.budget_micros,
            warning_percent: u8::try_from(row.warning_percent).map_err(|e| bad(&e))?,
            max_overage_micros: row.max_overage_micros,
        };
        Ok(Versioned { policy: limits, version: row.version, updated_at: Some(row.updated_at) })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = usage_events, check_for_backend(diesel::pg::Pg))]
struct UsageRow {
    id: Uuid,
    org_id: Uuid,
    idempotency_key: String,
    amount_micros: i64,
    model: Option<String>,
    feature: Option<String>,
    occurred_at: DateTime<Utc>,
    local_day: NaiveDate,
    recorded_at: DateTime<Utc>,
    recorded_by_type: String,
    recorded_by_id: String,
}

impl TryFrom<UsageRow> for UsageEvent {
    type Error = StoreError;

    fn try_from(row: UsageRow) -> Result<Self, Self::Error> {
        Ok(UsageEvent {
            id: UsageEventId::from_uuid(row.id),
            org_id: OrgId::from_uuid(row.org_id),
            idempotency_key: row.idempotency_key,
            amount_micros: row.amount_micros,
            model: row.model,
            feature: row.feature,
            occurred_at: row.occurred_at,
            local_day: row.local_day,
            recorded_at: row.recorded_at,
            recorded_by: actor(&row.recorded_by_type, &row.recorded_by_id)?,
        })
    }
}

impl SpendRepository for PgTx<'_> {
    fn find_spend_limits(&mut self, org: OrgId) -> Result<Option<Versioned<SpendLimits>>, StoreError> {
        spend_limits::table
            .find(org.as_uuid())
            .select(SpendLimitsRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?
            .map(TryInto::try_into)
            .transpose()
    }

    fn save_spend_limits(&mut self, org: OrgId, limits: &Versioned<SpendLimits>) -> Result<(), StoreError> {
        let l = &limits.policy;
        let row = SpendLimitsRow {
            org_id: org.as_uuid(),
            currency: l.currency.as_str().to_owned(),
            budget_window: l.window.as_str().to_owned(),
            budget_micros: l.budget_micros,
            warning_percent: i32::from(l.warning_percent),
            max_overage_micros: l.max_overage_micros,
            version: limits.version,
            updated_at: limits.updated_at.ok_or_else(|| corrupt("spend_limits", "saved limits have a time"))?,
        };
        prepared(
            diesel::insert_into(spend_limits::table)
                .values(&row)
                .on_conflict(spend_limits::org_id)
                .do_update()
                .set(&row),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }

    fn record_usage(&mut self, event: &UsageEvent) -> Result<Option<UsageEvent>, StoreError> {
        let row = UsageRow {
            id: event.id.as_uuid(),
            org_id: event.org_id.as_uuid(),
            idempotency_key: event.idempotency_key.clone(),
            amount_micros: event.amount_micros,
            model: event.model.clone(),
            feature: event.feature.clone(),
            occurred_at: event.occurred_at,
            local_day: event.local_day,
            recorded_at: event.recorded_at,
            recorded_by_type: event.recorded_by.kind().to_owned(),
            recorded_by_id: event.recorded_by.id(),
        };
        // One round trip: the event, and its amount added to a shard of its day's spend (a
        // day past 9.2e18 micro-units saturates: it is past any budget already). A
        // concurrent insert of the same key waits for the first to commit, then does
        // nothing: the event is counted once, and the statement answers no row.
        let shard = rand::thread_rng().gen_range(0..SPEND_SHARDS);
        let counted = prepared(
            diesel::sql_query(
                "WITH event AS (
                 INSERT INTO usage_events (id, org_id, idempotency_key, amount_micros, model, feature,
                                           occurred_at, local_day, recorded_at, recorded_by_type, recorded_by_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (org_id, idempotency_key) DO NOTHING
                 RETURNING org_id, local_day, amount_micros)
             INSERT INTO spend_days (org_id, day, shard, amount_micros)
             SELECT org_id, local_day, $12, amount_micros FROM event
             ON CONFLICT (org_id, day, shard) DO UPDATE SET amount_micros =
                 LEAST(spend_days.amount_micros::numeric + excluded.amount_micros, 9223372036854775807)::bigint",
            )
            .bind::<SqlUuid, _>(row.id)
            .bind::<SqlUuid, _>(row.org_id)
            .bind::<Text, _>(&row.idempotency_key)
            .bind::<BigInt, _>(row.amount_micros)
            .bind::<Nullable<Text>, _>(&row.model)
            .bind::<Nullable<Text>, _>(&row.feature)
            .bind::<Timestamptz, _>(row.occurred_at)
            .bind::<Date, _>(row.local_day)
            .bind::<Timestamptz, _>(row.recorded_at)
            .bind::<Text, _>(&row.recorded_by_type)
            .bind::<Text, _>(&row.recorded_by_id)
            .bind::<SmallInt, _>(shard),
        )
        .execute(self.conn)
        .map_err(store_error)?;
        if counted == 1 {
            return Ok(None);
        }
        let first = usage_events::table
            .filter(usage_events::org_id.eq(event.org_id.as_uuid()))
            .filter(usage_events::idempotency_key.eq(&event.idempotency_key))
            .select(UsageRow::as_select())
            .first(self.conn)
            .map_err(store_error)?;
        Ok(Some(first.try_into()?))
    }

    fn spend_between(&mut self, org: OrgId, from: NaiveDate, to: NaiveDate) -> Result<i64, StoreError> {
        // SUM of a bigint is a numeric in PostgreSQL, saturated back into a bigint.
        spend_days::table
            .filter(spend_days::org_id.eq(org.as_uuid()))
            .filter(spend_days::day.ge(from))
            .filter(spend_days::day.lt(to))
            .select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "LEAST(coalesce(sum(amount_micros), 0), 9223372036854775807)::bigint",
            ))
            .first(self.conn)
            .map_err(store_error)
    }

    fn announce_levels(
        &mut self,
        org: OrgId,
        window: &WindowSpan,
        levels: &[Posture],
        now: DateTime<Utc>,
    ) -> Result<Vec<Posture>, StoreError> {
        let rows: Vec<_> = levels
            .iter()
            .map(|level| {
                (
                    spend_alerts::org_id.eq(org.as_uuid()),
                    spend_alerts::budget_window.eq(window.kind.as_str()),
                    spend_alerts::window_start.eq(window.start),
                    spend_alerts::level.eq(level.as_str()),
                    spend_alerts::created_at.eq(now),
                )
            })
            .collect();
        let inserted: Vec<String> = diesel::insert_into(spend_alerts::table)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(spend_alerts::level)
            .get_results(self.conn)
            .map_err(store_error)?;
        inserted.iter().map(|level| Posture::parse(level).ok_or_else(|| corrupt("spend_alerts", level))).collect()
    }
}
