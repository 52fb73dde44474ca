use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect_problem, expect_status, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn custom_roles_are_created_renamed_and_deleted_with_audit() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let roles = format!("/v1/orgs/{org}/roles");

    let listed = expect_status(app.get(&roles, &owner).await, StatusCode::OK).await;
    let keys: Vec<&str> = listed["data"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, vec!["owner", "admin", "member"]);
    assert_eq!(listed["data"][0]["system"], true);

    let body = json!({ "name": "Billing Admin", "description": "Pays the bills", "permissions": ["billing:read", "billing:update", "org:read"] });
    let created = expect_status(app.post(&roles, &owner, body).await, StatusCode::CREATED).await;
    assert_eq!(created["key"], "billing_admin");
    assert!(created["id"].as_str().unwrap().starts_with("role_"));
    assert_eq!(created["permissions"], json!(["org:read", "billing:read", "billing:update"]), "catalogue order");
    let role_path = format!("{roles}/{}", created["id"].as_str().unwrap());

    let renamed = expect_status(
        app.patch(&role_path, &owner, json!({ "name": "Billing", "description": null })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (renamed["name"].as_str(), renamed["description"].as_str(), renamed["key"].as_str()),
        (Some("Billing"), None, Some("billing_admin"))
    );

    expect_status(app.delete(&role_path, &owner).await, StatusCode::NO_CONTENT).await;
    expect_problem(app.delete(&role_path, &owner).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.audit_actions(&org), vec!["org.created", "role.created", "role.updated", "role.deleted"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_cannot_carry_more_than_their_author_holds() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    app.seed_members(&org, "adm", 1, "admin");
    let admin = app.token("adm-1");
    let roles = format!("/v1/orgs/{org}/roles");

    let wide = json!({ "name": "Demolition", "permissions": ["org:read", "org:delete", "scim:write"] });
    let problem =
        expect_problem(app.post(&roles, &admin, wide).await, StatusCode::FORBIDDEN, "escalation_denied").await;
    assert_eq!(problem["missing_permissions"], json!(["org:delete", "scim:write"]));

    let narrow = expect_status(
        app.post(&roles, &admin, json!({ "name": "Viewer", "permissions": ["org:read"] })).await,
        StatusCode::CREATED,
    )
    .await;
    let widen = json!({ "permissions": ["org:read", "org:transfer_ownership"] });
    let path = format!("{roles}/{}", narrow["id"].as_str().unwrap());
    expect_problem(app.patch(&path, &admin, widen).await, StatusCode::FORBIDDEN, "escalation_denied").await;

    let owners_role = expect_status(
        app.post(&roles, &owner, json!({ "name": "Closer", "permissions": ["org:delete"] })).await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!("{roles}/{}", owners_role["id"].as_str().unwrap());
    expect_problem(
        app.patch(&path, &admin, json!({ "name": "Mine now" })).await,
        StatusCode::FORBIDDEN,
        "escalation_denied",
    )
    .await;
    expect_problem(app.delete(&path, &admin).await, StatusCode::FORBIDDEN, "escalation_denied").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_role_definitions_are_refused_with_codes() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let roles = format!("/v1/orgs/{org}/roles");
    expect_problem(
        app.post(&roles, &owner, json!({ "key": "owner", "name": "Owner 2", "permissions": [] })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reserved_role_key",
    )
    .await;
    let problem = expect_problem(
        app.post(&roles, &owner, json!({ "name": "X", "permissions": ["org:read", "org:fly"] })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "permissions[1]");
    assert_eq!(problem["errors"][0]["code"], "unknown_permission");
    expect_problem(
        app.post(&roles, &owner, json!({ "key": "Bad Key", "name": "X", "permissions": [] })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_status(
        app.post(&roles, &owner, json!({ "key": "ops", "name": "Ops", "permissions": [] })).await,
        StatusCode::CREATED,
    )
    .await;
    expect_problem(
        app.post(&roles, &owner, json!({ "key": "ops", "name": "Ops 2", "permissions": [] })).await,
        StatusCode::CONFLICT,
        "role_key_taken",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_role_needs_a_replacement_before_it_goes() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let roles = format!("/v1/orgs/{org}/roles");
    let ops = expect_status(
        app.post(&roles, &owner, json!({ "key": "ops", "name": "Ops", "permissions": ["org:read"] })).await,
        StatusCode::CREATED,
    )
    .await;
    app.seed_members(&org, "op", 3, "ops");
    let path = format!("{roles}/{}", ops["id"].as_str().unwrap());

    let problem = expect_problem(app.delete(&path, &owner).await, StatusCode::CONFLICT, "role_in_use").await;
    assert!(problem["detail"].as_str().unwrap().contains("3 member"));
    expect_problem(
        app.delete(&format!("{path}?reassign_to=ghost"), &owner).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_role",
    )
    .await;
    expect_problem(
        app.delete(&format!("{path}?reassign_to=ops"), &owner).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_status(app.delete(&format!("{path}?reassign_to=member"), &owner).await, StatusCode::NO_CONTENT).await;

    let moved =
        expect_status(app.get(&format!("/v1/orgs/{org}/members?role=member"), &owner).await, StatusCode::OK).await;
    assert_eq!(moved["data"].as_array().unwrap().len(), 3);
    let deleted = app.audit(&org).pop().unwrap();
    assert_eq!(deleted.action, "role.deleted");
    assert_eq!(deleted.changes["members_reassigned"]["to"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_org_role_shadows_the_system_role_of_its_key() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    app.seed_members(&org, "plain", 1, "member");
    let plain = app.token("plain-1");
    let before = expect_status(app.get(&format!("/v1/orgs/{org}/permissions"), &plain).await, StatusCode::OK).await;
    assert_eq!(before["permissions"]["members:read"], true);

    let shadow = json!({ "key": "member", "name": "Member (restricted)", "permissions": ["org:read"] });
    let created =
        expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, shadow).await, StatusCode::CREATED).await;
    assert_eq!(created["shadows"], "member");
    let after = expect_status(app.get(&format!("/v1/orgs/{org}/permissions"), &plain).await, StatusCode::OK).await;
    assert_eq!(after["permissions"]["members:read"], false);
    assert!(after["denied"].as_array().unwrap().contains(&json!("members:read")));
    expect_problem(app.get(&format!("/v1/orgs/{org}/members"), &plain).await, StatusCode::FORBIDDEN, "forbidden").await;

    let roles = expect_status(app.get(&format!("/v1/orgs/{org}/roles"), &owner).await, StatusCode::OK).await;
    let members: Vec<_> = roles["data"].as_array().unwrap().iter().filter(|r| r["key"] == "member").collect();
    assert_eq!(members.len(), 1, "the shadowed system role is listed once");
    assert_eq!(members[0]["system"], false);

    let path = format!("/v1/orgs/{org}/roles/{}", created["id"].as_str().unwrap());
    expect_status(app.delete(&path, &owner).await, StatusCode::NO_CONTENT).await;
    let restored = expect_status(app.get(&format!("/v1/orgs/{org}/permissions"), &plain).await, StatusCode::OK).await;
    assert_eq!(restored["permissions"]["members:read"], true, "members fall back to the system role");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalogue_and_permission_maps_describe_every_permission() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let catalogue =
        expect_status(app.request(reqwest::Method::GET, "/v1/permissions", None, None).await, StatusCode::OK).await;
    let names: Vec<&str> = catalogue["data"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in [
        "org:update",
        "members:remove",
        "roles:create",
        "invites:create",
        "teams:update",
        "security:update",
        "sso:write",
        "scim:write",
        "audit:read",
        "billing:update",
        "llm:update",
        "api_keys:manage",
        "usage:write",
    ] {
        assert!(names.contains(&expected), "{expected}");
    }
    assert!(catalogue["data"].as_array().unwrap().iter().all(|p| !p["description"].as_str().unwrap().is_empty()));

    let map = expect_status(app.get(&format!("/v1/orgs/{org}/permissions"), &owner).await, StatusCode::OK).await;
    assert_eq!(map["role"], "owner");
    assert_eq!(map["permissions"].as_object().unwrap().len(), names.len());
    assert!(map["permissions"].as_object().unwrap().values().all(|v| v == true));
    assert_eq!(map["denied"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn only_holders_of_a_system_roles_permissions_may_redefine_it() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let roles = format!("/v1/orgs/{org}/roles");
    let designer = json!({ "key": "designer", "name": "Role designer", "permissions": ["org:read", "roles:create", "roles:read"] });
    expect_status(app.post(&roles, &owner, designer).await, StatusCode::CREATED).await;
    app.seed_members(&org, "rd", 1, "designer");
    let rd = app.token("rd-1");
    let demote_admins = json!({ "key": "admin", "name": "Admin (read only)", "permissions": ["org:read"] });
    let problem =
        expect_problem(app.post(&roles, &rd, demote_admins).await, StatusCode::FORBIDDEN, "escalation_denied").await;
    assert!(problem["missing_permissions"].as_array().unwrap().contains(&json!("members:update")));
}

#[tokio::test(flavor = "multi_thread")]
async fn control_characters_are_refused_not_stored() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let body = json!({ "name": "Nul", "description": "a\u{0}b", "permissions": [] });
    let problem = expect_problem(
        app.post(&format!("/v1/orgs/{org}/roles"), &owner, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "description");
    let problem = expect_problem(
        app.get(&format!("/v1/orgs/{org}/members?q=%00"), &owner).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "q");
    let body = json!({ "name": "Team", "description": "x\u{0}" });
    expect_problem(
        app.post(&format!("/v1/orgs/{org}/teams"), &owner, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let multi_line = json!({ "name": "Lines", "description": "first\nsecond", "permissions": [] });
    expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, multi_line).await, StatusCode::CREATED).await;
}
