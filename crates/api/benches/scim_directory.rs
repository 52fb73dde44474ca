//! SCIM at directory scale, through the real server over HTTP on loopback:
//!
//! 1. provisioning `SCIM_BENCH_PROVISION` users (10,000) one by one, each as Okta does it:
//!    a `userName eq` probe, then `POST /Users`;
//! 2. with the directory grown to `SCIM_BENCH_USERS` members (100,000; the rest seeded in
//!    SQL), reading it all by `startIndex` pages of 100, as identity providers do, and
//!    a jump to an arbitrary `startIndex`, and the `userName eq` probe;
//!
//! Each figure is printed with its ratio to the physical limit measured on the same
//! machine: for a write, the rate of one durable commit per round trip (the floor of any
//! request that writes); for a read, a bare indexed page of the same rows in SQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::env_count;
use serde_json::{json, Value};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

struct Bench {
    base: String,
    client: reqwest::Client,
    scim: String,
}

impl Bench {
    async fn get(&self, path: &str) -> Value {
        let response = self.client.get(format!("{}{path}", self.base)).bearer_auth(&self.scim).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap()
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let provision = env_count("SCIM_BENCH_PROVISION", 10_000);
    let directory = env_count("SCIM_BENCH_USERS", 100_000).max(provision);
    let server = common::start().await;
    let (db, base) = (&server.db, server.base.clone());
    let client = reqwest::Client::new();
    let owner = server.token("bench-owner", false);
    let org: Value = client
        .post(format!("{base}/v1/orgs"))
        .bearer_auth(&owner)
        .json(&json!({"name": "Bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let org_id = org["id"].as_str().unwrap().to_owned();
    let config_write: Value = client
        .put(format!("{base}/v1/orgs/{org_id}/scim"))
        .bearer_auth(&owner)
        .header("If-Match", "*")
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bench = Bench { base: format!("{base}/scim/v2"), client, scim: config_write["token"].as_str().unwrap().into() };

    // The physical limit of a write: one durable commit per round trip, on this machine.
    let floor_db = db.url().to_owned();
    let commit_rate = tokio::task::spawn_blocking(move || {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(&floor_db).unwrap();
        diesel::sql_query("CREATE TABLE commit_floor (id bigserial PRIMARY KEY, at timestamptz)")
            .execute(&mut conn)
            .unwrap();
        let started = Instant::now();
        for _ in 0..2000 {
            diesel::sql_query("INSERT INTO commit_floor (at) VALUES (now())").execute(&mut conn).unwrap();
        }
        2000.0 / started.elapsed().as_secs_f64()
    })
    .await
    .unwrap();

    println!("== provisioning {provision} users one by one (probe + POST /Users)");
    let started = Instant::now();
    for i in 0..provision {
        let user_name = format!("user{i:06}@bench.test");
        let probe = bench.get(&format!("/Users?filter=userName%20eq%20%22{user_name}%22")).await;
        assert_eq!(probe["totalResults"], 0);
        let response = bench
            .client
            .post(format!("{}/Users", bench.base))
            .bearer_auth(&bench.scim)
            .json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "name": {"givenName": "Bench", "familyName": format!("User {i}")},
                "emails": [{"value": user_name, "type": "work", "primary": true}],
                "active": true,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let elapsed = started.elapsed();
    let rate = provision as f64 / elapsed.as_secs_f64();
    println!(
        "provisioned {provision} in {elapsed:.1?}: {rate:.0} users/s; durable commits on this machine: {commit_rate:.0}/s \
         (ratio {:.2} of one commit per user)",
        rate / commit_rate
    );

    let seeded = directory - provision;
    if seeded > 0 {
        let started = Instant::now();
        db.execute(&format!(
            "CREATE TEMP TABLE seed AS SELECT i, gen_random_uuid() AS user_id, gen_random_uuid() AS member_id
               FROM generate_series(1, {seeded}) i;
             INSERT INTO users (id, email, email_verified, created_at, updated_at)
               SELECT user_id, 'seed' || i || '@bench.test', false, now(), now() FROM seed;
             INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at)
               SELECT member_id, (SELECT id FROM organizations LIMIT 1), user_id, 'member', now(), now() FROM seed;
             INSERT INTO scim_users (member_id, org_id, user_name, attributes, created_at, updated_at)
               SELECT member_id, (SELECT id FROM organizations LIMIT 1), 'seed' || i || '@bench.test',
                      jsonb_build_object('userName', 'seed' || i || '@bench.test', 'emails',
                        jsonb_build_array(jsonb_build_object('value', 'seed' || i || '@bench.test', 'primary', true))),
                      now(), now() FROM seed;
             ANALYZE;"
        ))
        .unwrap();
        println!("seeded {seeded} more members in SQL in {:.1?}", started.elapsed());
    }
    let total = bench.get("/Users?count=0").await["totalResults"].as_u64().unwrap();
    println!("== a directory of {total} members");

    let started = Instant::now();
    let mut page_times = Vec::new();
    let mut seen = 0u64;
    let mut start_index = 1u64;
    while seen < total {
        let page_start = Instant::now();
        let page = bench.get(&format!("/Users?startIndex={start_index}&count=100")).await;
        page_times.push(page_start.elapsed());
        let n = page["Resources"].as_array().map_or(0, Vec::len) as u64;
        assert!(n > 0, "page at {start_index} is empty");
        seen += n;
        start_index += n;
    }
    let whole = started.elapsed();
    let floor_db = db.url().to_owned();
    let raw_page = tokio::task::spawn_blocking(move || {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(&floor_db).unwrap();
        // The same rows by keyset from the middle of the directory, in one statement.
        #[derive(diesel::QueryableByName)]
        struct Middle {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        let middle: Middle = diesel::sql_query("SELECT id FROM memberships ORDER BY id OFFSET 50000 LIMIT 1")
            .get_result(&mut conn)
            .unwrap();
        let page = format!(
            "SELECT m.*, u.email, u.name, s.* FROM memberships m JOIN users u ON u.id = m.user_id \
             LEFT JOIN scim_users s ON s.member_id = m.id WHERE m.org_id = (SELECT id FROM organizations LIMIT 1) \
             AND m.id > '{}' ORDER BY m.id LIMIT 100",
            middle.id
        );
        let samples: Vec<Duration> = (0..50)
            .map(|_| {
                let started = Instant::now();
                diesel::sql_query(&page).execute(&mut conn).unwrap();
                started.elapsed()
            })
            .collect();
        median(samples)
    })
    .await
    .unwrap();
    let page = median(page_times.clone());
    let last = *page_times.last().unwrap();
    println!(
        "read all {seen} by startIndex pages of 100 in {whole:.1?}: median page {page:.1?}, last page {last:.1?}; \
         the bare SQL page takes {raw_page:.2?} (ratio {:.1} for the HTTP page)",
        page.as_secs_f64() / raw_page.as_secs_f64()
    );
    let mut jumps = Vec::new();
    for i in 0..20u64 {
        let at = 2 + (i * 4_999) % total.max(2);
        let started = Instant::now();
        bench.get(&format!("/Users?startIndex={at}&count=100")).await;
        jumps.push(started.elapsed());
    }
    println!("a jump to an arbitrary startIndex (offset): median {:.1?}", median(jumps));
    let mut probes = Vec::new();
    for i in 0..50 {
        let started = Instant::now();
        let found = bench
            .get(&format!("/Users?filter=userName%20eq%20%22user{:06}%40bench.test%22", (i * 7) % provision))
            .await;
        probes.push(started.elapsed());
        assert_eq!(found["totalResults"], 1);
    }
    println!("userName eq probe at {total} members: median {:.1?}", median(probes));
}
