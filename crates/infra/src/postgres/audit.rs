use std::ops::ControlFlow;
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use ipnetwork::IpNetwork;
use orgd_domain::audit::chain::ZERO_HASH;
use orgd_domain::audit::{AuditEvent, AuditFilter, AuditLog, AuditRecord, AuditSink, ChainHead};
use orgd_domain::events::{Event, NewEvent};
use orgd_domain::ids::{EventId, OrgId};
use orgd_domain::StoreError;
use serde_json::Value;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::schema::{audit_chain_heads, audit_events};
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct AuditRow {
    id: Uuid,
    org_id: Uuid,
    seq: i64,
    actor_type: String,
    actor_id: String,
    action: String,
    target_type: String,
    target_id: String,
    changes: Value,
    request_id: Option<String>,
    client_ip: Option<IpNetwork>,
    user_agent: Option<String>,
    occurred_at: DateTime<Utc>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

fn hash32(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| corrupt("audit_events", "a hash is not 32 bytes"))
}

impl From<&AuditEvent> for AuditRow {
    fn from(e: &AuditEvent) -> Self {
        AuditRow {
            id: e.id.as_uuid(),
            org_id: e.org_id.as_uuid(),
            seq: e.seq,
            actor_type: e.actor_type.clone(),
            actor_id: e.actor_id.clone(),
            action: e.action.clone(),
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            changes: e.changes.clone(),
            request_id: e.request_id.clone(),
            client_ip: e.client_ip.map(IpNetwork::from),
            user_agent: e.user_agent.clone(),
            occurred_at: e.occurred_at,
            prev_hash: e.prev_hash.to_vec(),
            hash: e.hash.to_vec(),
        }
    }
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, Self::Error> {
        Ok(AuditEvent {
            seq: row.seq,
            id: EventId::from_uuid(row.id),
            org_id: OrgId::from_uuid(row.org_id),
            actor_type: row.actor_type,
            actor_id: row.actor_id,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            changes: row.changes,
            request_id: row.request_id,
            client_ip: row.client_ip.map(|net| net.ip()),
            user_agent: row.user_agent,
            occurred_at: row.occurred_at,
            prev_hash: hash32(&row.prev_hash)?,
            hash: hash32(&row.hash)?,
        })
    }
}

/// Records per query while streaming a chain. Each reader thread allocates its batches in
/// whichever malloc arena it lands on, and a busy server has many: at 1,000 records a batch,
/// verifying after a burst of requests grew the server by ~45 MB, at 250 by ~17 MB, with no
/// measurable loss of speed (the round trips overlap with the hashing).
const STREAM_BATCH: i64 = 250;

/// Reads up to `limit` records of `org` after `after_seq`, oldest first, in batches sent to
/// `batches`, until the records run out or the receiver hangs up. Batches come back through
/// `spent` to be freed here: memory is cheaper to free on the thread that allocated it,
/// and this one mostly waits for the database.
fn read_chain(
    conn: &mut diesel::pg::PgConnection,
    org: OrgId,
    mut after_seq: i64,
    mut limit: i64,
    batches: &SyncSender<Vec<AuditEvent>>,
    spent: &Receiver<Vec<AuditEvent>>,
) -> Result<(), StoreError> {
    while limit > 0 {
        spent.try_iter().for_each(drop);
        let rows: Vec<AuditRow> = audit_events::table
            .filter(audit_events::org_id.eq(org.as_uuid()))
            .filter(audit_events::seq.gt(after_seq))
            .order(audit_events::seq.asc())
            .limit(limit.min(STREAM_BATCH))
            .select(AuditRow::as_select())
            .load(conn)
            .map_err(store_error)?;
        let Some(last) = rows.last() else { return Ok(()) };
        (after_seq, limit) = (last.seq, limit - rows.len() as i64);
        if batches.send(events(rows)?).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_chain_heads, check_for_backend(diesel::pg::Pg))]
