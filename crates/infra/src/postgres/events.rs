use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::events::{Event, EventQuery, EventRepository};
use orgd_domain::ids::{EventId, OrgId};
use orgd_domain::StoreError;
use uuid::Uuid;

use super::errors::store_error;
use super::prepared::prepared;
use super::schema::events;
use super::store::PgTx;

#[derive(Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
struct EventRow {
    seq: i64,
    id: Uuid,
    org_id: Uuid,
    type_: String,
    data: serde_json::Value,
    occurred_at: DateTime<Utc>,
}

impl From<EventRow> for Event {
    fn from(row: EventRow) -> Self {
        Event {
            seq: row.seq,
            id: EventId::from_uuid(row.id),
            org_id: OrgId::from_uuid(row.org_id),
            event_type: row.type_,
            data: row.data,
            occurred_at: row.occurred_at,
        }
    }
}

impl EventRepository for PgTx<'_> {
    fn list_events(&mut self, org: OrgId, query: &EventQuery, since: DateTime<Utc>) -> Result<Vec<Event>, StoreError> {
        let mut select = events::table
            .filter(events::org_id.eq(org.as_uuid()))
            .filter(events::seq.gt(query.after.map_or(0, |c| c.0)))
            .filter(events::occurred_at.ge(since))
            .order(events::seq.asc())
            .select(EventRow::as_select())
            .into_boxed();
        if !query.types.is_empty() {
            let (prefixes, exact): (Vec<&String>, Vec<&String>) = query.types.iter().partition(|t| t.ends_with(".*"));
            let mut wanted: Box<
                dyn BoxableExpression<events::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>,
            > = Box::new(events::type_.eq_any(exact.into_iter().cloned().collect::<Vec<_>>()));
            for prefix in prefixes {
                // `team.*` takes `team.` and what follows, the prefix taken literally.
                let literal: String = prefix[..prefix.len() - 1]
                    .chars()
                    .flat_map(|c| if matches!(c, '\\' | '%' | '_') { vec!['\\', c] } else { vec![c] })
                    .collect();
                wanted = Box::new(wanted.or(events::type_.like(format!("{literal}%")).escape('\\')));
            }
            select = select.filter(wanted);
        }
        select
            .limit(i64::from(query.limit))
            .load::<EventRow>(self.conn)
            .map(|rows| rows.into_iter().map(Event::from).collect())
            .map_err(store_error)
    }

    fn delete_events(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StoreError> {
        prepared(
            diesel::sql_query(
                "DELETE FROM events WHERE (org_id, seq) IN (
                SELECT org_id, seq FROM events WHERE occurred_at < $1 ORDER BY occurred_at LIMIT $2)",
            )
            .bind::<diesel::sql_types::Timestamptz, _>(before)
            .bind::<diesel::sql_types::BigInt, _>(i64::from(limit)),
        )
        .execute(self.conn)
        .map_err(store_error)
    }
}
