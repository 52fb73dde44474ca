use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};

async fn member_id(app: &TestApp, token: &str, org: &str, name: &str) -> String {
    let found = expect_status(app.get(&format!("/v1/orgs/{org}/members?q={name}"), token).await, StatusCode::OK).await;
    found["data"][0]["id"].as_str().unwrap().to_owned()
}

async fn roles_of(app: &TestApp, token: &str, org: &str) -> Vec<(String, String)> {
    let members: Value = expect_status(app.get(&format!("/v1/orgs/{org}/members"), token).await, StatusCode::OK).await;
    members["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_change_within_the_callers_reach() {
    let app = TestApp::spawn().await;
    let owner = app.token("boss");
    let org = app.create_org(&owner, "Acme").await;
    app.seed_members(&org, "adm", 1, "admin");
    app.seed_members(&org, "dev", 1, "member");
    let admin = app.token("adm-1");
    let dev = member_id(&app, &owner, &org, "dev-1").await;
    let boss = member_id(&app, &owner, &org, "boss").await;

    let promoted = expect_status(
        app.patch(&format!("/v1/orgs/{org}/members/{dev}"), &admin, json!({ "role": "admin" })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(promoted["role"], "admin");
    // Owners are made and unmade by owners only, whatever an admin's permissions.
    expect_problem(
        app.patch(&format!("/v1/orgs/{org}/members/{dev}"), &admin, json!({ "role": "owner" })).await,
        StatusCode::FORBIDDEN,
        "owner_required",
    )
    .await;
    expect_problem(
        app.patch(&format!("/v1/orgs/{org}/members/{boss}"), &admin, json!({ "role": "member" })).await,
        StatusCode::FORBIDDEN,
        "owner_required",
    )
    .await;
    expect_problem(
        app.delete(&format!("/v1/orgs/{org}/members/{boss}"), &admin).await,
        StatusCode::FORBIDDEN,
        "owner_required",
    )
    .await;
    // Below owner, nobody hands out or takes away more than they hold.
    let wide = json!({ "key": "deleter", "name": "Deleter", "permissions": ["org:read", "org:delete"] });
    expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, wide).await, StatusCode::CREATED).await;
    let problem = expect_problem(
        app.patch(&format!("/v1/orgs/{org}/members/{dev}"), &admin, json!({ "role": "deleter" })).await,
        StatusCode::FORBIDDEN,
        "escalation_denied",
    )
    .await;
    assert_eq!(problem["missing_permissions"], json!(["org:delete"]));
    expect_problem(
        app.patch(&format!("/v1/orgs/{org}/members/{dev}"), &owner, json!({ "role": "ghost" })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_role",
    )
    .await;
    expect_problem(
        app.patch(&format!("/v1/orgs/{org}/members/{boss}"), &owner, json!({ "role": "admin" })).await,
        StatusCode::CONFLICT,
        "last_owner",
    )
    .await;

    let change = app.audit(&org).into_iter().find(|e| e.action == "member.role_changed").unwrap();
    assert_eq!(change.changes["role"], json!({ "from": "member", "to": "admin" }));
    assert_eq!(change.target_id, dev);
}

#[tokio::test(flavor = "multi_thread")]
async fn removal_ends_access_and_is_audited() {
    let app = TestApp::spawn().await;
    let owner = app.token("boss");
    let org = app.create_org(&owner, "Acme").await;
    app.seed_members(&org, "dev", 1, "member");
    let dev_token = app.token("dev-1");
    let dev = member_id(&app, &owner, &org, "dev-1").await;
    expect_status(app.delete(&format!("/v1/orgs/{org}/members/{dev}"), &owner).await, StatusCode::NO_CONTENT).await;
    expect_problem(app.get(&format!("/v1/orgs/{org}"), &dev_token).await, StatusCode::NOT_FOUND, "not_found").await;
    expect_problem(
        app.delete(&format!("/v1/orgs/{org}/members/{dev}"), &owner).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(app.audit_actions(&org), vec!["org.created", "member.removed"]);
    let boss = member_id(&app, &owner, &org, "boss").await;
    expect_problem(
        app.delete(&format!("/v1/orgs/{org}/members/{boss}"), &owner).await,
        StatusCode::CONFLICT,
        "last_owner",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ownership_is_handed_over_in_one_step() {
    let app = TestApp::spawn().await;
    let owner = app.token("boss");
    let org = app.create_org(&owner, "Acme").await;
    app.seed_members(&org, "heir", 1, "member");
    let heir = member_id(&app, &owner, &org, "heir-1").await;
    let boss = member_id(&app, &owner, &org, "boss").await;

    expect_problem(
        app.post(&format!("/v1/orgs/{org}/transfer-ownership"), &owner, json!({ "member_id": boss })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.post(&format!("/v1/orgs/{org}/transfer-ownership"), &owner, json!({ "member_id": "mem_nope" })).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let new_owner = expect_status(
        app.post(&format!("/v1/orgs/{org}/transfer-ownership"), &owner, json!({ "member_id": heir })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(new_owner["role"], "owner");
    let roles = roles_of(&app, &owner, &org).await;
    assert_eq!(roles, vec![("User boss".to_owned(), "admin".to_owned()), ("heir-1".to_owned(), "owner".to_owned())]);
    expect_problem(
        app.post(&format!("/v1/orgs/{org}/transfer-ownership"), &owner, json!({ "member_id": heir })).await,
        StatusCode::FORBIDDEN,
        "owner_required",
    )
    .await;
    assert_eq!(app.audit_actions(&org).last().map(String::as_str), Some("org.ownership_transferred"));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    for round in 0..5 {
        let app = TestApp::spawn().await;
        let first = app.token("first");
        let org = app.create_org(&first, &format!("Race {round}")).await;
        app.seed_members(&org, "second", 1, "owner");
        let second = app.token("second-1");
        let first_id = member_id(&app, &first, &org, "first").await;
        let second_id = member_id(&app, &first, &org, "second-1").await;

        let (demote_second, demote_first) =
            (format!("/v1/orgs/{org}/members/{second_id}"), format!("/v1/orgs/{org}/members/{first_id}"));
        let (a, b) = tokio::join!(
            app.patch(&demote_second, &first, json!({ "role": "member" })),
            app.patch(&demote_first, &second, json!({ "role": "member" })),
        );
        let statuses = [a.status(), b.status()];
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "round {round}: {statuses:?}");
        let remaining = app.db.owners_of(crate::helpers::org_uuid(&org));
        assert_eq!(remaining, 1, "round {round}: exactly one owner remains");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_removals_and_demotions_never_leave_zero_owners() {
    let app = TestApp::spawn().await;
    let boss = app.token("boss");
    let org = app.create_org(&boss, "Acme").await;
    app.seed_members(&org, "co", 3, "owner");
    let tokens: Vec<String> =
        std::iter::once(boss.clone()).chain((1..=3).map(|n| app.token(&format!("co-{n}")))).collect();
    let mut ids = vec![member_id(&app, &boss, &org, "boss").await];
    for n in 1..=3 {
        ids.push(member_id(&app, &boss, &org, &format!("co-{n}")).await);
    }
    let requests = (0..4).map(|i| {
        let victim = &ids[(i + 1) % 4];
        let path = format!("/v1/orgs/{org}/members/{victim}");
        let token = tokens[i].clone();
        let app = &app;
        async move {
            if i % 2 == 0 {
                app.delete(&path, &token).await.status()
            } else {
                app.patch(&path, &token, json!({ "role": "member" })).await.status()
            }
        }
    });
    futures::future::join_all(requests).await;
    assert!(app.db.owners_of(crate::helpers::org_uuid(&org)) >= 1);
}