struct HeadRow {
    seq: i64,
    hash: Vec<u8>,
    base_seq: i64,
    base_hash: Vec<u8>,
}

impl PgTx<'_> {
    /// The organization's chain head, locked until commit; `None` before its first record.
    fn lock_chain_head(&mut self, org: Uuid) -> Result<Option<HeadRow>, StoreError> {
        audit_chain_heads::table
            .filter(audit_chain_heads::org_id.eq(org))
            .select(HeadRow::as_select())
            .for_update()
            .first(self.conn)
            .optional()
            .map_err(store_error)
    }
}

impl AuditSink for PgTx<'_> {
    /// Appends the record as the next link of its organization's chain. The head row is
    /// locked until commit, so concurrent writers of one organization take turns (and
    /// writers of other organizations never wait).
    fn append_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError> {
        let org = record.org_id.as_uuid();
        let head = match self.lock_chain_head(org)? {
            Some(head) => head,
            // The organization's first record: a racing first writer may create the head
            // first, so the lock is taken on whichever row now exists.
            None => {
                diesel::insert_into(audit_chain_heads::table)
                    .values((
                        audit_chain_heads::org_id.eq(org),
                        audit_chain_heads::seq.eq(0),
                        audit_chain_heads::hash.eq(ZERO_HASH.to_vec()),
                        audit_chain_heads::base_hash.eq(ZERO_HASH.to_vec()),
                    ))
                    .on_conflict_do_nothing()
                    .execute(self.conn)
                    .map_err(store_error)?;
                self.lock_chain_head(org)?
                    .ok_or_else(|| StoreError::Internal("the audit chain head vanished".into()))?
            }
        };
        let link = AuditRow::from(&record.seal(head.seq + 1, hash32(&head.hash)?));
        // While the chain head is held: the organization's events are numbered in commit order.
        match NewEvent::of(record) {
            Some(published) => self.link_and_publish(&link, published),
            None => bind_link(&LINK, &link).execute(self.conn).map(|_| ()).map_err(store_error),
        }
    }
}

/// The record, as `$1`…`$15`.
const INSERT_LINK: &str = "INSERT INTO audit_events (id, org_id, seq, actor_type, actor_id, action, target_type,
    target_id, changes, request_id, client_ip, user_agent, occurred_at, prev_hash, hash)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

/// The record becomes the head of its organization's chain.
const MOVE_HEAD: &str = "UPDATE audit_chain_heads SET seq = $3, hash = $15 WHERE org_id = $2";

/// Both, in one statement for what took two round trips.
static LINK: LazyLock<String> = LazyLock::new(|| format!("WITH link AS ({INSERT_LINK}) {MOVE_HEAD}"));

/// [`LINK`], and the change's event (`$16`…`$19`: id, type, data, time) published with it:
/// answers the event's number and the webhooks that take it, in one round trip for what
/// took four. A webhook takes the event when enabled and subscribed to every type, to this
/// one, or to a `prefix.*` of it (the rule of `orgd_domain::events::type_matches`, in SQL).
static LINK_AND_PUBLISH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH link AS ({INSERT_LINK}), head AS ({MOVE_HEAD}),
        published AS (
            INSERT INTO events (id, org_id, type, data, occurred_at) VALUES ($16, $2, $17, $18, $19) RETURNING seq)
        SELECT (SELECT seq FROM published) AS seq,
               ARRAY(SELECT w.id FROM webhooks w WHERE w.org_id = $2 AND w.enabled AND (
                   cardinality(w.event_types) = 0 OR $17 = ANY (w.event_types)
                   OR EXISTS (SELECT 1 FROM unnest(w.event_types) p
                              WHERE right(p, 2) = '.*' AND starts_with($17, left(p, -1))))) AS takers"
    )
});

#[derive(QueryableByName)]
struct Published {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
    takers: Vec<Uuid>,
}

