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

/// The document as `orgd openapi` prints it (and, by the snapshot test, as served).
fn document() -> Value {
    serde_json::to_value(api::startup::openapi()).unwrap()
}

/// The component schema a `$ref` names.
fn component<'d>(doc: &'d Value, reference: &str) -> &'d Value {
    let name = reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{reference}"));
    &doc["components"]["schemas"][name]
}

/// A list's items are its resource's schema, not a copy of it: a client gets one type per
/// resource. Every schema with a `data` array (pages and whole lists) refers to its items,
/// and every list operation answers such a schema by reference.
#[test]
fn list_pages_reference_their_items() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert_eq!(schemas["MemberPage"]["properties"]["data"]["items"]["$ref"], "#/components/schemas/MemberResponse");
    let lists: Vec<&String> = schemas
        .iter()
        .filter(|(_, schema)| schema["properties"]["data"]["type"] == "array")
        .map(|(name, _)| name)
        .collect();
    assert!(lists.len() >= 15, "{lists:?}");
    for name in lists {
        let items = &schemas[name]["properties"]["data"]["items"];
        let target = items["$ref"].as_str().unwrap_or_else(|| panic!("{name} inlines its items: {items}"));
        assert!(component(&doc, target).is_object(), "{name}: {target}");
    }
    assert!(!schemas.keys().any(|name| name.starts_with("ListResponse")));
    for (path, method, operation) in operations(&doc) {
        let paged = operation["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == "cursor");
        if method != "get" || !paged || path.starts_with("/scim/") {
            continue;
        }
        let schema = &operation["responses"]["200"]["content"]["application/json"]["schema"];
        let page = schema["$ref"].as_str().unwrap_or_else(|| panic!("{method} {path} inlines its page: {schema}"));
        let items = page_items(&doc, component(&doc, page));
        assert!(items.is_some_and(|items| items["$ref"].is_string()), "{method} {path}: {page}");
    }
}

/// The items of a page's `data`, also when the page is a part of an `allOf` (a dashboard
/// that carries a page of members).
fn page_items<'d>(doc: &'d Value, schema: &'d Value) -> Option<&'d Value> {
    if let Some(target) = schema["$ref"].as_str() {
        return page_items(doc, component(doc, target));
    }
    let data = &schema["properties"]["data"];
    if data["type"] == "array" {
        return Some(&data["items"]);
    }
    schema["allOf"].as_array()?.iter().find_map(|part| page_items(doc, part))
}

/// The `$ref`s of a part of the document, but those inside examples, which show bodies
/// (a SCIM member's `$ref` is a URL).
fn references(value: &Value) -> Vec<&str> {
    match value {
        Value::Object(map) => map
            .iter()
            .filter(|(key, _)| !["example", "examples"].contains(&key.as_str()))
            .flat_map(|(key, v)| if key == "$ref" { v.as_str().into_iter().collect() } else { references(v) })
            .collect(),
        Value::Array(items) => items.iter().flat_map(references).collect(),
        _ => Vec::new(),
    }
}

/// Every `$ref` names a schema of `components`.
#[test]
fn every_reference_resolves() {
    let doc = document();
    let all = references(&doc);
    assert!(all.len() > 100, "{} references", all.len());
    for target in all {
        assert!(component(&doc, target).is_object(), "{target} is not in components");
    }
}

/// Every schema a parameter names is a component, so a generated client has one type for
/// it (`ExportFormat`), not an inline copy per operation or a dangling reference.
#[test]
fn parameters_name_schemas_of_components() {
    let doc = document();
    let mut named = Vec::new();
    for (path, method, operation) in operations(&doc) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            for target in references(parameter) {
                assert!(component(&doc, target).is_object(), "{method} {path} {}: {target}", parameter["name"]);
                named.push(target.to_owned());
            }
        }
    }
    assert!(named.contains(&"#/components/schemas/ExportFormat".to_owned()), "{named:?}");
    assert!(doc["components"]["schemas"]["ExportFormat"]["enum"].is_array());
}

/// Whether a schema shows a reader, and the clients generated from it, what a value looks
/// like. It does when it carries `example`, `examples`, `enum` or `const`; when it refers to
/// a component that does; when it is a boolean (or `null`), whose values are all there is to
/// show; when every part of an `allOf`, every alternative of a `oneOf` or `anyOf`, the items
/// of an array or the values of a map do; and, for an object, when every required property
/// does and at least one property does (so that an object of optional fields, such as a
/// PATCH body, still shows one). A bare string or number does not: the example is what tells
/// an id from a name or micro-units from cents.
fn exemplified(doc: &Value, schema: &Value, seen: &mut Vec<String>) -> bool {
    if ["example", "examples", "enum", "const"].iter().any(|key| schema.get(key).is_some()) {
        return true;
    }
    if let Some(target) = schema["$ref"].as_str() {
        if seen.iter().any(|s| s == target) {
            return true;
        }
        seen.push(target.to_owned());
        let answer = exemplified(doc, component(doc, target), seen);
        seen.pop();
        return answer;
    }
    for composition in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = schema[composition].as_array() {
            return parts.iter().all(|part| exemplified(doc, part, seen));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() && types.iter().all(|kind| ["boolean", "null"].contains(kind)) {
        return true;
    }
    if types.contains(&"array") {
        return exemplified(doc, &schema["items"], seen);
    }
    if let Some(properties) = schema["properties"].as_object() {
        let required = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str);
        return required.into_iter().all(|name| exemplified(doc, &properties[name], seen))
            && properties.values().any(|property| exemplified(doc, property, seen));
    }
    schema["additionalProperties"].is_object() && exemplified(doc, &schema["additionalProperties"], seen)
}

