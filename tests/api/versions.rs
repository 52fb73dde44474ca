//! Members, roles and teams carry a version: `ETag` on read and write, and a change based on
//! an older version (`If-Match`) is refused with 412, whichever path changed it since.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};

async fn patch_if(app: &TestApp, path: &str, token: &str, body: Value, tag: &str) -> Response {
    let url = format!("{}{path}", app.base);
    app.raw().request(Method::PATCH, url).bearer_auth(token).header("if-match", tag).json(&body).send().await.unwrap()
}

fn etag(response: &Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_changes_of_members_roles_and_teams_are_refused() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Versioned").await;
    app.seed_members(&org, "dev", 1, "member");

    // A custom role: created at 1, each change bumps it, a stale change is refused.
    let role = json!({ "key": "viewer", "name": "Viewer", "permissions": ["org:read"] });
    let role = expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, role).await, StatusCode::CREATED).await;
    assert_eq!(role["version"], 1);
    let path = format!("/v1/orgs/{org}/roles/{}", role["id"].as_str().unwrap());
    let renamed = patch_if(&app, &path, &owner, json!({ "name": "Reader" }), "\"1\"").await;
    assert_eq!(etag(&renamed), "\"2\"");
    assert_eq!(expect_status(renamed, StatusCode::OK).await["version"], 2);
    let stale = patch_if(&app, &path, &owner, json!({ "name": "Lost update" }), "\"1\"").await;
    expect_problem(stale, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;

    // A team, read with its ETag.
    let team = expect_status(
        app.post(&format!("/v1/orgs/{org}/teams"), &owner, json!({ "name": "Core" })).await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!("/v1/orgs/{org}/teams/{}", team["id"].as_str().unwrap());
    let read = app.get(&path, &owner).await;
    let tag = etag(&read);
    assert_eq!(tag, "\"1\"");
    expect_status(patch_if(&app, &path, &owner, json!({ "name": "Platform" }), &tag).await, StatusCode::OK).await;
    let stale = patch_if(&app, &path, &owner, json!({ "description": "lost" }), &tag).await;
    expect_problem(stale, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;

    // A member: changed elsewhere (here by SCIM, which suspends) after the read.
    let members =
        expect_status(app.get(&format!("/v1/orgs/{org}/members?q=dev-1"), &owner).await, StatusCode::OK).await;
    let member = members["data"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/orgs/{org}/members/{member}");
    let read = app.get(&path, &owner).await;
    let tag = etag(&read);
    let scim = crate::sso::put(&app, &format!("/v1/orgs/{org}/scim"), &owner, json!({ "enabled": true }), None).await;
    let scim = expect_status(scim, StatusCode::OK).await["token"].as_str().unwrap().to_owned();
    let suspend = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "path": "active", "value": false }]
    });
    let suspended = app
        .raw()
        .patch(format!("{}/scim/v2/Users/{member}", app.base))
        .bearer_auth(&scim)
        .json(&suspend)
        .send()
        .await
        .unwrap();
    assert_eq!(suspended.status(), StatusCode::OK);
    let stale = patch_if(&app, &path, &owner, json!({ "role": "admin" }), &tag).await;
    expect_problem(stale, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    let fresh = etag(&app.get(&path, &owner).await);
    assert_ne!(fresh, tag, "SCIM's change moved the version");
    let promoted = patch_if(&app, &path, &owner, json!({ "role": "admin" }), &fresh).await;
    assert_ne!(etag(&promoted), fresh);
    assert_eq!(expect_status(promoted, StatusCode::OK).await["role"], "admin");
    // Without If-Match the change is made over whatever is there.
    let unconditional = app.patch(&path, &owner, json!({ "role": "member" })).await;
    expect_status(unconditional, StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_domain_s_join_policy_is_never_overwritten_blind() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Acme").await;
    let claimed = expect_status(
        app.post(&format!("/v1/orgs/{org}/domains"), &owner, json!({ "domain": "acme-corp.com" })).await,
        StatusCode::CREATED,
    )
    .await;
    let record = &claimed["verification"];
    app.dns.set_txt(record["name"].as_str().unwrap(), &[record["value"].as_str().unwrap()]);
    let id = claimed["id"].as_str().unwrap();
    let verified = app.post(&format!("/v1/orgs/{org}/domains/{id}/verify"), &owner, json!({})).await;
    assert_eq!(etag(&verified), "\"2\"", "verifying is a change");
    let path = format!("/v1/orgs/{org}/domains/{id}");

    // Without If-Match: refused, nothing saved.
    let blind = app
        .raw()
        .patch(format!("{}{path}", app.base))
        .bearer_auth(&owner)
        .json(&json!({ "join_policy": "suggest" }))
        .send()
        .await
        .unwrap();
    expect_problem(blind, StatusCode::PRECONDITION_REQUIRED, "if_match_required").await;
    let read = app.get(&path, &owner).await;
    let tag = etag(&read);
    assert_eq!(expect_status(read, StatusCode::OK).await["join_policy"], "off");

    // One admin opens it; another, working from the same read, is refused.
    let opened = patch_if(&app, &path, &owner, json!({ "join_policy": "auto", "role": "member" }), &tag).await;
    assert_eq!(etag(&opened), "\"3\"");
    expect_status(opened, StatusCode::OK).await;
    let stale = patch_if(&app, &path, &owner, json!({ "join_policy": "suggest" }), &tag).await;
    expect_problem(stale, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    let now = expect_status(app.get(&path, &owner).await, StatusCode::OK).await;
    assert_eq!((now["join_policy"].as_str(), now["version"].as_i64()), (Some("auto"), Some(3)));
}