/// `sql` with `link`'s columns bound as `$1`…`$15`, in the order of [`INSERT_LINK`].
fn bind_link<'q>(sql: &str, link: &'q AuditRow) -> BoxedSqlQuery<'q, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
    use diesel::sql_types::{Bytea, Inet, Int8, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    diesel::sql_query(sql)
        .into_boxed()
        .bind::<SqlUuid, _>(link.id)
        .bind::<SqlUuid, _>(link.org_id)
        .bind::<Int8, _>(link.seq)
        .bind::<Text, _>(&link.actor_type)
        .bind::<Text, _>(&link.actor_id)
        .bind::<Text, _>(&link.action)
        .bind::<Text, _>(&link.target_type)
        .bind::<Text, _>(&link.target_id)
        .bind::<Jsonb, _>(&link.changes)
        .bind::<Nullable<Text>, _>(&link.request_id)
        .bind::<Nullable<Inet>, _>(link.client_ip)
        .bind::<Nullable<Text>, _>(&link.user_agent)
        .bind::<Timestamptz, _>(link.occurred_at)
        .bind::<Bytea, _>(&link.prev_hash)
        .bind::<Bytea, _>(&link.hash)
}

impl PgTx<'_> {
    fn link_and_publish(&mut self, link: &AuditRow, published: NewEvent) -> Result<(), StoreError> {
        use diesel::sql_types::{Jsonb, Text, Timestamptz, Uuid as SqlUuid};
        let answer: Published = bind_link(&LINK_AND_PUBLISH, link)
            .bind::<SqlUuid, _>(published.id.as_uuid())
            .bind::<Text, _>(published.event_type)
            .bind::<Jsonb, _>(&published.data)
            .bind::<Timestamptz, _>(published.occurred_at)
            .get_result(self.conn)
            .map_err(store_error)?;
        let event = Event {
            seq: answer.seq,
            id: published.id,
            org_id: published.org_id,
            event_type: published.event_type.to_owned(),
            data: published.data,
            occurred_at: published.occurred_at,
        };
        self.deliver_to(&event, answer.takers)
    }
}

/// `text` as a LIKE prefix pattern, its own wildcards taken literally.
pub(super) fn prefix_pattern(text: &str) -> String {
    format!("{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

type Boxed<'a> = audit_events::BoxedQuery<'a, diesel::pg::Pg>;

fn filtered<'a>(org: OrgId, filter: &'a AuditFilter) -> Boxed<'a> {
    let mut query = audit_events::table.filter(audit_events::org_id.eq(org.as_uuid())).into_boxed();
    if let Some(prefix) = &filter.action_prefix {
        query = query.filter(audit_events::action.like(prefix_pattern(prefix)));
    }
    if let Some(actor) = &filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor));
    }
    if let Some(target) = &filter.target_id {
        query = query.filter(audit_events::target_id.eq(target));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::occurred_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::occurred_at.lt(until));
    }
    query
}

fn events(rows: Vec<AuditRow>) -> Result<Vec<AuditEvent>, StoreError> {
    rows.into_iter().map(AuditEvent::try_from).collect()
}

