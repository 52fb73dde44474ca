use std::ops::ControlFlow;
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use ipnetwork::IpNetwork;
use orgd_domain::audit::chain::{canonical_around_seq, ZERO_HASH};
use orgd_domain::audit::{AuditEvent, AuditFilter, AuditLog, AuditRecord, AuditSink, ChainHead};
use orgd_domain::events::{Event, NewEvent};
use orgd_domain::ids::{EventId, OrgId};
use orgd_domain::StoreError;
use serde_json::Value;
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
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

impl AuditSink for PgTx<'_> {
    /// Appends the record as the next link of its organization's chain, in one statement:
    /// moving the head row numbers and hashes the record and locks the row until commit, so
    /// concurrent writers of one organization take turns (and writers of other
    /// organizations never wait).
    fn append_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError> {
        let unsealed = record.unsealed();
        let (before_seq, after_seq) = canonical_around_seq(&unsealed);
        let link = Link { row: AuditRow::from(&unsealed), before_seq, after_seq: &after_seq };
        let published = NewEvent::of(record);
        if self.link(&link, published.as_ref())? {
            return Ok(());
        }
        // The organization's first record: a racing first writer may create the head first
        // (this insert then waits for it and does nothing), and either way it now exists.
        prepared(
            diesel::insert_into(audit_chain_heads::table)
                .values((
                    audit_chain_heads::org_id.eq(record.org_id.as_uuid()),
                    audit_chain_heads::seq.eq(0),
                    audit_chain_heads::hash.eq(ZERO_HASH.to_vec()),
                    audit_chain_heads::base_hash.eq(ZERO_HASH.to_vec()),
                ))
                .on_conflict_do_nothing(),
        )
        .execute(self.conn)
        .map_err(store_error)?;
        if self.link(&link, published.as_ref())? {
            return Ok(());
        }
        Err(StoreError::Internal("the audit chain head vanished".into()))
    }
}

/// A record to append: its stored fields, and its canonical form around the `seq` the
/// statement gives it.
struct Link<'a> {
    row: AuditRow,
    before_seq: &'static [u8],
    after_seq: &'a [u8],
}

/// Moves the head one place, hashing the record onto the hash it pointed at (`$13` and
/// `$14` are the canonical form before and after its `seq`), and links the record there.
/// An `UPDATE` takes the row lock and, when another writer held it, re-reads the row it
/// committed, so the record always goes right after the latest link.
const LINK_HEAD: &str = "WITH head AS (
        UPDATE audit_chain_heads
        SET seq = seq + 1, prev_hash = hash, hash = sha256(hash || $13 || convert_to((seq + 1)::text, 'UTF8') || $14)
        WHERE org_id = $2
        RETURNING seq, prev_hash, hash),
    link AS (
        INSERT INTO audit_events (id, org_id, seq, actor_type, actor_id, action, target_type,
            target_id, changes, request_id, client_ip, user_agent, occurred_at, prev_hash, hash)
        SELECT $1, $2, seq, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, prev_hash, hash FROM head)";

/// [`LINK_HEAD`], answering how many records it linked: 0 when the organization has no head yet.
static LINK: LazyLock<String> = LazyLock::new(|| format!("{LINK_HEAD} SELECT count(*) AS links FROM head"));

/// [`LINK_HEAD`], and the change's event (`$15`…`$18`: id, type, data, time) published with
/// it: answers the event's number and the webhooks that take it (no row when the
/// organization has no head yet), in one round trip for what took five. A webhook takes the
/// event when enabled and subscribed to every type, to this one, or to a `prefix.*` of it
/// (the rule of `orgd_domain::events::type_matches`, in SQL).
static LINK_AND_PUBLISH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{LINK_HEAD},
        published AS (
            INSERT INTO events (id, org_id, type, data, occurred_at) SELECT $15, $2, $16, $17, $18 FROM head RETURNING seq)
        SELECT (SELECT seq FROM published) AS seq,
               ARRAY(SELECT w.id FROM webhooks w WHERE w.org_id = $2 AND w.enabled AND (
                   cardinality(w.event_types) = 0 OR $16 = ANY (w.event_types)
                   OR EXISTS (SELECT 1 FROM unnest(w.event_types) p
                              WHERE right(p, 2) = '.*' AND starts_with($16, left(p, -1))))) AS takers
        FROM head"
    )
});

