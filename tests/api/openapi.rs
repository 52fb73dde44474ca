use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

async fn served(app: &TestApp) -> Value {
    expect_status(app.request(Method::GET, "/openapi.json", None, None).await, StatusCode::OK).await
}

/// `docs/openapi.json` is the reviewed contract: a change to the API shows up as a diff of
/// that file. Regenerate it with `make openapi`.
#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_matches_the_committed_snapshot() {
    let app = TestApp::spawn().await;
    let served = served(&app).await;
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(SNAPSHOT).expect("docs/openapi.json exists")).unwrap();
    assert!(served == committed, "docs/openapi.json is stale: run `make openapi` and review the diff");
    assert_eq!(served, serde_json::to_value(api::startup::openapi()).unwrap(), "`orgd openapi` prints what is served");
}

/// Every operation of the document, as (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    all
}

fn problem_codes(operation: &Value, status: &str) -> Vec<String> {
    operation["responses"][status]["x-problem-codes"]
        .as_array()
        .map(|codes| codes.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_declares_auth_and_problem_responses() {
    let app = TestApp::spawn().await;
    let doc = served(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let all = operations(&doc);
    assert!(all.len() >= 10, "{} operations", all.len());
    for (path, method, operation) in all {
        assert!(operation["operationId"].is_string(), "{method} {path}");
        let responses = operation["responses"].as_object().unwrap();
        if path.starts_with("/scim/v2") {
            // The SCIM protocol: its own token, and SCIM errors, never problem+json.
            assert_eq!(operation["security"][0]["scim_token"], serde_json::json!([]), "{method} {path}");
            for status in ["401", "500", "503"] {
                assert!(responses.contains_key(status), "{method} {path} lacks {status}");
            }
            for (status, response) in responses.iter().filter(|(status, _)| !status.starts_with('2')) {
                let content = response["content"].as_object().unwrap();
                assert_eq!(
                    content.keys().collect::<Vec<_>>(),
                    vec!["application/scim+json"],
                    "{method} {path} {status}"
                );
                let schema = &content["application/scim+json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ScimErrorBody", "{method} {path} {status}");
            }
            continue;
        }
        for (status, response) in responses.iter().filter(|(status, _)| !status.starts_with('2')) {
            assert!(!problem_codes(&operation, status).is_empty(), "{method} {path} {status}: {response}");
        }
        let has = |status: &str| responses.contains_key(status);
        if path.starts_with("/v1/") && !api::openapi::PUBLIC_PATHS.contains(&path.as_str()) {
            assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]), "{method} {path}");
            for status in ["401", "500", "503"] {
                assert!(has(status), "{method} {path} lacks {status}");
            }
        }
        if path.contains("{org}") {
            assert!(has("403") && has("404"), "{method} {path}");
        }
        if operation.get("requestBody").is_some() {
            for (status, code) in [
                ("400", "malformed_request"),
                ("413", "payload_too_large"),
                ("415", "unsupported_media_type"),
                ("422", "validation_failed"),
            ] {
                assert!(problem_codes(&operation, status).contains(&code.to_owned()), "{method} {path}: {code}");
            }
        }
        let query = operation["parameters"].as_array().into_iter().flatten().any(|p| p["in"] == "query");
        if query {
            assert!(problem_codes(&operation, "400").contains(&"invalid_query".to_owned()), "{method} {path}");
        }
    }
}

