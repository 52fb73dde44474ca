//! Faults of the database under a steady stream of writes: requests fail fast with a 503
//! that says to retry, the pool recovers by itself, and no acknowledged write is lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect_status, org_uuid, TestApp};

/// Ends every session of the test's database but the one asking.
const KILL_EVERY_BACKEND: &str =
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";

struct Outcome {
    name: String,
    status: StatusCode,
    at: Instant,
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_connections_fail_fast_with_a_503_and_lose_no_acknowledged_write() {
    let app = Arc::new(TestApp::spawn().await);
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Faulty").await;
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (app, owner, org, stop) = (app.clone(), owner.clone(), org.clone(), stop.clone());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let name = format!("w{writer}-{i}");
                    let response = app.post(&format!("/v1/orgs/{org}/teams"), &owner, json!({ "name": name })).await;
                    let status = response.status();
                    if status == StatusCode::SERVICE_UNAVAILABLE {
                        assert!(response.headers().contains_key("retry-after"), "a 503 says when to retry");
                        let problem: Value = response.json().await.unwrap();
                        assert_eq!(problem["code"], "database_unavailable", "{problem}");
                    } else {
                        assert_eq!(status, StatusCode::CREATED, "{}", response.text().await.unwrap());
                    }
                    outcomes.push(Outcome { name, status, at: Instant::now() });
                }
                outcomes
            })
        })
        .collect();
    let mut kills = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let db = app.clone();
        tokio::task::spawn_blocking(move || db.db.execute(KILL_EVERY_BACKEND).unwrap()).await.unwrap();
        kills.push(Instant::now());
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for writer in writers {
        outcomes.extend(writer.await.unwrap());
    }

    let acknowledged: Vec<&str> =
        outcomes.iter().filter(|o| o.status == StatusCode::CREATED).map(|o| o.name.as_str()).collect();
    let unavailable = outcomes.len() - acknowledged.len();
    let names = acknowledged.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(",");
    let found =
        app.db.count(&format!("SELECT count(*) FROM teams WHERE org_id = '{}' AND name IN ({names})", org_uuid(&org)));
    // Recovery: from each kill to the next acknowledged write; the pool must get there by
    // itself after every kill (how fast is printed, not asserted).
    let recovery = kills
        .iter()
        .map(|kill| {
            let next =
                outcomes.iter().filter(|o| o.status == StatusCode::CREATED && o.at > *kill).map(|o| o.at - *kill);
            next.min().expect("a write succeeded after the kill")
        })
        .max()
        .unwrap();
    println!(
        "faults: {} writes sent, {} acknowledged, {found} found afterwards, {unavailable} answered 503; \
         slowest recovery after a kill {recovery:.0?}",
        outcomes.len(),
        acknowledged.len()
    );
    assert!(acknowledged.len() > 20, "writes went on between the kills");
    assert!(unavailable > 0, "some write met a killed connection");
    assert_eq!(found, acknowledged.len() as i64, "every acknowledged write is in the database");
    let verified =
        expect_status(app.get(&format!("/v1/orgs/{org}/audit-log/verify"), &owner).await, StatusCode::OK).await;
    assert_eq!(verified["ok"], true, "{verified}");
}

/// `make chaos`: the PostgreSQL service itself restarts under the same stream of writes.
/// Not part of `make test`, whose other tests share that server.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "restarts the machine's PostgreSQL service: run with make chaos"]
async fn a_database_restart_fails_fast_recovers_and_loses_no_acknowledged_write() {
    let app = Arc::new(TestApp::spawn().await);
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Restarted").await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (app, owner, org, stop) = (app.clone(), owner.clone(), org.clone(), stop.clone());
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let mut slowest = Duration::ZERO;
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let name = format!("r-{i}");
                let sent = Instant::now();
                let response = app.post(&format!("/v1/orgs/{org}/teams"), &owner, json!({ "name": name })).await;
                slowest = slowest.max(sent.elapsed());
                let status = response.status();
                assert!(
                    status == StatusCode::CREATED || status == StatusCode::SERVICE_UNAVAILABLE,
                    "{status}: {}",
                    response.text().await.unwrap()
                );
                outcomes.push(Outcome { name, status, at: Instant::now() });
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            (outcomes, slowest)
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restarted = tokio::task::spawn_blocking(|| {
        let version = std::fs::read_dir("/etc/postgresql")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .max_by_key(|v| v.parse::<u32>().unwrap_or(0))
            .unwrap();
        let status = std::process::Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", &version, "main", "restart"])
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctlcluster restart");
        Instant::now()
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let (outcomes, slowest) = writer.await.unwrap();
    let acknowledged: Vec<&str> =
        outcomes.iter().filter(|o| o.status == StatusCode::CREATED).map(|o| o.name.as_str()).collect();
    let names = acknowledged.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(",");
    let found =
        app.db.count(&format!("SELECT count(*) FROM teams WHERE org_id = '{}' AND name IN ({names})", org_uuid(&org)));
    let recovery = outcomes
        .iter()
        .filter(|o| o.status == StatusCode::CREATED && o.at > restarted)
        .map(|o| o.at - restarted)
        .min()
        .expect("writes succeed again after the restart");
    println!(
        "chaos: {} writes sent, {} acknowledged, {found} found afterwards, {} answered 503; first success {recovery:.0?} \
         after the server was back; slowest request {slowest:.0?}",
        outcomes.len(),
        acknowledged.len(),
        outcomes.len() - acknowledged.len()
    );
    assert_eq!(found, acknowledged.len() as i64, "every acknowledged write is in the database");
    let verified =
        expect_status(app.get(&format!("/v1/orgs/{org}/audit-log/verify"), &owner).await, StatusCode::OK).await;
    assert_eq!(verified["ok"], true, "{verified}");
}