#[derive(QueryableByName)]
struct Linked {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    links: i64,
}

#[derive(QueryableByName)]
struct Published {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
    takers: Vec<Uuid>,
}

/// `sql` with `link` bound as `$1`…`$14`, in the order of [`LINK_HEAD`].
fn bind_link<'q>(sql: &str, link: &'q Link<'q>) -> BoxedSqlQuery<'q, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
    use diesel::sql_types::{Bytea, Inet, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    let row = &link.row;
    diesel::sql_query(sql)
        .into_boxed()
        .bind::<SqlUuid, _>(row.id)
        .bind::<SqlUuid, _>(row.org_id)
        .bind::<Text, _>(&row.actor_type)
        .bind::<Text, _>(&row.actor_id)
        .bind::<Text, _>(&row.action)
        .bind::<Text, _>(&row.target_type)
        .bind::<Text, _>(&row.target_id)
        .bind::<Jsonb, _>(&row.changes)
        .bind::<Nullable<Text>, _>(&row.request_id)
        .bind::<Nullable<Inet>, _>(row.client_ip)
        .bind::<Nullable<Text>, _>(&row.user_agent)
        .bind::<Timestamptz, _>(row.occurred_at)
        .bind::<Bytea, _>(link.before_seq)
        .bind::<Bytea, _>(link.after_seq)
}

impl PgTx<'_> {
    /// Links the record (and publishes its event, delivering it to the webhooks that take
    /// it); false, with nothing written, when the organization has no chain head yet.
    fn link(&mut self, link: &Link<'_>, published: Option<&NewEvent>) -> Result<bool, StoreError> {
        use diesel::sql_types::{Jsonb, Text, Timestamptz, Uuid as SqlUuid};
        let Some(published) = published else {
            let linked: Linked = prepared(bind_link(&LINK, link)).get_result(self.conn).map_err(store_error)?;
            return Ok(linked.links == 1);
        };
        let answer: Option<Published> = prepared(
            bind_link(&LINK_AND_PUBLISH, link)
                .bind::<SqlUuid, _>(published.id.as_uuid())
                .bind::<Text, _>(published.event_type)
                .bind::<Jsonb, _>(&published.data)
                .bind::<Timestamptz, _>(published.occurred_at),
        )
        .get_result(self.conn)
        .optional()
        .map_err(store_error)?;
        let Some(answer) = answer else { return Ok(false) };
        let event = Event {
            seq: answer.seq,
            id: published.id,
            org_id: published.org_id,
            event_type: published.event_type.to_owned(),
            data: published.data.clone(),
            occurred_at: published.occurred_at,
        };
        self.deliver_to(&event, answer.takers)?;
        Ok(true)
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
        if records.len() == 1 {
            return Ok(());
        }
        let head: HeadRow = audit_chain_heads::table
            .filter(audit_chain_heads::org_id.eq(org.as_uuid()))
            .select(HeadRow::as_select())
            .first(tx.conn)?;
        let mut seq = head.seq;
        let mut prev: [u8; 32] = head.hash.as_slice().try_into().unwrap_or(ZERO_HASH);
        let mut before_last = prev;
        for chunk in records[1..].chunks(1_000) {
            let rows: Vec<AuditRow> = chunk
                .iter()
                .map(|record| {
                    seq += 1;
                    let event = record.seal(seq, prev);
                    (before_last, prev) = (prev, event.hash);
                    AuditRow::from(&event)
                })
                .collect();
            diesel::insert_into(audit_events::table).values(&rows).execute(tx.conn)?;
        }
        prepared(diesel::update(audit_chain_heads::table.filter(audit_chain_heads::org_id.eq(org.as_uuid()))).set((
            audit_chain_heads::seq.eq(seq),
            audit_chain_heads::hash.eq(prev.to_vec()),
            audit_chain_heads::prev_hash.eq(before_last.to_vec()),
        )))
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