/// Whether a media type is JSON (`application/json`, or a `+json` type such as SCIM's).
fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || media_type.ends_with("+json")
}

/// What a client generator and a reader need of every operation: a stable `operationId`
/// (unique, snake case), a declared tag to group it under, an example of every JSON body it
/// takes or answers with success (on the media type, or by [`exemplified`] its schema), and
/// errors a program can branch on: every 4xx and 5xx of `/v1` and the probes is an
/// `application/problem+json` `Problem` listing its codes in `x-problem-codes`, each
/// explained in the description; those of `/scim/v2` are SCIM errors
/// (`application/scim+json`, `ScimErrorBody`), whose `scimType` RFC 7644 fixes.
#[test]
fn every_operation_is_documented_for_clients() {
    let doc = document();
    let tags: Vec<&str> = doc["tags"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    let snake_case = regex::Regex::new("^[a-z][a-z0-9]*(_[a-z0-9]+)*$").unwrap();
    let mut ids = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for (path, method, operation) in operations(&doc) {
        let at = format!("{} {path}", method.to_uppercase());
        match operation["operationId"].as_str() {
            Some(id) if snake_case.is_match(id) && ids.insert(id.to_owned()) => {}
            id => failures.push(format!("{at}: operationId {id:?} is missing, not snake case or not unique")),
        }
        let own_tags: Vec<&str> =
            operation["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        if own_tags.is_empty() || !own_tags.iter().all(|tag| tags.contains(tag)) {
            failures.push(format!("{at}: tags {own_tags:?} are none or undeclared"));
        }
        let mut bodies: Vec<(String, &Value)> = Vec::new();
        for (media_type, content) in operation["requestBody"]["content"].as_object().into_iter().flatten() {
            bodies.push((format!("request {media_type}"), content));
        }
        for (status, response) in operation["responses"].as_object().unwrap() {
            let content = response["content"].as_object().into_iter().flatten();
            if status.starts_with('2') {
                bodies.extend(content.map(|(media_type, body)| (format!("{status} {media_type}"), body)));
                continue;
            }
            let media_types: Vec<&String> =
                response["content"].as_object().into_iter().flatten().map(|(m, _)| m).collect();
            let (media_type, schema) = if path.starts_with("/scim/v2") {
                ("application/scim+json", "#/components/schemas/ScimErrorBody")
            } else {
                ("application/problem+json", "#/components/schemas/Problem")
            };
            if media_types != [media_type] || response["content"][media_type]["schema"]["$ref"] != schema {
                failures.push(format!("{at} {status}: answers {media_types:?}, not {media_type} {schema}"));
                continue;
            }
            if path.starts_with("/scim/v2") {
                continue;
            }
            let codes = problem_codes(&operation, status);
            let description = response["description"].as_str().unwrap_or_default();
            if codes.is_empty() || codes.iter().any(|code| !description.contains(&format!("`{code}`"))) {
                failures.push(format!("{at} {status}: x-problem-codes {codes:?} are none or not explained"));
            }
        }
        for (what, body) in bodies {
            let media_type = what.split(' ').nth(1).unwrap_or_default();
            let shown = body.get("example").is_some() || body.get("examples").is_some();
            if is_json(media_type) && !shown && !exemplified(&doc, &body["schema"], &mut Vec::new()) {
                failures.push(format!("{at}: the {what} body has no example: {}", body["schema"]));
            }
        }
    }
    assert!(ids.len() >= 100, "{} operations", ids.len());
    assert!(failures.is_empty(), "{} defects:\n{}", failures.len(), failures.join("\n"));
}

/// The test above tells an exemplified schema from one that is not.
#[test]
fn an_operation_without_examples_is_told_apart() {
    let doc = json!({"components": {"schemas": {
        "Shown": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "example": "x_1"}}},
        "Bare": {"type": "object", "required": ["id", "on"], "properties": {"id": {"type": "string"}, "on": {"type": "boolean"}}},
        "Optional": {"type": "object", "properties": {"name": {"type": ["string", "null"]}}},
        "Page": {"type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Shown"}}}},
    }}});
    let shown = |schema: Value| exemplified(&doc, &schema, &mut Vec::new());
    assert!(shown(json!({"$ref": "#/components/schemas/Shown"})));
    assert!(shown(json!({"$ref": "#/components/schemas/Page"})));
    assert!(shown(json!({"type": "string", "enum": ["csv", "ndjson"]})));
    assert!(shown(json!({"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Shown"}})));
    assert!(!shown(json!({"$ref": "#/components/schemas/Bare"})));
    assert!(!shown(json!({"$ref": "#/components/schemas/Optional"})));
    assert!(!shown(json!({"type": "object"})));
    assert!(!shown(json!({"allOf": [{"$ref": "#/components/schemas/Shown"}, {"$ref": "#/components/schemas/Bare"}]})));
    assert!(!shown(json!({"type": "array", "items": {"type": "integer"}})));
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