impl AuditLog for PgTx<'_> {
    fn list_audit(
        &mut self,
        org: OrgId,
        filter: &AuditFilter,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut query = filtered(org, filter);
        if let Some(before) = before_seq {
            query = query.filter(audit_events::seq.lt(before));
        }
        let rows = query
            .order(audit_events::seq.desc())
            .limit(limit)
            .select(AuditRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        events(rows)
    }

    fn scan_audit(
        &mut self,
        org: OrgId,
        filter: &AuditFilter,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = filtered(org, filter)
            .filter(audit_events::seq.gt(after_seq))
            .order(audit_events::seq.asc())
            .limit(limit)
            .select(AuditRow::as_select())
            .load(self.conn)
            .map_err(store_error)?;
        events(rows)
    }

    fn audit_seq_span(
        &mut self,
        org: OrgId,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let filter = AuditFilter { since, until, ..AuditFilter::default() };
        let span: (Option<i64>, Option<i64>) = filtered(org, &filter)
            .select((diesel::dsl::min(audit_events::seq), diesel::dsl::max(audit_events::seq)))
            .get_result(self.conn)
            .map_err(store_error)?;
        Ok(span.0.zip(span.1))
    }

    /// Reads on a thread of its own while `visit` checks the previous batch, so the
    /// database's work and the hashing overlap; one batch waits between them at most.
    fn stream_audit(
        &mut self,
        org: OrgId,
        after_seq: i64,
        limit: i64,
        visit: &mut dyn FnMut(&[AuditEvent]) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let conn = &mut *self.conn;
        std::thread::scope(|scope| {
            let (sender, batches) = sync_channel(1);
            let (give_back, spent) = channel();
            let reader = std::thread::Builder::new()
                .name("audit-reader".into())
                .spawn_scoped(scope, move || read_chain(conn, org, after_seq, limit, &sender, &spent))
                .map_err(|e| StoreError::Internal(format!("cannot start the audit reader: {e}")))?;
            for batch in &batches {
                let stop = visit(&batch).is_break();
                // Once the reader has finished, the batch is simply dropped here.
                let _ = give_back.send(batch);
                if stop {
                    break;
                }
            }
            // Hanging up stops the reader at its next batch.
            drop(batches);
            reader.join().map_err(|_| StoreError::Internal("the audit reader panicked".into()))?
        })
    }

    fn audit_head(&mut self, org: OrgId) -> Result<Option<ChainHead>, StoreError> {
        let row: Option<HeadRow> = audit_chain_heads::table
            .filter(audit_chain_heads::org_id.eq(org.as_uuid()))
            .select(HeadRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(|h| {
            Ok(ChainHead { seq: h.seq, hash: hash32(&h.hash)?, base_seq: h.base_seq, base_hash: hash32(&h.base_hash)? })
        })
        .transpose()
    }
}

/// Appends many records to one organization's chain in large inserts: for seeding test
/// and benchmark databases, where one statement per record would take minutes.
pub fn append_bulk(conn: &mut diesel::pg::PgConnection, org: OrgId, records: &[AuditRecord]) -> Result<(), StoreError> {
    use diesel::Connection;
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        let mut tx = PgTx::new(conn);
        let Some(first) = records.first() else { return Ok(()) };
        // The first record creates the head row if needed and takes its lock.
        tx.append_audit(first).map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))?;
        let head: HeadRow = audit_chain_heads::table
            .filter(audit_chain_heads::org_id.eq(org.as_uuid()))
            .select(HeadRow::as_select())
            .first(tx.conn)?;
        let mut seq = head.seq;
        let mut prev: [u8; 32] = head.hash.as_slice().try_into().unwrap_or(ZERO_HASH);
        for chunk in records[1..].chunks(1_000) {
            let rows: Vec<AuditRow> = chunk
                .iter()
                .map(|record| {
                    seq += 1;
                    let event = record.seal(seq, prev);
                    prev = event.hash;
                    AuditRow::from(&event)
                })
                .collect();
            diesel::insert_into(audit_events::table).values(&rows).execute(tx.conn)?;
        }
        diesel::update(audit_chain_heads::table.filter(audit_chain_heads::org_id.eq(org.as_uuid())))
            .set((audit_chain_heads::seq.eq(seq), audit_chain_heads::hash.eq(prev.to_vec())))
            .execute(tx.conn)?;
        Ok(())
    })
    .map_err(store_error)
}

#[cfg(test)]
mod tests {
    use super::prefix_pattern;

    #[test]
    fn an_action_prefix_matches_literally() {
        assert_eq!(prefix_pattern("team.member_"), "team.member\\_%");
    }
}
