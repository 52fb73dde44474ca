//! Audit log at scale: one organization with 1,000,000 chained records (override with
//! `AUDIT_BENCH_RECORDS`). Prints the time to seed, to list the newest page (with and
//! without a filter), to verify one call's worth of records, and to verify the whole chain
//! in resumed calls, through the domain's use cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use infra::test_db::{synthetic_audit_records, TestDatabase};
use infra::PgStore;
use orgd_domain::audit::{AuditQuery, AuditService, VerifyRange};
use orgd_domain::org::OrgRef;
use orgd_domain::time::SystemClock;
use orgd_domain::{Caller, Identity, RequestMeta};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let records: usize = std::env::var("AUDIT_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let db = TestDatabase::create();
    let org = db.seed_owned_org("Bench", "bench");

    let started = Instant::now();
    for chunk in synthetic_audit_records(org, records).chunks(100_000) {
        infra::postgres::audit::append_bulk(&mut db.connect(), orgd_domain::ids::OrgId::from_uuid(org), chunk).unwrap();
    }
    db.execute("VACUUM ANALYZE audit_events").unwrap();
    println!("seeded {records} chained records in {:.1?}", started.elapsed());

    let store = PgStore::new(db.url(), 4, Duration::from_secs(10));
    let audit = AuditService::new(store, Arc::new(SystemClock));
    let identity = Identity {
        subject: "bench".into(),
        email: None,
        email_verified: false,
        name: None,
        auth_methods: vec![],
        auth_time: None,
        sign_in_method: None,
        staff: None,
    };
    let caller = Caller::user(identity, RequestMeta::default());
    let org_ref = OrgRef::Id(orgd_domain::ids::OrgId::from_uuid(org));

    let time_page = |query: fn() -> AuditQuery, before: Option<i64>| {
        let samples: Vec<Duration> = (0..50)
            .map(|_| {
                let start = Instant::now();
                let page = audit.list(&caller, &org_ref, query(), before, 25).unwrap();
                assert!(!page.events.is_empty());
                start.elapsed()
            })
            .collect();
        median(samples)
    };
    println!("list newest page (25 records): median {:.2?}", time_page(AuditQuery::default, None));
    let deep = Some(records as i64 / 10);
    println!("list a page 90% back (keyset): median {:.2?}", time_page(AuditQuery::default, deep));
    let filtered = || AuditQuery { action: Some("org.".into()), ..Default::default() };
    println!("list newest page filtered by action prefix: median {:.2?}", time_page(filtered, None));

    let start = Instant::now();
    let report = audit.verify(&caller, &org_ref, VerifyRange::default()).unwrap();
    let took = start.elapsed();
    assert!(report.first_break.is_none(), "{:?}", report.first_break);
    println!(
        "verify {} records (one call): {:.2?} ({:.0} records/s)",
        report.verified,
        took,
        report.verified as f64 / took.as_secs_f64()
    );

    let start = Instant::now();
    let (mut from_seq, mut checked, mut calls) = (None, 0, 0);
    loop {
        let report = audit.verify(&caller, &org_ref, VerifyRange { from_seq, ..VerifyRange::default() }).unwrap();
        assert!(report.first_break.is_none(), "{:?}", report.first_break);
        (checked, calls) = (checked + report.verified, calls + 1);
        match report.resume_from_seq {
            Some(resume) => from_seq = Some(resume),
            None => break,
        }
    }
    let took = start.elapsed();
    println!(
        "verify the whole chain, {checked} records in {calls} resumed calls: {took:.2?} ({:.0} records/s)",
        checked as f64 / took.as_secs_f64()
    );
}
