//! The event feed: every change a consumer reacts to, with the ids involved, in order, read
//! by cursor and filtered by type; for `events:read` holders of the organization only.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};

async fn feed(app: &TestApp, org: &str, token: &str, query: &str) -> Value {
    expect_status(app.get(&format!("/v1/orgs/{org}/events{query}"), token).await, StatusCode::OK).await
}

fn types(feed: &Value) -> Vec<String> {
    feed["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_membership_s_life_is_in_the_feed_with_who_it_concerns() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let start = feed(&app, &org, &owner, "").await;
    assert_eq!(types(&start), ["organization.created"]);
    let cursor = start["next_cursor"].as_str().unwrap().to_owned();

    let invite = app.post(&format!("/v1/orgs/{org}/invites"), &owner, json!({ "role": "member" })).await;
    let link = expect_status(invite, StatusCode::CREATED).await["token"].as_str().unwrap().to_owned();
    let accepted = app.post(&format!("/v1/invites/{link}/accept"), &app.token("dana"), json!({})).await;
    let member = expect_status(accepted, StatusCode::OK).await["member_id"].as_str().unwrap().to_owned();
    let member_path = format!("/v1/orgs/{org}/members/{member}");
    expect_status(app.patch(&member_path, &owner, json!({ "role": "admin" })).await, StatusCode::OK).await;
    expect_status(app.delete(&member_path, &owner).await, StatusCode::NO_CONTENT).await;

    let news = feed(&app, &org, &owner, &format!("?cursor={cursor}&types=organization.membership.*")).await;
    assert_eq!(
        types(&news),
        ["organization.membership.created", "organization.membership.updated", "organization.membership.deleted"]
    );
    let [created, updated, deleted] = [0, 1, 2].map(|i| news["data"][i].clone());
    assert_eq!(created["data"]["changes"]["member_id"]["to"], member.as_str());
    assert_eq!(updated["data"]["object"]["id"], member.as_str());
    assert_eq!(updated["data"]["changes"]["role"], json!({ "from": "member", "to": "admin" }));
    assert_eq!(deleted["data"]["object"]["id"], member.as_str());
    assert!(deleted["data"]["changes"]["user_id"]["to"].as_str().unwrap().starts_with("usr_"), "{deleted}");
    assert_eq!(deleted["data"]["actor"]["type"], "user");
    // Ids are the audit log's.
    let audit = app.audit(&org);
    assert!(audit.iter().any(|a| a.action == "member.removed"));

    // Read on from the last cursor: nothing new, the same cursor back.
    let last = news["next_cursor"].as_str().unwrap();
    let quiet = feed(&app, &org, &owner, &format!("?cursor={last}&types=organization.membership.*")).await;
    assert!(types(&quiet).is_empty());
    assert_eq!(quiet["next_cursor"], last);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_feed_is_the_organization_s_own_and_for_its_readers_only() {
    let app = TestApp::spawn().await;
    let (owner, other) = (app.token("owner"), app.token("other-owner"));
    let org = app.create_org(&owner, "Acme").await;
    let elsewhere = app.create_org(&other, "Elsewhere").await;
    app.post(&format!("/v1/orgs/{elsewhere}/teams"), &other, json!({ "name": "Secret project" })).await;
    app.seed_members(&org, "plain", 1, "member");

    let own = feed(&app, &org, &owner, "?limit=100").await;
    assert!(!own.to_string().contains("Secret project"), "another organization's event leaked: {own}");
    // Another organization's cursor reads nothing of it here.
    let theirs = feed(&app, &elsewhere, &other, "").await;
    let their_cursor = theirs["next_cursor"].as_str().unwrap();
    let mine = feed(&app, &org, &owner, &format!("?cursor={their_cursor}")).await;
    assert!(!mine.to_string().contains("Secret project"));

    expect_problem(app.get(&format!("/v1/orgs/{elsewhere}/events"), &owner).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    let plain = app.token("plain-1");
    expect_problem(app.get(&format!("/v1/orgs/{org}/events"), &plain).await, StatusCode::FORBIDDEN, "forbidden").await;

    // A program with `events:read` reads it.
    let key = app
        .post(&format!("/v1/orgs/{org}/api-keys"), &owner, json!({ "name": "sync", "permissions": ["events:read"] }))
        .await;
    let key = expect_status(key, StatusCode::CREATED).await["secret"].as_str().unwrap().to_owned();
    let by_key = feed(&app, &org, &key, "?types=api_key.*").await;
    assert_eq!(types(&by_key), ["api_key.created"]);

    // A filter naming no type matches nothing.
    for odd in ["?types=Team", "?types=team..x", "?types=%25.*", "?types=api_key_.*"] {
        let none = feed(&app, &org, &owner, odd).await;
        assert!(types(&none).is_empty(), "{odd}: {none}");
    }
    for bad in ["?cursor=nope", "?limit=0"] {
        let refused = app.get(&format!("/v1/orgs/{org}/events{bad}"), &owner).await;
        assert!(
            refused.status() == StatusCode::BAD_REQUEST || refused.status() == StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
}
