//! AI and spend governance and the dashboard, through the real server over HTTP on
//! loopback:
//!
//! 1. `POST …/llm-policy/check` by a gateway's API key, `GOV_BENCH_CLIENTS` (32) requests
//!    in flight, for `GOV_BENCH_REQUESTS` (20,000) requests: req/s and p50/p99, beside
//!    `/healthz` under the same load (the HTTP layer alone: the physical limit of any route);
//! 2. `POST …/usage` into one organization, distinct events, the same concurrency:
//!    events/s, beside the rate of bare durable inserts at the same concurrency;
//! 3. `GET …/dashboard` of an organization of `GOV_BENCH_MEMBERS` (1,000,000) members:
//!    median and worst of 20, beside one `count(*) … GROUP BY role` of its members (what a
//!    dashboard without counters would run on each call).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::env_count;
use serde_json::{json, Value};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

struct Load {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

/// Sends `total` requests built by `request(i)`, `clients` at a time; every answer must
/// have status `expect`.
async fn drive<F>(clients: usize, total: usize, expect: u16, request: F) -> Load
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let request = request.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= total {
                        break latencies;
                    }
                    let sent = Instant::now();
                    let response = request(i).send().await.unwrap();
                    assert_eq!(response.status().as_u16(), expect, "{}", response.text().await.unwrap());
                    response.bytes().await.unwrap();
                    latencies.push(sent.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Load {
        rate: total as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
    }
}

fn print(name: &str, load: &Load, limit_name: &str, limit: f64) {
    println!(
        "{name:<34} {:>8.0} req/s  p50 {:>6.2?}  p99 {:>6.2?}   {limit_name} {limit:.0}/s, ratio {:.2}",
        load.rate,
        load.p50,
        load.p99,
        load.rate / limit
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let clients = env_count("GOV_BENCH_CLIENTS", 32);
    let total = env_count("GOV_BENCH_REQUESTS", 20_000);
    let members = env_count("GOV_BENCH_MEMBERS", 1_000_000);
    let server = common::start().await;
    let (db, base) = (&server.db, server.base.clone());
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients).build().unwrap();
    let owner = server.token("bench-owner", true);
    let send = |method: reqwest::Method, path: String, token: &str, body: Value| {
        client.request(method, format!("{base}{path}")).bearer_auth(token).header("If-Match", "*").json(&body).send()
    };
    let org: Value = send(reqwest::Method::POST, "/v1/orgs".into(), &owner, json!({"name": "Bench"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let org = org["id"].as_str().unwrap().to_owned();
    let key = |permissions: Vec<&str>| {
        let body = json!({ "name": "bench", "permissions": permissions });
        send(reqwest::Method::POST, format!("/v1/orgs/{org}/api-keys"), &owner, body)
    };
    let gateway: Value = key(vec!["llm:read"]).await.unwrap().json().await.unwrap();
    let gateway = gateway["secret"].as_str().unwrap().to_owned();
    let meter: Value = key(vec!["usage:write"]).await.unwrap().json().await.unwrap();
    let meter = meter["secret"].as_str().unwrap().to_owned();
    let policy = json!({
        "providers": ["openai", "anthropic", "self-*"],
        "models": (0..50).map(|i| json!({ "model": format!("model-{i}-*"), "max_tokens": 100_000 })).collect::<Vec<_>>(),
        "regions": ["eu", "us"],
    });
    let saved = send(reqwest::Method::PUT, format!("/v1/orgs/{org}/llm-policy"), &owner, policy).await.unwrap();
    assert!(saved.status().is_success());

    println!("== {total} requests, {clients} in flight, release server with 2 workers, PostgreSQL on the same 2 cores");
    let (c, b) = (client.clone(), base.clone());
    let health = drive(clients, total, 200, move |_| c.get(format!("{b}/healthz"))).await;
    print("GET /healthz (HTTP layer alone)", &health, "itself", health.rate);
    let (c, b, o, g) = (client.clone(), base.clone(), org.clone(), gateway.clone());
    let check = drive(clients, total, 200, move |i| {
        let body = json!({ "provider": "openai", "model": format!("model-{}-large", i % 60), "region": "eu", "requested_tokens": 4000 });
        c.post(format!("{b}/v1/orgs/{o}/llm-policy/check")).bearer_auth(&g).json(&body)
    })
    .await;
    print("POST …/llm-policy/check", &check, "/healthz", health.rate);

    // The physical limit of a write: bare durable inserts at the same concurrency.
    let floor_db = db.url().to_owned();
    let commits = tokio::task::spawn_blocking(move || {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(&floor_db).unwrap();
        diesel::sql_query("CREATE TABLE commit_floor (id bigserial PRIMARY KEY, at timestamptz)")
            .execute(&mut conn)
            .unwrap();
        let per_thread = 2000;
        let started = Instant::now();
        let threads: Vec<_> = (0..clients.min(16))
            .map(|_| {
                let url = floor_db.clone();
                std::thread::spawn(move || {
                    let mut conn = diesel::PgConnection::establish(&url).unwrap();
                    for _ in 0..per_thread {
                        diesel::sql_query("INSERT INTO commit_floor (at) VALUES (now())").execute(&mut conn).unwrap();
                    }
                })
            })
            .collect();
        let n = threads.len();
        threads.into_iter().for_each(|t| t.join().unwrap());
        (n * per_thread) as f64 / started.elapsed().as_secs_f64()
    })
    .await
    .unwrap();
    let (c, b, o, m) = (client.clone(), base.clone(), org.clone(), meter.clone());
    let usage = drive(clients, total, 201, move |i| {
        let body = json!({ "idempotency_key": format!("bench-{i}"), "amount_micros": 1500, "model": "model-1-large" });
        c.post(format!("{b}/v1/orgs/{o}/usage")).bearer_auth(&m).json(&body)
    })
    .await;
    print("POST …/usage (one org)", &usage, "bare inserts", commits);
    let spend: Value = client
        .get(format!("{base}/v1/orgs/{org}/spend"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spend["spend_micros"].as_i64(), Some(1500 * total as i64), "every event counted once");

    println!("== dashboard of an organization of {members} members");
    let started = Instant::now();
    // Seeded in SQL with the counting trigger off, then counted once, as the migration
    // does for existing data.
    db.execute(&format!(
        "ALTER TABLE memberships DISABLE TRIGGER memberships_count_insert_delete;
         CREATE TEMP TABLE seed AS SELECT i, gen_random_uuid() AS user_id FROM generate_series(1, {members}) i;
         INSERT INTO users (id, email, email_verified, mfa_enrolled, created_at, updated_at)
           SELECT user_id, 'm' || i || '@bench.test', true, i % 3 = 0, now(), now() FROM seed;
         INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at)
           SELECT gen_random_uuid(), (SELECT id FROM organizations LIMIT 1), user_id,
                  CASE WHEN i % 100 = 0 THEN 'admin' ELSE 'member' END, now(), now() FROM seed;
         ALTER TABLE memberships ENABLE TRIGGER memberships_count_insert_delete;
         DELETE FROM org_member_stats;
         INSERT INTO org_member_stats (org_id, role, members, suspended, mfa_enrolled)
           SELECT m.org_id, m.role, count(*), count(*) FILTER (WHERE m.suspended_at IS NOT NULL),
                  count(*) FILTER (WHERE u.mfa_enrolled)
           FROM memberships m JOIN users u ON u.id = m.user_id GROUP BY m.org_id, m.role;
         ANALYZE;"
    ))
    .unwrap();
    println!("seeded in {:.1?}", started.elapsed());
    let mut samples = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let dashboard: Value = client
            .get(format!("{base}/v1/orgs/{org}/dashboard"))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        samples.push(started.elapsed());
        assert_eq!(dashboard["members"]["total"].as_u64(), Some(members as u64 + 1));
    }
    samples.sort();
    let floor_db = db.url().to_owned();
    let scan = tokio::task::spawn_blocking(move || {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(&floor_db).unwrap();
        let started = Instant::now();
        diesel::sql_query("SELECT role, count(*) FROM memberships GROUP BY role").execute(&mut conn).unwrap();
        started.elapsed()
    })
    .await
    .unwrap();
    println!(
        "GET …/dashboard at {members} members: median {:.2?}, worst {:.2?}; one count of the members by role in SQL takes {scan:.1?} (ratio {:.3})",
        samples[samples.len() / 2],
        samples[samples.len() - 1],
        samples[samples.len() / 2].as_secs_f64() / scan.as_secs_f64()
    );
}
