//! A person's notifications over HTTP: their own only, unread first, stable pages, marked
//! read idempotently; API keys have none.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};

/// Makes `person` a member of a new organization `name`, whose owner then reminds its
/// members without 2FA: `person` gets one notification. Returns the organization and its
/// owner's token.
async fn reminded_by(app: &TestApp, name: &str, person: &str) -> (String, String) {
    let owner = app.token_with_mfa(&format!("{name}-owner"));
    let org = app.create_org(&owner, name).await;
    let invite = expect_status(
        app.post(&format!("/v1/orgs/{org}/invites"), &owner, json!({ "role": "member" })).await,
        StatusCode::CREATED,
    )
    .await;
    let accept = format!("/v1/invites/{}/accept", invite["token"].as_str().unwrap());
    expect_status(app.post(&accept, person, json!({})).await, StatusCode::OK).await;
    let sent = app.post(&format!("/v1/orgs/{org}/mfa/reminders"), &owner, json!({})).await;
    assert_eq!(expect_status(sent, StatusCode::OK).await["reminded"], 1);
    (org, owner)
}

async fn inbox(app: &TestApp, token: &str, query: &str) -> Value {
    expect_status(app.get(&format!("/v1/me/notifications{query}"), token).await, StatusCode::OK).await
}

fn orgs_of(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(|n| n["org_id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_list_unread_first_newest_first_and_page_across_the_phases() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let mut orgs = Vec::new();
    for name in ["first", "second", "third"] {
        orgs.push(reminded_by(&app, name, &ada).await.0);
    }
    let all = inbox(&app, &ada, "").await;
    assert_eq!(orgs_of(&all), [orgs[2].clone(), orgs[1].clone(), orgs[0].clone()], "newest first");
    let second = all["data"][1]["id"].as_str().unwrap().to_owned();
    let read =
        expect_status(app.post(&format!("/v1/me/notifications/{second}/read"), &ada, json!({})).await, StatusCode::OK)
            .await;
    let read_at = read["read_at"].as_str().unwrap().to_owned();
    let again =
        expect_status(app.post(&format!("/v1/me/notifications/{second}/read"), &ada, json!({})).await, StatusCode::OK)
            .await;
    assert_eq!(again["read_at"], read_at.as_str(), "marking read twice keeps the first reading");

    let mut seen = Vec::new();
    let mut query = "?limit=1".to_owned();
    loop {
        let page = inbox(&app, &ada, &query).await;
        seen.extend(orgs_of(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, [orgs[2].clone(), orgs[0].clone(), orgs[1].clone()], "unread ones, then the read one");
    let listed = inbox(&app, &ada, "").await;
    assert_eq!(listed["data"][2]["read_at"], read_at.as_str());
    assert!(listed["data"][0]["read_at"].is_null() && listed["data"][1]["read_at"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_sees_and_marks_only_their_own_notifications() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let (org, owner) = reminded_by(&app, "acme", &ada).await;
    let notice = inbox(&app, &ada, "").await["data"][0]["id"].as_str().unwrap().to_owned();

    let bob = app.token("bob");
    assert_eq!(inbox(&app, &bob, "").await["data"], json!([]));
    expect_problem(
        app.post(&format!("/v1/me/notifications/{notice}/read"), &bob, json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert!(inbox(&app, &ada, "").await["data"][0]["read_at"].is_null(), "bob's attempt changed nothing");
    for bad in ["ntf_nope", "mem_0192f0c1a4e37b6c9d5e8f10a2b3c4d5", "ntf_0192f0c1a4e37b6c9d5e8f10a2b3c4d5"] {
        expect_problem(
            app.post(&format!("/v1/me/notifications/{bad}/read"), &ada, json!({})).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }

    let members =
        expect_status(app.get(&format!("/v1/orgs/{org}/members?limit=1"), &owner).await, StatusCode::OK).await;
    let other_kind = members["next_cursor"].as_str().unwrap();
    for cursor in ["zzz", other_kind] {
        expect_problem(
            app.get(&format!("/v1/me/notifications?cursor={cursor}"), &ada).await,
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        )
        .await;
    }
    expect_problem(
        app.get("/v1/me/notifications?limit=101", &ada).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.request(Method::GET, "/v1/me/notifications", None, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert!(!app.audit_actions(&org).iter().any(|a| a.starts_with("notification")), "reading is not audited");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_have_no_notifications() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let (org, owner) = reminded_by(&app, "acme", &ada).await;
    let notice = inbox(&app, &ada, "").await["data"][0]["id"].as_str().unwrap().to_owned();
    let key = json!({ "name": "bot", "permissions": ["org:read", "members:read"] });
    let key =
        expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, key).await, StatusCode::CREATED).await;
    let key = key["secret"].as_str().unwrap();
    expect_problem(app.get("/v1/me/notifications", key).await, StatusCode::FORBIDDEN, "user_required").await;
    expect_problem(
        app.post(&format!("/v1/me/notifications/{notice}/read"), key, json!({})).await,
        StatusCode::FORBIDDEN,
        "user_required",
    )
    .await;
}
