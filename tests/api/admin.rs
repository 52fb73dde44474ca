//! `/v1/admin`: platform staff's view of every organization, plans and entitlements,
//! restores, and the record of every staff look and change.

use std::time::Duration;

use api::auth::DevToken;
use orgd_domain::platform::StaffRole;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};

pub fn staff_token(app: &TestApp, subject: &str, role: StaffRole) -> String {
    app.token_with(DevToken {
        subject: subject.into(),
        email: Some(format!("{subject}@platform.test")),
        name: Some(format!("Staff {subject}")),
        mfa: true,
        staff: Some(role),
        ttl: Duration::from_secs(600),
    })
}

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> reqwest::Response {
    app.request(method, path, Some(token), body).await
}

async fn delete_as_owner(app: &TestApp, org: &str, owner: &str) {
    expect_status(app.delete(&format!("/v1/orgs/{org}"), owner).await, StatusCode::NO_CONTENT).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_list_search_and_page_every_org_deleted_ones_on_request() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let reader = staff_token(&app, "support-1", StaffRole::Read);
    let acme = app.create_org(&ada, "Acme").await;
    let globex = app.create_org(&app.token("bo"), "Globex").await;
    let patch = json!({ "domain": "globex.io" });
    expect_status(app.patch(&format!("/v1/orgs/{globex}"), &app.token("bo"), patch).await, StatusCode::OK).await;
    let initech = app.create_org(&ada, "Initech").await;
    delete_as_owner(&app, &initech, &ada).await;

    let ids = |page: &Value| -> Vec<String> {
        page["data"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect()
    };
    let all = expect_status(app.get("/v1/admin/orgs", &reader).await, StatusCode::OK).await;
    assert_eq!(ids(&all), vec![acme.clone(), globex.clone()]);
    assert_eq!((all["data"][0]["plan"].as_str(), all["data"][0]["deleted_at"].is_null()), (Some("enterprise"), true));
    let with_deleted =
        expect_status(app.get("/v1/admin/orgs?include_deleted=true", &reader).await, StatusCode::OK).await;
    assert_eq!(ids(&with_deleted), vec![acme.clone(), globex.clone(), initech.clone()]);
    assert!(with_deleted["data"][2]["deleted_at"].is_string());

    for (q, expected) in [("acme", &acme), ("GLOBEX.IO", &globex), (globex.as_str(), &globex)] {
        let found = expect_status(app.get(&format!("/v1/admin/orgs?q={q}"), &reader).await, StatusCode::OK).await;
        assert_eq!(ids(&found), vec![expected.clone()], "q={q}");
    }
    let deleted =
        expect_status(app.get("/v1/admin/orgs?q=initech&include_deleted=true", &reader).await, StatusCode::OK).await;
    assert_eq!(ids(&deleted), vec![initech.clone()]);
    let none = expect_status(app.get("/v1/admin/orgs?plan=free", &reader).await, StatusCode::OK).await;
    assert_eq!(ids(&none), Vec::<String>::new());
    expect_problem(
        app.get("/v1/admin/orgs?plan=gold", &reader).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let first =
        expect_status(app.get("/v1/admin/orgs?limit=1&include_deleted=true", &reader).await, StatusCode::OK).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = expect_status(
        app.get(&format!("/v1/admin/orgs?limit=2&include_deleted=true&cursor={cursor}"), &reader).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!([ids(&first), ids(&second)].concat(), vec![acme, globex, initech]);
    assert!(second["next_cursor"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_read_may_read_but_only_staff_admin_writes() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    let reader = staff_token(&app, "support-1", StaffRole::Read);
    let root = staff_token(&app, "root", StaffRole::Admin);

    let got = app.get(&format!("/v1/admin/orgs/{org}"), &reader).await;
    let etag = got.headers()["etag"].to_str().unwrap().to_owned();
    let got = expect_status(got, StatusCode::OK).await;
    assert_eq!((got["id"].as_str(), got["name"].as_str()), (Some(org.as_str()), Some("Acme")));
    assert_eq!(got["features"].as_array().unwrap().len(), 6);

    let rename = json!({ "name": "Acme Renamed" });
    for (method, path, body) in [
        (Method::PATCH, format!("/v1/admin/orgs/{org}"), Some(rename.clone())),
        (Method::DELETE, format!("/v1/admin/orgs/{org}"), None),
        (Method::POST, format!("/v1/admin/orgs/{org}/restore"), Some(json!({}))),
        (Method::PUT, format!("/v1/admin/orgs/{org}/plan"), Some(json!({ "plan": "free" }))),
    ] {
        let response = send(&app, method.clone(), &path, &reader, body).await;
        expect_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }

    // If-Match and ETag as on the tenant route.
    let stale = app
        .raw()
        .patch(format!("{}/v1/admin/orgs/{org}", app.base))
        .bearer_auth(&root)
        .header("if-match", "\"99\"")
        .json(&rename)
        .send()
        .await
        .unwrap();
    expect_problem(stale, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    let fresh = app
        .raw()
        .patch(format!("{}/v1/admin/orgs/{org}", app.base))
        .bearer_auth(&root)
        .header("if-match", &etag)
        .json(&rename)
        .send()
        .await
        .unwrap();
    assert_ne!(fresh.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(expect_status(fresh, StatusCode::OK).await["name"], "Acme Renamed");
    let invalid = app.patch(&format!("/v1/admin/orgs/{org}"), &root, json!({ "slug": "Not A Slug" })).await;
    expect_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    expect_status(app.delete(&format!("/v1/admin/orgs/{org}"), &root).await, StatusCode::NO_CONTENT).await;
    expect_problem(app.get(&format!("/v1/orgs/{org}"), &ada).await, StatusCode::NOT_FOUND, "not_found").await;
    let deleted = expect_status(app.get(&format!("/v1/admin/orgs/{org}"), &reader).await, StatusCode::OK).await;
    assert!(deleted["deleted_at"].is_string());
    expect_problem(app.delete(&format!("/v1/admin/orgs/{org}"), &root).await, StatusCode::CONFLICT, "org_deleted")
        .await;
    let restored =
        expect_status(app.post(&format!("/v1/admin/orgs/{org}/restore"), &root, json!({})).await, StatusCode::OK).await;
    assert!(restored["deleted_at"].is_null());
    expect_status(app.get(&format!("/v1/orgs/{org}"), &ada).await, StatusCode::OK).await;

    let actions: Vec<(String, String)> =
        app.audit(&org).into_iter().map(|e| (e.action, e.actor_type)).filter(|(_, t)| t == "staff").collect();
    let writes: Vec<&str> = actions.iter().map(|(a, _)| a.as_str()).filter(|a| *a != "staff.accessed").collect();
    assert_eq!(writes, vec!["org.updated", "org.deleted", "org.restored"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_is_refused_with_distinct_codes_when_live_or_name_or_slug_taken() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let bo = app.token("bo");
    let root = staff_token(&app, "root", StaffRole::Admin);
    let org = app.create_org(&ada, "Acme").await;
    let restore = format!("/v1/admin/orgs/{org}/restore");
    expect_problem(app.post(&restore, &root, json!({})).await, StatusCode::CONFLICT, "org_not_deleted").await;

    delete_as_owner(&app, &org, &ada).await;
    let squatter = expect_status(
        app.post("/v1/orgs", &bo, json!({ "name": "ACME", "slug": "squatter" })).await,
        StatusCode::CREATED,
    )
    .await;
    let squatter = squatter["id"].as_str().unwrap().to_owned();
    expect_problem(app.post(&restore, &root, json!({})).await, StatusCode::CONFLICT, "org_name_taken").await;
    let rename = json!({ "name": "Squatter", "slug": "acme" });
    expect_status(app.patch(&format!("/v1/orgs/{squatter}"), &bo, rename).await, StatusCode::OK).await;
    expect_problem(app.post(&restore, &root, json!({})).await, StatusCode::CONFLICT, "org_slug_taken").await;
    expect_status(app.patch(&format!("/v1/orgs/{squatter}"), &bo, json!({ "slug": "squatter" })).await, StatusCode::OK)
        .await;
    expect_status(app.post(&restore, &root, json!({})).await, StatusCode::OK).await;
    assert_eq!(app.audit_actions(&org).last().map(String::as_str), Some("org.restored"));
    let unknown = "/v1/admin/orgs/org_0192f0c1a4e37b6c9d5e8f10a2b3c4d5/restore";
    expect_problem(app.post(unknown, &root, json!({})).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_and_overrides_decide_what_the_feature_gates_allow() {
    let app = TestApp::spawn_with(|config| config.default_plan = orgd_domain::policy::Plan::Free).await;
    let owner = app.token_with_mfa("ada");
    let root = staff_token(&app, "root", StaffRole::Admin);
    let org = app.create_org(&owner, "Acme").await;
    let sso = format!("/v1/orgs/{org}/sso");
    let refused = crate::sso::put(&app, &sso, &owner, crate::authorization::sso_config(), None).await;
    expect_problem(refused, StatusCode::FORBIDDEN, "feature_not_in_plan").await;

    let plan = format!("/v1/admin/orgs/{org}/plan");
    let body = json!({ "plan": "free", "overrides": { "sso": true } });
    let changed = expect_status(crate::sso::put(&app, &plan, &root, body, None).await, StatusCode::OK).await;
    assert_eq!((changed["plan"].as_str(), changed["features"].clone()), (Some("free"), json!(["sso"])));
    expect_status(crate::sso::put(&app, &sso, &owner, crate::authorization::sso_config(), None).await, StatusCode::OK)
        .await;

    let withheld = json!({ "plan": "enterprise", "overrides": { "custom_roles": false } });
    expect_status(crate::sso::put(&app, &plan, &root, withheld, None).await, StatusCode::OK).await;
    let role = json!({ "name": "Viewer", "permissions": ["org:read"] });
    let refused = app.post(&format!("/v1/orgs/{org}/roles"), &owner, role).await;
    expect_problem(refused, StatusCode::FORBIDDEN, "feature_not_in_plan").await;

    let unknown = json!({ "plan": "enterprise", "overrides": { "teleport": true } });
    let problem = expect_problem(
        crate::sso::put(&app, &plan, &root, unknown, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "overrides.teleport");
    let stale = crate::sso::put(&app, &plan, &root, json!({ "plan": "team" }), Some("\"1\"")).await;
    expect_problem(stale, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;

    let log = expect_status(app.get("/v1/admin/audit-log?action=org.plan_changed", &root).await, StatusCode::OK).await;
    let changes: Vec<&Value> = log["data"].as_array().unwrap().iter().map(|e| &e["changes"]).collect();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["plan"], json!({ "from": "free", "to": "enterprise" }));
    assert_eq!(log["data"][0]["actor"]["type"], "staff");
    assert_eq!(log["data"][0]["org_id"], org.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staff_read_of_a_tenant_route_is_one_record_in_the_orgs_chain_which_still_verifies() {
    let app = TestApp::spawn().await;
    let owner = app.token("ada");
    let org = app.create_org(&owner, "Acme").await;
    let reader = staff_token(&app, "support-1", StaffRole::Read);
    let before = app.audit(&org).len();
    expect_status(app.get(&format!("/v1/orgs/{org}/members"), &reader).await, StatusCode::OK).await;
    let events = app.audit(&org);
    assert_eq!(events.len(), before + 1);
    let record = events.last().unwrap();
    assert_eq!((record.action.as_str(), record.actor_type.as_str()), ("staff.accessed", "staff"));
    // An export reads in many transactions and is still one look.
    let export = app.get(&format!("/v1/orgs/{org}/audit-log/export"), &reader).await;
    assert_eq!(export.status(), StatusCode::OK);
    assert!(!export.text().await.unwrap().is_empty());
    assert_eq!(app.audit(&org).len(), before + 2);

    let listed = expect_status(app.get(&format!("/v1/orgs/{org}/audit-log"), &owner).await, StatusCode::OK).await;
    assert_eq!(listed["data"][0]["actor"]["type"], "staff");
    assert_eq!(listed["data"][0]["changes"]["route"]["to"], "GET /v1/orgs/{org}/audit-log/export");
    let verified =
        expect_status(app.get(&format!("/v1/orgs/{org}/audit-log/verify"), &owner).await, StatusCode::OK).await;
    assert_eq!(verified["ok"], true, "{verified}");

    // Staff writes to tenant data go through /v1/admin only, whatever their staff role.
    let root = staff_token(&app, "root", StaffRole::Admin);
    let patch = app.patch(&format!("/v1/orgs/{org}"), &root, json!({ "name": "Hijacked" })).await;
    expect_problem(patch, StatusCode::FORBIDDEN, "forbidden").await;

    let platform = expect_status(app.get("/v1/admin/audit-log?action=staff.", &reader).await, StatusCode::OK).await;
    assert!(platform["data"].as_array().unwrap().iter().all(|e| e["action"] == "staff.accessed"));
    assert!(platform["data"].as_array().unwrap().len() >= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_platform_audit_log_lists_plan_changes_and_restores_newest_first_in_pages() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let root = staff_token(&app, "root", StaffRole::Admin);
    let org = app.create_org(&ada, "Acme").await;
    for plan in ["team", "free", "enterprise"] {
        let path = format!("/v1/admin/orgs/{org}/plan");
        expect_status(crate::sso::put(&app, &path, &root, json!({ "plan": plan }), None).await, StatusCode::OK).await;
    }
    delete_as_owner(&app, &org, &ada).await;
    expect_status(app.post(&format!("/v1/admin/orgs/{org}/restore"), &root, json!({})).await, StatusCode::OK).await;

    let mut actions = Vec::new();
    let mut path = format!("/v1/admin/audit-log?org={org}&action=org.&limit=2");
    loop {
        let page = expect_status(app.get(&path, &root).await, StatusCode::OK).await;
        actions.extend(page["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/admin/audit-log?org={org}&action=org.&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(actions, vec!["org.restored", "org.plan_changed", "org.plan_changed", "org.plan_changed"]);
    let bad = app.get("/v1/admin/audit-log?org=nope", &root).await;
    expect_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // A cursor of an organization's own log is not one of the platform log, nor the reverse.
    let tenant = expect_status(app.get(&format!("/v1/orgs/{org}/audit-log?limit=1"), &ada).await, StatusCode::OK).await;
    let tenant_cursor = tenant["next_cursor"].as_str().unwrap();
    let crossed = app.get(&format!("/v1/admin/audit-log?cursor={tenant_cursor}"), &root).await;
    expect_problem(crossed, StatusCode::BAD_REQUEST, "invalid_cursor").await;
    let platform = expect_status(app.get("/v1/admin/audit-log?limit=1", &root).await, StatusCode::OK).await;
    let platform_cursor = platform["next_cursor"].as_str().unwrap();
    let crossed = app.get(&format!("/v1/orgs/{org}/audit-log?cursor={platform_cursor}"), &ada).await;
    expect_problem(crossed, StatusCode::BAD_REQUEST, "invalid_cursor").await;

    // Append-only: the database itself refuses to change or remove a record.
    let refused = app.db.execute("UPDATE platform_audit_events SET action = 'forged'");
    assert!(refused.is_err(), "UPDATE must be refused");
    assert!(app.db.execute("DELETE FROM platform_audit_events").is_err(), "DELETE must be refused");
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_see_every_live_org_in_their_list_after_their_own_with_staff_access() {
    let app = TestApp::spawn().await;
    let reader = staff_token(&app, "support-1", StaffRole::Read);
    let own = app.create_org(&reader, "Support's own").await;
    let ada = app.token("ada");
    let acme = app.create_org(&ada, "Acme").await;
    let globex = app.create_org(&ada, "Globex").await;
    let gone = app.create_org(&ada, "Gone").await;
    delete_as_owner(&app, &gone, &ada).await;

    let mut seen = Vec::new();
    let mut path = "/v1/orgs?limit=1".to_owned();
    loop {
        let page = expect_status(app.get(&path, &reader).await, StatusCode::OK).await;
        for item in page["data"].as_array().unwrap() {
            seen.push((
                item["organization"]["id"].as_str().unwrap().to_owned(),
                item["access"].as_str().unwrap().to_owned(),
                item["member_id"].is_null(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/orgs?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    let direct = "direct".to_owned();
    let staff = "staff".to_owned();
    assert_eq!(seen, vec![(own, direct, false), (acme.clone(), staff.clone(), true), (globex, staff, true)]);
    let whole = expect_status(app.get("/v1/orgs", &reader).await, StatusCode::OK).await;
    assert_eq!(whole["data"].as_array().unwrap().len(), 3);
    assert!(whole["data"][1]["denied_permissions"].as_array().unwrap().contains(&json!("org:update")));
    // Listing names is no look inside: nothing recorded in the organizations' logs.
    assert!(app.audit(&acme).iter().all(|e| e.actor_type != "staff"));
    let plain = expect_status(app.get("/v1/orgs", &ada).await, StatusCode::OK).await;
    assert_eq!(plain["data"].as_array().unwrap().len(), 2, "people who are not staff see their own only");
}
