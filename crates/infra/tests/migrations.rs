//! Every migration reverts cleanly and re-applies: up → down → up on a fresh database.

use diesel::pg::PgConnection;
use diesel::Connection;
use diesel_migrations::MigrationHarness;
use infra::setup::{run_migrations, MIGRATIONS};
use infra::test_db::TestDatabase;

#[test]
fn migrations_go_up_down_and_up_again() {
    let db = TestDatabase::create_empty();
    let applied = run_migrations(db.url()).expect("first up");
    assert!(!applied.is_empty());
    let mut conn = PgConnection::establish(db.url()).expect("connect");
    let reverted = conn.revert_all_migrations(MIGRATIONS).expect("down");
    assert_eq!(reverted.len(), applied.len());
    assert!(db.execute("SELECT 1 FROM organizations").is_err(), "down removes the tables");
    let reapplied = run_migrations(db.url()).expect("second up");
    assert_eq!(reapplied, applied);
    assert!(run_migrations(db.url()).expect("idempotent").is_empty());
}

#[test]
fn the_database_refuses_to_change_or_remove_audit_records() {
    let db = TestDatabase::create();
    let org = uuid::Uuid::now_v7();
    db.execute(&format!(
        "INSERT INTO organizations (id, name, slug, created_at, updated_at) VALUES ('{org}', 'Acme', 'acme', now(), now()); \
         INSERT INTO audit_events (id, org_id, seq, actor_type, actor_id, action, target_type, target_id, occurred_at, prev_hash, hash) \
         VALUES ('{}', '{org}', 1, 'user', 'usr_x', 'org.created', 'organization', 'org_x', now(), '\\x{zeros}', '\\x{zeros}');",
        uuid::Uuid::now_v7(),
        zeros = "00".repeat(32)
    ))
    .expect("fixture");
    for statement in ["UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events", "TRUNCATE audit_events"]
    {
        let err = db.execute(statement).expect_err(statement);
        assert!(err.contains("append-only"), "{statement}: {err}");
    }
    assert_eq!(db.audit_events(org).len(), 1);
}
