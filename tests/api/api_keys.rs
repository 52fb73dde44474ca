use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect_problem, expect_status, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn a_key_is_shown_once_and_acts_as_its_org() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let keys = format!("/v1/orgs/{org}/api-keys");

    let created = expect_status(
        app.post(
            &keys,
            &owner,
            json!({ "name": "deployer", "permissions": ["org:read", "org:update", "members:read"] }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("orgk_") && secret.len() == 43, "{secret}");
    assert!(created["id"].as_str().unwrap().starts_with("key_"));
    assert!(created["hint"].as_str().unwrap().starts_with("orgk_"));

    let listed = expect_status(app.get(&keys, &owner).await, StatusCode::OK).await;
    assert!(!listed.to_string().contains(&secret[5..]), "the secret is never listed");
    assert_eq!(listed["data"][0]["last_used_at"], json!(null));

    let me = expect_status(app.get("/v1/orgs/me", &secret).await, StatusCode::OK).await;
    assert_eq!(me["id"], org);
    expect_status(app.patch(&format!("/v1/orgs/{org}"), &secret, json!({ "timezone": "UTC" })).await, StatusCode::OK)
        .await;
    let updated = app.audit(&org).into_iter().find(|e| e.action == "org.updated").unwrap();
    assert_eq!(updated.actor_type, "api_key");
    assert_eq!(updated.actor_id, created["id"].as_str().unwrap());

    expect_problem(app.delete(&format!("/v1/orgs/{org}"), &secret).await, StatusCode::FORBIDDEN, "forbidden").await;
    expect_problem(app.get("/v1/orgs", &secret).await, StatusCode::FORBIDDEN, "user_required").await;
    expect_problem(
        app.post("/v1/orgs", &secret, json!({ "name": "Spawned" })).await,
        StatusCode::FORBIDDEN,
        "user_required",
    )
    .await;

    let listed = expect_status(app.get(&keys, &owner).await, StatusCode::OK).await;
    assert!(listed["data"][0]["last_used_at"].is_string(), "use is recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_never_reaches_another_org() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let other = app.create_org(&owner, "Globex").await;
    let created = expect_status(
        app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, json!({ "name": "k", "permissions": ["org:read"] }))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = created["secret"].as_str().unwrap();
    expect_problem(app.get(&format!("/v1/orgs/{other}"), secret).await, StatusCode::NOT_FOUND, "not_found").await;
    expect_problem(app.get(&format!("/v1/orgs/{other}/members"), secret).await, StatusCode::NOT_FOUND, "not_found")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_cannot_exceed_their_creator_nor_mint_keys() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    app.seed_members(&org, "adm", 1, "admin");
    let admin = app.token("adm-1");
    let keys = format!("/v1/orgs/{org}/api-keys");
    let problem = expect_problem(
        app.post(&keys, &admin, json!({ "name": "k", "permissions": ["members:read", "org:delete"] })).await,
        StatusCode::FORBIDDEN,
        "escalation_denied",
    )
    .await;
    assert_eq!(problem["missing_permissions"], json!(["org:delete"]));

    let narrow = expect_status(
        app.post(&keys, &owner, json!({ "name": "manager", "permissions": ["api_keys:manage", "org:read"] })).await,
        StatusCode::CREATED,
    )
    .await;
    let key = narrow["secret"].as_str().unwrap();
    expect_problem(
        app.post(&keys, key, json!({ "name": "child", "permissions": ["org:read"] })).await,
        StatusCode::FORBIDDEN,
        "user_required",
    )
    .await;
    expect_status(app.get(&keys, key).await, StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_expired_and_forged_keys_are_refused() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let keys = format!("/v1/orgs/{org}/api-keys");
    let created = expect_status(
        app.post(&keys, &owner, json!({ "name": "k", "permissions": ["org:read"] })).await,
        StatusCode::CREATED,
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let key_path = format!("{keys}/{}", created["id"].as_str().unwrap());

    expect_status(app.delete(&key_path, &owner).await, StatusCode::NO_CONTENT).await;
    expect_status(app.delete(&key_path, &owner).await, StatusCode::NO_CONTENT).await;
    let response = app.get("/v1/orgs/me", &secret).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    expect_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_eq!(
        app.audit_actions(&org),
        vec!["org.created", "api_key.created", "api_key.revoked"],
        "a repeated revoke writes nothing"
    );

    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let expiring = expect_status(
        app.post(&keys, &owner, json!({ "name": "short", "permissions": ["org:read"], "expires_at": soon })).await,
        StatusCode::CREATED,
    )
    .await;
    let expiring = expiring["secret"].as_str().unwrap();
    expect_status(app.get("/v1/orgs/me", expiring).await, StatusCode::OK).await;
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    expect_problem(app.get("/v1/orgs/me", expiring).await, StatusCode::UNAUTHORIZED, "token_expired").await;

    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let problem = expect_problem(
        app.post(&keys, &owner, json!({ "name": "old", "permissions": ["org:read"], "expires_at": past })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "expires_at");

    let mut forged = secret.clone().into_bytes();
    forged[12] = if forged[12] == b'a' { b'b' } else { b'a' };
    expect_problem(
        app.get("/v1/orgs/me", &String::from_utf8(forged).unwrap()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    expect_problem(
        app.get("/v1/orgs/me", "orgk_0000000000000000000000000000000000000000").await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn key_requests_are_validated() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let keys = format!("/v1/orgs/{org}/api-keys");
    let problem = expect_problem(
        app.post(&keys, &owner, json!({ "name": " ", "permissions": [] })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"permissions"), "{fields:?}");
    let problem = expect_problem(
        app.post(&keys, &owner, json!({ "name": "k", "permissions": ["nope:nope"] })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "permissions[0]");
    expect_problem(
        app.delete(&format!("{keys}/key_0192f0c1a4e37b6c9d5e8f10a2b3c4d5"), &owner).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_loses_what_its_creator_loses() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    app.seed_members(&org, "adm", 1, "admin");
    let admin = app.token("adm-1");
    let created = expect_status(
        app.post(
            &format!("/v1/orgs/{org}/api-keys"),
            &admin,
            json!({ "name": "k", "permissions": ["org:read", "org:update"] }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let key = created["secret"].as_str().unwrap();
    expect_status(app.patch(&format!("/v1/orgs/{org}"), key, json!({ "timezone": "UTC" })).await, StatusCode::OK).await;

    let members =
        expect_status(app.get(&format!("/v1/orgs/{org}/members?q=adm-1"), &owner).await, StatusCode::OK).await;
    let admin_member = members["data"][0]["id"].as_str().unwrap().to_owned();
    expect_status(
        app.patch(&format!("/v1/orgs/{org}/members/{admin_member}"), &owner, json!({ "role": "member" })).await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.patch(&format!("/v1/orgs/{org}"), key, json!({ "timezone": "Asia/Tokyo" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_status(app.get(&format!("/v1/orgs/{org}"), key).await, StatusCode::OK).await;

    expect_status(app.delete(&format!("/v1/orgs/{org}/members/{admin_member}"), &owner).await, StatusCode::NO_CONTENT)
        .await;
    expect_problem(app.get(&format!("/v1/orgs/{org}"), key).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
}
