//! SCIM provisioning settings over HTTP: the token shown once, rotated and revoked, owners
//! only, people only, and plan gating.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};
use crate::sso::put;

#[tokio::test(flavor = "multi_thread")]
async fn the_token_is_shown_once_rotated_and_revoked_with_etags() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Provisioned").await;
    let path = format!("/v1/orgs/{org}/scim");

    let unset = expect_status(app.get(&path, &owner).await, StatusCode::OK).await;
    assert_eq!(
        unset,
        json!({ "enabled": false, "has_token": false, "token_hint": null, "token_created_at": null, "group_roles": [], "version": 0, "updated_at": null })
    );

    let enabled = put(&app, &path, &owner, json!({ "enabled": true }), Some("\"0\"")).await;
    assert_eq!(enabled.headers()["etag"], "\"1\"");
    assert_eq!(enabled.headers()["cache-control"], "no-store");
    let enabled = expect_status(enabled, StatusCode::OK).await;
    let first = enabled["token"].as_str().unwrap().to_owned();
    assert!(first.starts_with("orgs_") && first.len() == 5 + 32 + 6, "{first}");
    let hint = enabled["token_hint"].as_str().unwrap();
    assert!(hint.starts_with(&first[..9]) && hint.ends_with(&first[first.len() - 4..]), "{hint}");
    let created: DateTime<Utc> = enabled["token_created_at"].as_str().unwrap().parse().unwrap();
    assert!((Utc::now() - created).num_seconds() < 60);

    let read = expect_status(app.get(&path, &owner).await, StatusCode::OK).await;
    assert_eq!((read["has_token"].as_bool(), read["token_hint"].as_str()), (Some(true), Some(hint)));
    assert!(read.get("token").is_none() && !read.to_string().contains(&first[9..]), "never echoed: {read}");

    // The token is no API key: the prefixes do not collide.
    let refused = app.get(&format!("/v1/orgs/{org}"), &first).await;
    expect_problem(refused, StatusCode::UNAUTHORIZED, "invalid_token").await;

    let unchanged =
        expect_status(put(&app, &path, &owner, json!({ "enabled": true }), None).await, StatusCode::OK).await;
    assert_eq!((unchanged["version"].as_i64(), unchanged["token"].is_null()), (Some(1), true));

    let stale = put(&app, &path, &owner, json!({ "enabled": true, "rotate_token": true }), Some("\"0\"")).await;
    expect_problem(stale, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    let rotated = expect_status(
        put(&app, &path, &owner, json!({ "enabled": true, "rotate_token": true }), Some("\"1\"")).await,
        StatusCode::OK,
    )
    .await;
    let second = rotated["token"].as_str().unwrap();
    assert_ne!(second, first);
    assert_eq!(rotated["version"], 2);

    let disabled =
        expect_status(put(&app, &path, &owner, json!({ "enabled": false }), None).await, StatusCode::OK).await;
    assert_eq!((disabled["has_token"].as_bool(), disabled["token"].is_null()), (Some(false), true));

    let events: Vec<(String, Value)> =
        app.audit(&org).into_iter().filter(|e| e.action.starts_with("scim.")).map(|e| (e.action, e.changes)).collect();
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["scim.config_updated", "scim.token_rotated", "scim.config_updated"]);
    let tokens: Vec<&str> = events.iter().map(|(_, c)| c["token"]["to"].as_str().unwrap()).collect();
    assert_eq!(tokens, ["issued", "rotated", "revoked"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_owners_who_are_people_write_and_admins_read() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Owned").await;
    let path = format!("/v1/orgs/{org}/scim");
    let body = || json!({ "enabled": true });

    app.seed_members(&org, "admin", 1, "admin");
    let admin = app.token("admin-1");
    expect_status(app.get(&path, &admin).await, StatusCode::OK).await;
    let problem =
        expect_problem(put(&app, &path, &admin, body(), None).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(problem["permission"], "scim:write");

    app.seed_members(&org, "plain", 1, "member");
    let plain = app.token("plain-1");
    expect_problem(app.get(&path, &plain).await, StatusCode::FORBIDDEN, "forbidden").await;
    expect_problem(put(&app, &path, &plain, body(), None).await, StatusCode::FORBIDDEN, "forbidden").await;

    let outsider = app.token("outsider");
    expect_problem(app.get(&path, &outsider).await, StatusCode::NOT_FOUND, "not_found").await;
    expect_problem(put(&app, &path, &outsider, body(), None).await, StatusCode::NOT_FOUND, "not_found").await;

    let key = json!({ "name": "scim bot", "permissions": ["scim:read", "scim:write"] });
    let key =
        expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, key).await, StatusCode::CREATED).await;
    let key = key["secret"].as_str().unwrap();
    expect_status(app.get(&path, key).await, StatusCode::OK).await;
    expect_problem(put(&app, &path, key, body(), None).await, StatusCode::FORBIDDEN, "user_required").await;

    let problem = expect_problem(
        put(&app, &path, &owner, json!({ "enabled": false, "rotate_token": true }), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "rotate_token");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_plan_without_scim_enabling_is_refused_and_reading_is_not() {
    let app = TestApp::spawn_with(|config| config.default_plan = orgd_domain::policy::Plan::Team).await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Teamy").await;
    let path = format!("/v1/orgs/{org}/scim");
    let problem = expect_problem(
        put(&app, &path, &owner, json!({ "enabled": true }), None).await,
        StatusCode::FORBIDDEN,
        "feature_not_in_plan",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("scim"));
    expect_status(app.get(&path, &owner).await, StatusCode::OK).await;
    expect_status(put(&app, &path, &owner, json!({ "enabled": false }), None).await, StatusCode::OK).await;
}
