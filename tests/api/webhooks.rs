//! Webhooks end to end: a real receiver on loopback verifies every delivery with the
//! `standardwebhooks` Python package, goes down and comes back, and gets everything, in
//! order, once per `webhook-id` (a retry repeats the id).

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::escalation::every_permission;
use crate::helpers::{expect_problem, expect_status, free_port, TestApp};

/// The receiver process; stops when dropped.
struct Receiver {
    dir: PathBuf,
    child: std::process::Child,
}

impl Receiver {
    fn start(port: u16, dir: &PathBuf, secrets: &[&str]) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/webhook_receiver.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir)
            .args(secrets)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the webhook receiver (make test-deps installs standardwebhooks)");
        let mut ready = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
        assert_eq!(ready.trim(), "ready", "the webhook receiver did not start");
        Self { dir: dir.clone(), child }
    }

    fn received(dir: &PathBuf, prefix: &str) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|p: &PathBuf| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.ends_with(".json") && name.starts_with(prefix)
            })
            .collect();
        files.sort();
        files.iter().map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()).collect()
    }

    /// The verified deliveries, in the order they arrived.
    fn verified(&self) -> Vec<Value> {
        Self::received(&self.dir, "0")
    }

    fn rejected(&self) -> Vec<Value> {
        Self::received(&self.dir, "rejected")
    }

    async fn wait_for(&self, distinct: usize, seconds: u64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let got = self.verified();
            let ids: BTreeSet<String> = got.iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
            if ids.len() >= distinct || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!("orgd-webhooks-{}", uuid::Uuid::new_v4()))
}

fn team_name(delivery: &Value) -> String {
    let body: Value = serde_json::from_str(delivery["body"].as_str().unwrap()).unwrap();
    body["data"]["changes"]["name"]["to"].as_str().unwrap_or_default().to_owned()
}

