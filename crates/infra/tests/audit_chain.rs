//! Verifying an organization's audit chain against PostgreSQL: the records stream in
//! order across batches, a break anywhere is found at its record, and the walk reads one
//! snapshot while writers append.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use infra::test_db::{synthetic_audit_records, TestDatabase};
use infra::PgStore;
use orgd_domain::audit::chain::BreakKind;
use orgd_domain::audit::{AuditService, VerifyRange};
use orgd_domain::ids::OrgId;
use orgd_domain::org::OrgRef;
use orgd_domain::time::SystemClock;
use orgd_domain::{Caller, Identity, RequestMeta, Store, StoreError};

/// A database holding one organization, owned by `owner`, with `records` chained records.
fn org_with_chain(records: usize) -> (TestDatabase, OrgId) {
    let db = TestDatabase::create();
    let org = db.seed_owned_org("Chain", "owner");
    db.seed_audit_chain(org, records);
    (db, OrgId::from_uuid(org))
}

fn owner() -> Caller {
    let identity = Identity {
        subject: "owner".into(),
        email: None,
        email_verified: false,
        name: None,
        auth_methods: vec![],
        auth_time: None,
        sign_in_method: None,
        staff: None,
    };
    Caller::user(identity, RequestMeta::default())
}

fn store(db: &TestDatabase) -> PgStore {
    PgStore::new(db.url(), 2, Duration::from_secs(10))
}

fn tamper(db: &TestDatabase, sql: &str) {
    db.execute(&format!(
        "ALTER TABLE audit_events DISABLE TRIGGER USER; {sql}; ALTER TABLE audit_events ENABLE TRIGGER USER;"
    ))
    .unwrap();
}

#[test]
fn records_stream_in_order_across_batches_and_stop_when_told() {
    let (db, org) = org_with_chain(12_344);
    let store = store(&db);
    let mut seqs = Vec::new();
    store
        .read_snapshot(|tx| {
            tx.stream_audit(org, 0, 20_000, &mut |batch| {
                seqs.extend(batch.iter().map(|e| e.seq));
                ControlFlow::Continue(())
            })
        })
        .unwrap();
    assert!(seqs.iter().copied().eq(1..=12_344), "every record once, oldest first");

    let mut seen = Vec::new();
    store
        .read_snapshot(|tx| {
            tx.stream_audit(org, 100, 9_000, &mut |batch| {
                seen.extend(batch.iter().map(|e| e.seq));
                ControlFlow::Continue(())
            })
        })
        .unwrap();
    assert!(seen.iter().copied().eq(101..=9_100), "the records after a point, up to a limit");

    let mut batches = 0;
    store
        .read_snapshot(|tx| {
            tx.stream_audit(org, 0, 20_000, &mut |_| {
                batches += 1;
                ControlFlow::Break(())
            })
        })
        .unwrap();
    assert_eq!(batches, 1, "a walk that stops is sent nothing more");
}

#[test]
fn a_break_past_the_first_batches_is_found_at_its_record() {
    let (db, org) = org_with_chain(12_000);
    let store = store(&db);
    let audit = AuditService::new(store, Arc::new(SystemClock));
    let verify = |range| audit.verify(&owner(), &OrgRef::Id(org), range).unwrap();
    let intact = verify(VerifyRange::default());
    assert_eq!((intact.verified, intact.first_break, intact.head_seq), (12_000, None, 12_000));

    let id = org.as_uuid();
    tamper(&db, &format!("UPDATE audit_events SET actor_id = 'usr_forged' WHERE org_id = '{id}' AND seq = 7777"));
    let broken = verify(VerifyRange::default()).first_break.unwrap();
    assert_eq!((broken.seq, broken.kind), (7_777, BreakKind::HashMismatch));
    let after = verify(VerifyRange { from_seq: Some(7_778), ..VerifyRange::default() });
    assert_eq!((after.verified, after.first_break), (4_223, None), "a range after the damage checks out");

    // Removed where one batch of the walk ends and the next begins.
    tamper(&db, &format!("DELETE FROM audit_events WHERE org_id = '{id}' AND seq = 5001"));
    let range = VerifyRange { to_seq: Some(7_000), ..VerifyRange::default() };
    let broken = verify(range).first_break.unwrap();
    assert_eq!((broken.seq, broken.kind, broken.event_id), (5_001, BreakKind::Gap { expected: 5_001 }, None));

    tamper(&db, &format!("DELETE FROM audit_events WHERE org_id = '{id}' AND seq > 11000"));
    let range = VerifyRange { from_seq: Some(10_000), ..VerifyRange::default() };
    let broken = verify(range).first_break.unwrap();
    assert_eq!((broken.seq, broken.kind), (11_001, BreakKind::Truncated { head_seq: 12_000 }));
}

#[test]
fn a_snapshot_reads_the_chain_as_it_was_and_writes_nothing() {
    let (db, org) = org_with_chain(10);
    let store = store(&db);
    let (before, after) = store
        .read_snapshot(|tx| {
            let before = tx.audit_head(org)?.unwrap();
            infra::postgres::audit::append_bulk(&mut db.connect(), org, &synthetic_audit_records(org.as_uuid(), 3))?;
            let mut streamed = 0;
            tx.stream_audit(org, 0, 100, &mut |batch| {
                streamed += batch.len();
                ControlFlow::Continue(())
            })?;
            Ok::<_, StoreError>((before, (tx.audit_head(org)?.unwrap(), streamed)))
        })
        .unwrap();
    assert_eq!((before.seq, after.0, after.1), (10, before, 10), "a commit meanwhile is not seen");
    assert_eq!(store.transaction(|tx| tx.audit_head(org)).unwrap().unwrap().seq, 13);

    let record = synthetic_audit_records(org.as_uuid(), 1).remove(0);
    let write = store.read_snapshot(|tx| tx.append_audit(&record));
    assert!(write.is_err(), "a snapshot is read-only");
    assert_eq!(store.transaction(|tx| tx.audit_head(org)).unwrap().unwrap().seq, 13);
}

/// diesel sends raw SQL and every `UPDATE` unnamed, for PostgreSQL to parse and plan on
/// every execution; the statements that link a record and move the head run in every
/// audited write, so their connection keeps them prepared, whether they answer rows or not.
#[test]
fn the_statements_that_link_records_are_kept_prepared() {
    use diesel::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Kept {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        statements: i64,
    }

    let (db, org) = org_with_chain(1);
    let mut conn = db.connect();
    for _ in 0..3 {
        // The first record is linked by one statement, the second by a bulk insert, after
        // which the head is moved by an `UPDATE`.
        infra::postgres::audit::append_bulk(&mut conn, org, &synthetic_audit_records(org.as_uuid(), 2)).unwrap();
    }
    let mut kept = |like: &str| {
        diesel::sql_query("SELECT count(*) AS statements FROM pg_prepared_statements WHERE statement LIKE $1")
            .bind::<diesel::sql_types::Text, _>(like)
            .get_result::<Kept>(&mut conn)
            .unwrap()
            .statements
    };
    assert_eq!(kept("WITH head AS%"), 1, "one prepared statement links every first record");
    assert_eq!(kept("UPDATE \"audit_chain_heads\"%"), 1, "one prepared statement moves the head");
    let head = store(&db).transaction(|tx| tx.audit_head(org)).unwrap().unwrap();
    assert_eq!(head.seq, 7);
}