/// Every `$ref` names a schema of `components`, parameters' included.
#[tokio::test(flavor = "multi_thread")]
async fn every_reference_resolves() {
    let app = TestApp::spawn().await;
    let doc = served(&app).await;
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.push(target.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for target in all {
        let name = target.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{target}"));
        assert!(doc["components"]["schemas"][name].is_object(), "{target} is not in components");
    }
    assert!(doc["components"]["schemas"]["ExportFormat"]["enum"].is_array());
}

/// A list's items are its resource's schema, not a copy of it.
#[tokio::test(flavor = "multi_thread")]
async fn list_pages_reference_their_items() {
    let app = TestApp::spawn().await;
    let doc = served(&app).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert_eq!(schemas["MemberPage"]["properties"]["data"]["items"]["$ref"], "#/components/schemas/MemberResponse");
    for (name, schema) in schemas.iter().filter(|(name, _)| name.ends_with("Page")) {
        assert!(schema["properties"]["data"]["items"]["$ref"].is_string(), "{name}: {schema}");
    }
    assert!(!schemas.keys().any(|name| name.starts_with("ListResponse")));
}

/// The list operations of the document, with their paths filled with ids that exist.
async fn list_paths(app: &TestApp, doc: &Value, token: &str) -> Vec<String> {
    let org = app.create_org(token, "Acme").await;
    let team = expect_status(
        app.post(&format!("/v1/orgs/{org}/teams"), token, json!({"name": "Core"})).await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let webhook = app.post(&format!("/v1/orgs/{org}/webhooks"), token, json!({"url": "http://127.0.0.1:9/x"})).await;
    let webhook = expect_status(webhook, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
    let lists: Vec<String> = operations(doc)
        .into_iter()
        .filter(|(_, method, operation)| {
            method == "get"
                && operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["name"] == "cursor" && p["in"] == "query")
        })
        .map(|(path, _, _)| path.replace("{org}", &org).replace("{team}", &team).replace("{webhook}", &webhook))
        .collect();
    assert!(lists.len() >= 7, "{lists:?}");
    assert!(lists.iter().all(|path| !path.contains('{')), "{lists:?}");
    lists
}

/// `limit` and `cursor` mean the same on every list: one extractor reads them all.
#[tokio::test(flavor = "multi_thread")]
async fn every_list_refuses_a_bad_page_the_same_way() {
    let app = TestApp::spawn().await;
    let doc = served(&app).await;
    let ada = app.token("ada");
    let staff = crate::admin::staff_token(&app, "support", orgd_domain::platform::StaffRole::Read);
    for path in list_paths(&app, &doc, &ada).await {
        // /v1/admin is platform staff's; anyone else gets 404 before the page is read.
        let ada = if path.starts_with("/v1/admin/") { &staff } else { &ada };
        for limit in ["0", "101", "-1"] {
            let problem = expect_problem(
                app.get(&format!("{path}?limit={limit}"), ada).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            )
            .await;
            assert_eq!(problem["errors"][0]["field"], "limit", "{path}?limit={limit}: {problem}");
        }
        for cursor in ["", "bogus", "AQ"] {
            let url = format!("{path}?cursor={cursor}");
            expect_problem(app.get(&url, ada).await, StatusCode::BAD_REQUEST, "invalid_cursor").await;
        }
        expect_status(app.get(&format!("{path}?limit=1"), ada).await, StatusCode::OK).await;
    }
}

/// A cursor of one kind of list is refused by another kind: the audit log's by a member list.
#[tokio::test(flavor = "multi_thread")]
async fn cursors_do_not_cross_lists() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    for name in ["A", "B", "C"] {
        app.post(&format!("/v1/orgs/{org}/teams"), &ada, json!({ "name": name })).await;
    }
    let log = expect_status(app.get(&format!("/v1/orgs/{org}/audit-log?limit=1"), &ada).await, StatusCode::OK).await;
    let cursor = log["next_cursor"].as_str().unwrap();
    let teams = expect_status(app.get(&format!("/v1/orgs/{org}/teams?limit=1"), &ada).await, StatusCode::OK).await;
    let team_cursor = teams["next_cursor"].as_str().unwrap();
    expect_problem(
        app.get(&format!("/v1/orgs/{org}/teams?cursor={cursor}"), &ada).await,
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    )
    .await;
    expect_problem(
        app.get(&format!("/v1/orgs/{org}/audit-log?cursor={team_cursor}"), &ada).await,
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    )
    .await;
}

/// A method a path does not answer is 405 naming those it does; an unknown path is 404.
#[tokio::test(flavor = "multi_thread")]
async fn an_undeclared_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let trace = Method::from_bytes(b"TRACE").unwrap();
    for (path, allow) in [
        ("/healthz", "GET"),
        ("/v1/permissions", "GET"),
        ("/v1/orgs/me", "GET, PATCH, DELETE"),
        ("/v1/orgs/org_0192f0c1a4e37b6c9d5e8f10a2b3c4d5/members/mem_x", "GET, PATCH, DELETE"),
    ] {
        let response = app.request(trace.clone(), path, Some(&ada), None).await;
        assert_eq!(response.headers().get("allow").and_then(|v| v.to_str().ok()), Some(allow), "{path}");
        expect_problem(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    }
    let put = app.request(Method::PUT, "/v1/orgs", Some(&ada), Some(json!({}))).await;
    assert_eq!(put.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET, POST"));
    expect_problem(put, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    expect_problem(app.request(trace, "/v1/nothing", Some(&ada), None).await, StatusCode::NOT_FOUND, "not_found").await;
}

/// The problems a route answers with are ones its operation documents.
#[tokio::test(flavor = "multi_thread")]
async fn answered_problems_are_documented() {
    let app = TestApp::spawn().await;
    let doc = served(&app).await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    let roles = format!("/v1/orgs/{org}/roles");
    let cases = [
        ("/v1/orgs/{org}/roles", "post", app.raw().post(format!("{}{roles}", app.base)).bearer_auth(&ada).body("{}")),
        (
            "/v1/orgs/{org}/roles",
            "post",
            app.raw()
                .post(format!("{}{roles}", app.base))
                .bearer_auth(&ada)
                .header("content-type", "application/json")
                .body("{"),
        ),
        (
            "/v1/orgs/{org}/roles",
            "post",
            app.raw()
                .post(format!("{}{roles}", app.base))
                .bearer_auth(&ada)
                .json(&json!({"name": "Auditor", "permissions": ["org:fly"]})),
        ),
        ("/v1/orgs/{org}/roles", "post", app.raw().post(format!("{}{roles}", app.base))),
        ("/v1/orgs", "get", app.raw().get(format!("{}/v1/orgs?limit=ten", app.base)).bearer_auth(&ada)),
        (
            "/v1/orgs/{org}/audit-log",
            "get",
            app.raw()
                .get(format!(
                    "{}/v1/orgs/{org}/audit-log?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
                    app.base
                ))
                .bearer_auth(&ada),
        ),
        (
            "/v1/orgs/{org}",
            "get",
            app.raw().get(format!("{}/v1/orgs/org_0192f0c1a4e37b6c9d5e8f10a2b3c4d5", app.base)).bearer_auth(&ada),
        ),
    ];
    for (path, method, request) in cases {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16().to_string();
        let problem: Value = response.json().await.unwrap();
        let operation = &doc["paths"][path][method];
        let code = problem["code"].as_str().unwrap().to_owned();
        assert!(
            problem_codes(operation, &status).contains(&code),
            "{method} {path}: {status} {code} is not documented"
        );
    }
}