async fn create_webhook(app: &TestApp, org: &str, owner: &str, url: &str, types: &[&str]) -> Value {
    let body = json!({ "url": url, "event_types": types });
    expect_status(app.post(&format!("/v1/orgs/{org}/webhooks"), owner, body).await, StatusCode::CREATED).await
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_are_verified_independently_and_survive_a_receiver_outage_in_order() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hooks/orgd");
    let webhook = create_webhook(&app, &org, &owner, &url, &["team.*"]).await;
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert!(webhook.get("secret").is_some() && webhook["enabled"] == true);

    // The receiver is down while the first changes happen.
    let teams = format!("/v1/orgs/{org}/teams");
    for i in 1..=5 {
        expect_status(app.post(&teams, &owner, json!({ "name": format!("Team {i}") })).await, StatusCode::CREATED)
            .await;
    }
    app.post(
        &format!("/v1/orgs/{org}/roles"),
        &owner,
        json!({ "key": "viewer", "name": "Viewer", "permissions": ["org:read"] }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dir = scratch();
    let receiver = Receiver::start(port, &dir, &[&secret]);
    for i in 6..=10 {
        expect_status(app.post(&teams, &owner, json!({ "name": format!("Team {i}") })).await, StatusCode::CREATED)
            .await;
    }
    let got = receiver.wait_for(10, 60).await;
    assert!(receiver.rejected().is_empty(), "a delivery failed verification: {:?}", receiver.rejected());
    let ids: BTreeSet<String> = got.iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 10, "{got:?}");
    // In order, each event once (a repeat, as at-least-once allows, carries the same id).
    let mut names: Vec<String> = got.iter().map(team_name).collect();
    names.dedup();
    assert_eq!(names, (1..=10).map(|i| format!("Team {i}")).collect::<Vec<_>>());
    // The ids are the feed's, and only the subscribed types came.
    let feed =
        expect_status(app.get(&format!("/v1/orgs/{org}/events?types=team.*"), &owner).await, StatusCode::OK).await;
    let feed_ids: BTreeSet<String> =
        feed["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, feed_ids);

    // The deliveries show the failed attempts and the answer that ended them.
    let id = webhook["id"].as_str().unwrap();
    let deliveries = format!("/v1/orgs/{org}/webhooks/{id}/deliveries?limit=100");
    let listed = expect_status(app.get(&deliveries, &owner).await, StatusCode::OK).await;
    let listed = listed["data"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 10);
    assert!(listed.iter().all(|d| d["status"] == "delivered"), "{listed:?}");
    let first = listed.last().unwrap();
    let attempts = first["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 2 && attempts[0]["status"].is_null(), "{first}");
    assert_eq!(attempts.last().unwrap()["status"], 204);

    // Re-sending one repeats its id.
    let again = format!("/v1/orgs/{org}/webhooks/{id}/deliveries/{}/redeliver", first["id"].as_str().unwrap());
    expect_status(app.post(&again, &owner, json!({})).await, StatusCode::OK).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.verified().len() < got.len() + 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let last = receiver.verified().last().cloned().unwrap();
    assert_eq!(last["id"], first["event_id"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_secret_verifies_beside_the_old_one_during_the_overlap() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let port = free_port();
    let webhook = create_webhook(&app, &org, &owner, &format!("http://127.0.0.1:{port}/"), &["team.created"]).await;
    let old = webhook["secret"].as_str().unwrap().to_owned();
    let id = webhook["id"].as_str().unwrap();
    let rotate = format!("/v1/orgs/{org}/webhooks/{id}/rotate-secret");
    let rotated = expect_status(app.post(&rotate, &owner, json!({ "overlap_hours": 24 })).await, StatusCode::OK).await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert!(rotated["previous_secret_expires_at"].is_string());
    // A receiver that knows only the old secret, and one that knows only the new one.
    let (old_dir, new_dir) = (scratch(), scratch());
    {
        let receiver = Receiver::start(port, &old_dir, &[&old]);
        app.post(&format!("/v1/orgs/{org}/teams"), &owner, json!({ "name": "One" })).await;
        assert_eq!(receiver.wait_for(1, 30).await.len(), 1);
    }
    let receiver = Receiver::start(port, &new_dir, &[&new]);
    app.post(&format!("/v1/orgs/{org}/teams"), &owner, json!({ "name": "Two" })).await;
    assert_eq!(receiver.wait_for(1, 30).await.len(), 1);
    assert!(receiver.rejected().is_empty());
    let _ = (std::fs::remove_dir_all(&old_dir), std::fs::remove_dir_all(&new_dir));
}

/// `orgd reseal` after an encryption key rotation moves both signing secrets of a webhook to
/// the new key, so the previous key can be retired.
#[tokio::test(flavor = "multi_thread")]
async fn resealing_moves_signing_secrets_to_the_new_encryption_key() {
    use infra::sealing::{key_id, AeadSecretBox};
    const NEW_KEY: [u8; 32] = [0x7a; 32];
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let webhook = create_webhook(&app, &org, &owner, "http://127.0.0.1:9/", &["team.created"]).await;
    let id = webhook["id"].as_str().unwrap();
    let rotate = format!("/v1/orgs/{org}/webhooks/{id}/rotate-secret");
    expect_status(app.post(&rotate, &owner, json!({ "overlap_hours": 24 })).await, StatusCode::OK).await;
    let under = |key: &[u8; 32]| {
        let id = key_id(key);
        app.db.count(&format!(
            "SELECT count(*) FROM webhooks WHERE secret_key_id = '{id}' AND previous_secret_key_id = '{id}'"
        ))
    };
    assert_eq!(under(&crate::helpers::ENCRYPTION_KEY), 1);

    let store = infra::PgStore::new(app.db.url(), 2, Duration::from_secs(5));
    let rotated = AeadSecretBox::new(&NEW_KEY, Some(&crate::helpers::ENCRYPTION_KEY));
    let reseal = move || {
        let first = orgd_domain::webhooks::reseal_webhook_secrets(&store, &rotated, 100);
        (first, orgd_domain::webhooks::reseal_webhook_secrets(&store, &rotated, 100))
    };
    let (first, second) = tokio::task::spawn_blocking(reseal).await.unwrap();
    assert_eq!((first, second), (Ok(2), Ok(0)));
    assert_eq!(under(&NEW_KEY), 1);
    let version = app.db.count("SELECT version FROM webhooks");
    assert_eq!(version, 2, "created, then rotated: re-sealing is no new version");
}

#[tokio::test(flavor = "multi_thread")]
async fn internal_destinations_are_refused_unless_the_operator_allows_them() {
    let app = TestApp::spawn_with(|config| config.webhooks.allow_private = false).await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    for url in [
        "https://127.0.0.1/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/x",
        "https://10.0.0.7/x",
        "https://localhost/x",
        "http://93.184.216.34/x",
    ] {
        let refused = app.post(&format!("/v1/orgs/{org}/webhooks"), &owner, json!({ "url": url })).await;
        let body = expect_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "url", "{url}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_are_the_organization_s_and_for_their_managers_only() {
    let app = TestApp::spawn().await;
    let (owner, other) = (app.token("owner"), app.token("other"));
    let org = app.create_org(&owner, "Acme").await;
    let elsewhere = app.create_org(&other, "Elsewhere").await;
    app.seed_members(&org, "plain", 1, "member");
    let webhook = create_webhook(&app, &org, &owner, "http://127.0.0.1:9/x", &[]).await;
    let id = webhook["id"].as_str().unwrap();
    let path = format!("/v1/orgs/{org}/webhooks/{id}");
    // An outsider, and another organization's owner naming it under their own organization.
    expect_problem(app.get(&path, &other).await, StatusCode::NOT_FOUND, "not_found").await;
    let theirs = format!("/v1/orgs/{elsewhere}/webhooks/{id}");
    expect_problem(app.get(&theirs, &other).await, StatusCode::NOT_FOUND, "not_found").await;
    expect_problem(app.delete(&theirs, &other).await, StatusCode::NOT_FOUND, "not_found").await;
    // A member without the permission.
    let plain = app.token("plain-1");
    expect_problem(app.get(&path, &plain).await, StatusCode::FORBIDDEN, "forbidden").await;
    expect_problem(
        app.post(&format!("/v1/orgs/{org}/webhooks"), &plain, json!({ "url": "http://127.0.0.1:9/y" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // An API key holding every permission manages them; the secret never shows again.
    let every = json!({ "name": "all", "permissions": every_permission(&app).await });
    let key =
        expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, every).await, StatusCode::CREATED).await;
    let key = key["secret"].as_str().unwrap().to_owned();
    let read = expect_status(app.get(&path, &key).await, StatusCode::OK).await;
    assert!(read.get("secret").is_none() && !read.to_string().contains("whsec_"));
    let listed = expect_status(app.get(&format!("/v1/orgs/{org}/webhooks"), &key).await, StatusCode::OK).await;
    assert!(!listed.to_string().contains("whsec_"));
    let off = app.patch(&path, &key, json!({ "enabled": false, "event_types": ["team.*"] })).await;
    assert_eq!(expect_status(off, StatusCode::OK).await["enabled"], false);
    expect_status(app.delete(&path, &owner).await, StatusCode::NO_CONTENT).await;
    expect_problem(app.get(&path, &owner).await, StatusCode::NOT_FOUND, "not_found").await;
    let actions = app.audit_actions(&org);
    for action in ["webhook.created", "webhook.updated", "webhook.deleted"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
}

/// `make bench-webhooks`: changes committed one after another as fast as one client makes
/// them, each delivered to a receiver on loopback; prints the delivery rate and the lag
/// from commit to receipt.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, run by make bench-webhooks"]
async fn delivery_throughput_and_lag() {
    const CHANGES: usize = 500;
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let port = free_port();
    let webhook = create_webhook(&app, &org, &owner, &format!("http://127.0.0.1:{port}/"), &["team.created"]).await;
    let dir = scratch();
    let receiver = Receiver::start(port, &dir, &[webhook["secret"].as_str().unwrap()]);
    let teams = format!("/v1/orgs/{org}/teams");
    let mut committed = std::collections::BTreeMap::new();
    let started = Instant::now();
    for i in 0..CHANGES {
        let name = format!("Team {i:04}");
        expect_status(app.post(&teams, &owner, json!({ "name": name })).await, StatusCode::CREATED).await;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        committed.insert(name, now);
    }
    let writing = started.elapsed();
    let got = receiver.wait_for(CHANGES, 300).await;
    let mut lags: Vec<f64> =
        got.iter().map(|d| d["received_at"].as_f64().unwrap() - committed[&team_name(d)]).collect();
    lags.sort_by(f64::total_cmp);
    let span = got.last().unwrap()["received_at"].as_f64().unwrap() - got[0]["received_at"].as_f64().unwrap();
    let at = |q: f64| lags[((lags.len() - 1) as f64 * q) as usize] * 1000.0;
    println!(
        "webhooks: {CHANGES} changes committed in {:.1} s ({:.0}/s); {} deliveries verified in {span:.1} s ({:.0}/s); \
         lag commit → receipt p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        writing.as_secs_f64(),
        CHANGES as f64 / writing.as_secs_f64(),
        got.len(),
        got.len() as f64 / span.max(1e-9),
        at(0.5),
        at(0.99),
        at(1.0),
    );
    assert_eq!(got.len(), CHANGES);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_deliver_each_event_once_between_them() {
    let first = TestApp::spawn().await;
    let url = first.db.url().to_owned();
    let second = TestApp::spawn_with(|c| c.database_url = secrecy::SecretString::from(url)).await;
    let owner = first.token("owner");
    let org = first.create_org(&owner, "Acme").await;
    let port = free_port();
    let webhook = create_webhook(&first, &org, &owner, &format!("http://127.0.0.1:{port}/"), &["team.created"]).await;
    let dir = scratch();
    let receiver = Receiver::start(port, &dir, &[webhook["secret"].as_str().unwrap()]);
    let teams = format!("/v1/orgs/{org}/teams");
    for i in 0..30 {
        let app = if i % 2 == 0 { &first } else { &second };
        expect_status(app.post(&teams, &owner, json!({ "name": format!("Team {i:02}") })).await, StatusCode::CREATED)
            .await;
    }
    let got = receiver.wait_for(30, 60).await;
    // Both dispatchers ran the whole time; a lease keeps a delivery with one of them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_after = receiver.verified();
    assert_eq!(got.len(), 30);
    assert_eq!(got_after.len(), 30, "a delivery was sent twice");
    let names: Vec<String> = got_after.iter().map(team_name).collect();
    assert_eq!(names, (0..30).map(|i| format!("Team {i:02}")).collect::<Vec<_>>(), "in order");
    let _ = std::fs::remove_dir_all(&dir);
}
