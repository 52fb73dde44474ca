//! `Idempotency-Key`: a retried POST has one effect and gets the first response back, byte
//! for byte; the effect and the kept response commit together.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use infra::sealing::AeadSecretBox;
use infra::PgStore;
use orgd_domain::idempotency::IdempotencyService;
use orgd_domain::time::SystemClock;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::escalation::every_permission;
use crate::helpers::{expect_problem, expect_status, org_uuid, TestApp, ENCRYPTION_KEY};

async fn post_keyed(app: &TestApp, path: &str, token: &str, key: &str, body: &Value) -> Response {
    app.raw()
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("request sent")
}

/// A server, and an organization with its owner's token.
async fn owner_of_acme() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    (app, owner, org)
}

/// Status, the headers a replay repeats, and the body's bytes.
async fn parts(response: Response) -> (StatusCode, Vec<(String, String)>, bool, Vec<u8>) {
    let status = response.status();
    let kept = ["content-type", "location", "etag"];
    let headers = kept
        .iter()
        .filter_map(|name| Some((name.to_string(), response.headers().get(*name)?.to_str().ok()?.to_owned())))
        .collect();
    let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    (status, headers, replayed, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_create_has_one_effect_and_gets_the_first_response_back() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let body = json!({ "name": "Acme" });
    let (status, headers, replayed, first) = parts(post_keyed(&app, "/v1/orgs", &owner, "k-1", &body).await).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(!replayed);
    for _ in 0..3 {
        let again = parts(post_keyed(&app, "/v1/orgs", &owner, "\"k-1\"", &body).await).await;
        assert_eq!(again, (StatusCode::CREATED, headers.clone(), true, first.clone()));
    }
    assert!(headers.iter().any(|(name, _)| name == "location"), "{headers:?}");
    assert_eq!(app.db.count("SELECT count(*) FROM organizations"), 1);
    let org: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(app.audit_actions(org["id"].as_str().unwrap()), ["org.created"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_invite_mints_no_second_secret_and_sends_no_second_email() {
    let (app, owner, org) = owner_of_acme().await;
    let path = format!("/v1/orgs/{org}/invites");
    let body = json!({ "role": "member", "email": "dana@example.com" });
    let first = expect_status(post_keyed(&app, &path, &owner, "invite-dana", &body).await, StatusCode::CREATED).await;
    let replay = post_keyed(&app, &path, &owner, "invite-dana", &body).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay = expect_status(replay, StatusCode::CREATED).await;
    let secret = first["token"].as_str().unwrap();
    assert_eq!(replay["token"], secret, "the retry gets the link it was shown first");
    assert_eq!(app.db.count("SELECT count(*) FROM invites"), 1);
    assert_eq!(app.db.outbox_state().len(), 1, "one email");
    // The kept response holds the link; it is sealed at rest, like every stored secret.
    let in_clear =
        format!("SELECT count(*) FROM idempotency_records WHERE position(convert_to('{secret}', 'UTF8') in body) > 0");
    assert_eq!(app.db.count(&in_clear), 0);
    assert_eq!(app.db.count("SELECT count(*) FROM idempotency_records"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_names_one_request_of_one_caller() {
    let app = TestApp::spawn().await;
    let (owner, mallory) = (app.token("owner"), app.token("mallory"));
    let org = app.create_org(&owner, "Acme").await;
    let keys = format!("/v1/orgs/{org}/api-keys");
    let body = json!({ "name": "deploy", "permissions": ["org:read"] });
    let created = expect_status(post_keyed(&app, &keys, &owner, "k", &body).await, StatusCode::CREATED).await;

    // Another body, another path: refused, nothing done.
    let other = json!({ "name": "deploy-2", "permissions": ["org:read"] });
    expect_problem(
        post_keyed(&app, &keys, &owner, "k", &other).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    let teams = format!("/v1/orgs/{org}/teams");
    expect_problem(
        post_keyed(&app, &teams, &owner, "k", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 1);

    // Someone else with the same key and body is a new request: an outsider is refused and
    // never sees the key shown to the owner.
    let outsider = post_keyed(&app, &keys, &mallory, "k", &body).await;
    assert!(outsider.headers().get("idempotent-replayed").is_none());
    let refused = expect_problem(outsider, StatusCode::NOT_FOUND, "not_found").await;
    assert!(!refused.to_string().contains(created["secret"].as_str().unwrap_or("orgk_")));
    // And so is an API key of the organization, even holding every permission.
    let every = json!({ "name": "all", "permissions": every_permission(&app).await });
    let all = expect_status(app.post(&keys, &owner, every).await, StatusCode::CREATED).await;
    let key_token = all["secret"].as_str().unwrap().to_owned();
    let by_key = post_keyed(&app, &keys, &key_token, "k", &body).await;
    assert!(by_key.headers().get("idempotent-replayed").is_none());
    // Keys are made by people only: the key's own request is refused, not answered with
    // the owner's.
    expect_problem(by_key, StatusCode::FORBIDDEN, "user_required").await;
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_key_gets_no_kept_response() {
    let (app, owner, org) = owner_of_acme().await;
    let keys = format!("/v1/orgs/{org}/api-keys");
    let every = json!({ "name": "all", "permissions": every_permission(&app).await });
    let issued = expect_status(app.post(&keys, &owner, every).await, StatusCode::CREATED).await;
    let key = issued["secret"].as_str().unwrap().to_owned();
    let teams = format!("/v1/orgs/{org}/teams");
    let body = json!({ "name": "Platform" });
    expect_status(post_keyed(&app, &teams, &key, "t", &body).await, StatusCode::CREATED).await;
    let replay = post_keyed(&app, &teams, &key, "t", &body).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let id = issued["id"].as_str().unwrap();
    expect_status(app.delete(&format!("{keys}/{id}"), &owner).await, StatusCode::NO_CONTENT).await;
    let refused = post_keyed(&app, &teams, &key, "t", &body).await;
    assert!(refused.headers().get("idempotent-replayed").is_none());
    expect_problem(refused, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_posts_take_no_key() {
    let (app, owner, org) = owner_of_acme().await;
    let check = format!("/v1/orgs/{org}/llm-policy/check");
    for body in [json!({ "provider": "openai", "model": "gpt-4o" }), json!({ "provider": "acme", "model": "x" })] {
        let answer = post_keyed(&app, &check, &owner, "same", &body).await;
        assert!(answer.headers().get("idempotent-replayed").is_none());
        assert_eq!(answer.status(), StatusCode::OK);
    }
    assert_eq!(app.db.count("SELECT count(*) FROM idempotency_records"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_request_is_not_kept_so_its_retry_runs_again() {
    let (app, owner, org) = owner_of_acme().await;
    let teams = format!("/v1/orgs/{org}/teams");
    let invalid = json!({ "name": "" });
    for _ in 0..2 {
        let refused = post_keyed(&app, &teams, &owner, "team-1", &invalid).await;
        assert!(refused.headers().get("idempotent-replayed").is_none());
        expect_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    // The key is free for the corrected request.
    let fixed = json!({ "name": "Platform" });
    expect_status(post_keyed(&app, &teams, &owner, "team-1", &fixed).await, StatusCode::CREATED).await;
    assert_eq!(app.db.count("SELECT count(*) FROM teams"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_keys_are_refused_before_anything_runs() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    for key in ["", "a b", "\"open", &"k".repeat(256), "ключ"] {
        let response = app
            .raw()
            .post(format!("{}/v1/orgs", app.base))
            .bearer_auth(&owner)
            .header("Idempotency-Key", reqwest::header::HeaderValue::from_bytes(key.as_bytes()).unwrap())
            .json(&json!({ "name": "Acme" }))
            .send()
            .await
            .unwrap();
        expect_problem(response, StatusCode::BAD_REQUEST, "invalid_idempotency_key").await;
    }
    assert_eq!(app.db.count("SELECT count(*) FROM organizations"), 0);
}

/// Holds the organization's audit chain head, which every audited change of the
/// organization needs, so that a request stays in flight until [`Held::release`].
struct Held(diesel::PgConnection);

impl Held {
    fn chain_head(app: &TestApp, org: &str) -> Self {
        let mut conn = app.db.connect();
        conn.batch_execute(&format!(
            "BEGIN; SELECT 1 FROM audit_chain_heads WHERE org_id = '{}' FOR UPDATE",
            org_uuid(org)
        ))
        .unwrap();
        Self(conn)
    }

    fn release(mut self) {
        self.0.batch_execute("COMMIT").unwrap();
    }
}

/// Sends a keyed POST from a task of its own, answering its status and body.
fn in_background(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> tokio::task::JoinHandle<(StatusCode, actix_web::web::Bytes)> {
    let request =
        app.raw().post(format!("{}{path}", app.base)).bearer_auth(token).header("Idempotency-Key", key).json(body);
    tokio::spawn(async move {
        let response = request.send().await.unwrap();
        (response.status(), response.bytes().await.unwrap())
    })
}

/// Waits until a statement of the app waits for a lock.
async fn until_waiting(app: &TestApp) {
    for _ in 0..100 {
        let waiting =
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
        if app.db.count(waiting) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no request is waiting for the held lock");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_while_the_first_is_in_flight_is_refused_then_replayed() {
    let (app, owner, org) = owner_of_acme().await;
    let teams = format!("/v1/orgs/{org}/teams");
    let body = json!({ "name": "Platform" });
    let held = Held::chain_head(&app, &org);
    let first = in_background(&app, &teams, &owner, "t", &body);
    until_waiting(&app).await;
    let retry = post_keyed(&app, &teams, &owner, "t", &body).await;
    assert_eq!(retry.headers()["retry-after"], "1");
    expect_problem(retry, StatusCode::CONFLICT, "idempotency_key_in_flight").await;
    held.release();
    let (status, first_body) = first.await.unwrap();
    assert_eq!(status, StatusCode::CREATED);
    let replay = post_keyed(&app, &teams, &owner, "t", &body).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.bytes().await.unwrap(), first_body);
    assert_eq!(app.db.count("SELECT count(*) FROM teams"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_retries_have_one_effect() {
    let (app, owner, org) = owner_of_acme().await;
    let keys = format!("/v1/orgs/{org}/api-keys");
    let body = json!({ "name": "deploy", "permissions": ["org:read"] });
    let sends = (0..8).map(|_| async { parts(post_keyed(&app, &keys, &owner, "once", &body).await).await });
    let answers = futures::future::join_all(sends).await;
    let created: Vec<_> = answers.iter().filter(|a| a.0 == StatusCode::CREATED).collect();
    assert!(!created.is_empty());
    assert!(answers.iter().all(|a| a.0 == StatusCode::CREATED || a.0 == StatusCode::CONFLICT), "{answers:?}");
    assert!(created.iter().all(|a| a.3 == created[0].3), "every success is the one response");
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_cut_off_before_its_response_is_kept_has_no_effect() {
    let (app, owner, org) = owner_of_acme().await;
    let teams = format!("/v1/orgs/{org}/teams");
    let body = json!({ "name": "Platform" });
    let held = Held::chain_head(&app, &org);
    let first = in_background(&app, &teams, &owner, "t", &body);
    until_waiting(&app).await;
    // The connection the request runs on dies mid-request, as in a crash of the database
    // connection between the effect and the kept response.
    app.db.count(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    held.release();
    assert_eq!(first.await.unwrap().0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.db.count("SELECT count(*) FROM teams"), 0);
    assert_eq!(app.db.count("SELECT count(*) FROM idempotency_records"), 0);
    // Its retry runs it, once.
    for _ in 0..2 {
        let retried = post_keyed(&app, &teams, &owner, "t", &body).await;
        assert_eq!(retried.status(), StatusCode::CREATED);
    }
    assert_eq!(app.db.count("SELECT count(*) FROM teams"), 1);
    assert_eq!(app.audit_actions(&org).iter().filter(|a| *a == "team.created").count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn kept_responses_expire_after_a_day_and_are_swept() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    expect_status(post_keyed(&app, "/v1/orgs", &owner, "k", &json!({ "name": "Acme" })).await, StatusCode::CREATED)
        .await;
    app.db.execute("UPDATE idempotency_records SET created_at = created_at - interval '24 hours 1 second'").unwrap();
    // Expired, the key names a new request.
    let renamed = post_keyed(&app, "/v1/orgs", &owner, "k", &json!({ "name": "Beta" })).await;
    assert!(renamed.headers().get("idempotent-replayed").is_none());
    expect_status(renamed, StatusCode::CREATED).await;
    for i in 0..5 {
        post_keyed(&app, "/v1/orgs", &owner, &format!("old-{i}"), &json!({ "name": format!("Old {i}") })).await;
    }
    app.db
        .execute("UPDATE idempotency_records SET created_at = created_at - interval '2 days' WHERE key LIKE 'old-%'")
        .unwrap();
    let secrets = std::sync::Arc::new(AeadSecretBox::new(&ENCRYPTION_KEY, None));
    let store = PgStore::new(app.db.url(), 2, Duration::from_secs(5));
    let sweeper = IdempotencyService::new(store, std::sync::Arc::new(SystemClock), secrets);
    let swept = tokio::task::spawn_blocking(move || sweeper.sweep(2)).await.unwrap().unwrap();
    assert_eq!(swept, 5);
    assert_eq!(app.db.count("SELECT count(*) FROM idempotency_records"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn scim_creates_are_idempotent_too() {
    let (app, owner, org) = owner_of_acme().await;
    let enabled = expect_status(
        app.request(
            reqwest::Method::PUT,
            &format!("/v1/orgs/{org}/scim"),
            Some(&owner),
            Some(json!({ "enabled": true })),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let token = enabled["token"].as_str().unwrap().to_owned();
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "dana@acme.test",
        "emails": [{ "value": "dana@acme.test", "primary": true }],
    });
    let first = parts(post_keyed(&app, "/scim/v2/Users", &token, "okta-1", &user).await).await;
    assert_eq!(first.0, StatusCode::CREATED);
    let again = parts(post_keyed(&app, "/scim/v2/Users", &token, "okta-1", &user).await).await;
    assert_eq!((again.0, again.2, &again.3), (StatusCode::CREATED, true, &first.3));
    let other = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "eve@acme.test" });
    let reused = post_keyed(&app, "/scim/v2/Users", &token, "okta-1", &other).await;
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = reused.json().await.unwrap();
    assert_eq!(error["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{error}");
    assert_eq!(app.db.count("SELECT count(*) FROM memberships"), 2);
}
