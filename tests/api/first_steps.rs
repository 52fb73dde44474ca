//! What a newcomer meets first: request bodies with missing or unknown fields, `me` before
//! any organization exists, database settings that point at the wrong place, and which
//! tokens may claim platform-staff rights.

use std::time::Duration;

use api::auth::DevToken;
use infra::SetupError;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect_problem, expect_status, free_port, jwt_config, TestApp};

async fn post_raw(app: &TestApp, token: &str, body: &'static str) -> reqwest::Response {
    app.raw()
        .post(format!("{}/v1/orgs", app.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_field_is_an_invalid_field_like_any_other() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let problem =
        expect_problem(post_raw(&app, &ada, "{}").await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "name");
    assert_eq!(problem["errors"][0]["code"], "required");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1);

    let unknown = post_raw(&app, &ada, r#"{"name": "Acme", "colour": "red"}"#).await;
    let problem = expect_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        (&problem["errors"][0]["field"], &problem["errors"][0]["code"]),
        (&json!("colour"), &json!("unknown_field"))
    );
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("`name`"), "lists the known fields: {problem}");

    // What cannot be read as JSON at all stays a 400.
    for unreadable in ["", "{", "not json", "[1, 2"] {
        expect_problem(post_raw(&app, &ada, unreadable).await, StatusCode::BAD_REQUEST, "malformed_request").await;
    }
    let mine = expect_status(app.get("/v1/orgs", &ada).await, StatusCode::OK).await;
    assert_eq!(mine["data"], json!([]), "no refused body created anything");
}

#[tokio::test(flavor = "multi_thread")]
async fn me_without_an_organization_says_how_to_create_one() {
    let app = TestApp::spawn().await;
    let newcomer = app.token("newcomer");
    let problem = expect_problem(app.get("/v1/orgs/me", &newcomer).await, StatusCode::NOT_FOUND, "not_found").await;
    assert!(problem["detail"].as_str().unwrap().contains("POST /v1/orgs"), "{problem}");
    expect_problem(app.get("/v1/orgs/me/members", &newcomer).await, StatusCode::NOT_FOUND, "not_found").await;

    app.create_org(&newcomer, "Newco").await;
    expect_status(app.get("/v1/orgs/me", &newcomer).await, StatusCode::OK).await;
}

fn staff_token(app: &TestApp) -> String {
    app.token_with(DevToken {
        subject: "support-1".into(),
        email: Some("support@platform.test".into()),
        name: None,
        mfa: true,
        staff: Some(orgd_domain::platform::StaffRole::Read),
        ttl: Duration::from_secs(600),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_staff_claim_is_ignored_unless_tokens_are_bound_to_this_service() {
    // Only a development key, with no issuer or audience to tell this service's tokens from
    // another application's: the token is accepted, its staff claim is not.
    let mut unbound = jwt_config();
    unbound.issuer = None;
    unbound.audience = None;
    let app = TestApp::spawn_with_jwt(unbound).await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    let staff = staff_token(&app);
    expect_status(app.get("/v1/orgs", &staff).await, StatusCode::OK).await;
    expect_problem(app.get(&format!("/v1/orgs/{org}"), &staff).await, StatusCode::NOT_FOUND, "not_found").await;

    let bound = TestApp::spawn().await;
    let ada = bound.token("ada");
    let org = bound.create_org(&ada, "Acme").await;
    expect_status(bound.get(&format!("/v1/orgs/{org}"), &staff_token(&bound)).await, StatusCode::OK).await;
}

/// The PostgreSQL server the tests use, as `postgres://user@host:port`.
fn server() -> url::Url {
    let raw = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut url = url::Url::parse(&raw).unwrap();
    url.set_path("");
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn database_problems_are_told_apart() {
    let mut no_role = server();
    no_role.set_username("orgd_no_such_role").unwrap();
    no_role.set_password(None).unwrap();
    no_role.set_path("/orgd_first_steps");
    let err = tokio::task::spawn_blocking(move || infra::setup::prepare_database(no_role.as_str())).await.unwrap();
    let message = err.as_ref().unwrap_err().to_string();
    assert!(matches!(err, Err(SetupError::MissingRole { .. })), "{message}");
    assert!(message.contains("orgd_no_such_role") && !message.contains("Start PostgreSQL"), "{message}");

    let mut nobody_listens = server();
    nobody_listens.set_host(Some("127.0.0.1")).unwrap();
    nobody_listens.set_port(Some(free_port())).unwrap();
    nobody_listens.set_path("/orgd_first_steps");
    let err =
        tokio::task::spawn_blocking(move || infra::setup::prepare_database(nobody_listens.as_str())).await.unwrap();
    assert!(matches!(err, Err(SetupError::Unreachable { .. })), "{err:?}");
}
