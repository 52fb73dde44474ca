use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect_problem, expect_status, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_lifecycle_of_an_organization() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");

    let created = app
        .post(
            "/v1/orgs",
            &ada,
            json!({
                "name": "Acme, Inc.", "domain": "Acme.com", "timezone": "Europe/Paris",
                "logo_url": "https://cdn.acme.com/logo.png",
                "address": { "line1": "1 rue de Rivoli", "city": "Paris", "country": "fr" }
            }),
        )
        .await;
    assert_eq!(created.headers()["etag"], "\"1\"");
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let org = expect_status(created, StatusCode::CREATED).await;
    let id = org["id"].as_str().unwrap();
    assert!(id.starts_with("org_"));
    assert_eq!(location, format!("/v1/orgs/{id}"));
    assert_eq!(org["slug"], "acme-inc");
    assert_eq!(org["domain"], "acme.com");
    assert_eq!(org["address"]["country"], "FR");
    assert!(org["created_at"].as_str().unwrap().ends_with('Z'), "RFC 3339 UTC");

    let mine = expect_status(app.get("/v1/orgs", &ada).await, StatusCode::OK).await;
    assert_eq!(mine["data"][0]["organization"]["id"], id);
    assert_eq!(mine["data"][0]["role"], "owner");
    assert_eq!(mine["data"][0]["access"], "direct");
    assert_eq!(mine["data"][0]["is_default"], true);
    assert_eq!(mine["data"][0]["denied_permissions"], json!([]));

    let by_id = expect_status(app.get(&format!("/v1/orgs/{id}"), &ada).await, StatusCode::OK).await;
    assert_eq!(by_id, org);
    let by_me = expect_status(app.get("/v1/orgs/me", &ada).await, StatusCode::OK).await;
    assert_eq!(by_me["id"], id);

    let updated = app.patch(&format!("/v1/orgs/{id}"), &ada, json!({ "name": "Acme Corp", "domain": null })).await;
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let updated = expect_status(updated, StatusCode::OK).await;
    assert_eq!(updated["name"], "Acme Corp");
    assert_eq!(updated["domain"], json!(null));
    assert_eq!(updated["timezone"], "Europe/Paris", "absent fields are kept");
    assert_eq!(updated["slug"], "acme-inc", "the slug does not follow a rename");

    expect_status(app.delete(&format!("/v1/orgs/{id}"), &ada).await, StatusCode::NO_CONTENT).await;
    expect_problem(app.get(&format!("/v1/orgs/{id}"), &ada).await, StatusCode::NOT_FOUND, "not_found").await;
    expect_problem(app.get("/v1/orgs/me", &ada).await, StatusCode::NOT_FOUND, "not_found").await;
    let mine = expect_status(app.get("/v1/orgs", &ada).await, StatusCode::OK).await;
    assert_eq!(mine["data"], json!([]));

    assert_eq!(app.audit_actions(id), vec!["org.created", "org.updated", "org.deleted"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_mutation_writes_one_audit_record_with_its_context() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let id = app.create_org(&ada, "Acme").await;
    let response = app
        .raw()
        .patch(format!("{}/v1/orgs/{id}", app.base))
        .bearer_auth(&ada)
        .header("user-agent", "audit-test/1.0")
        .json(&json!({ "timezone": "Asia/Tokyo" }))
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    expect_status(response, StatusCode::OK).await;

    let events = app.audit(&id);
    assert_eq!(events.len(), 2);
    let created = &events[0];
    assert_eq!(
        (created.action.as_str(), created.target_type.as_str(), created.target_id.as_str()),
        ("org.created", "organization", id.as_str())
    );
    assert_eq!(created.actor_type, "user");
    assert!(created.actor_id.starts_with("usr_"));
    assert_eq!(created.changes["name"]["to"], "Acme");
    let updated = &events[1];
    assert_eq!(updated.action, "org.updated");
    assert_eq!(updated.changes["timezone"], json!({ "from": null, "to": "Asia/Tokyo" }));
    assert_eq!(updated.changes["version"], json!({ "from": 1, "to": 2 }));
    assert_eq!(updated.user_agent.as_deref(), Some("audit-test/1.0"));
    assert_eq!(updated.client_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(updated.request_id.as_deref(), Some(request_id.as_str()), "the audit record names the request");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_and_no_op_changes_write_no_audit_record() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let id = app.create_org(&ada, "Acme").await;
    expect_status(app.patch(&format!("/v1/orgs/{id}"), &ada, json!({ "name": "Acme" })).await, StatusCode::OK).await;
    expect_problem(
        app.patch(&format!("/v1/orgs/{id}"), &ada, json!({ "timezone": "Nowhere" })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(app.audit_actions(&id), vec!["org.created"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_lists_every_bad_field() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let body = json!({
        "name": "  ", "slug": "Bad Slug", "domain": "localhost", "logo_url": "javascript:alert(1)",
        "timezone": "Mars/Olympus", "address": { "line1": "", "city": "Paris", "country": "France" }
    });
    let problem =
        expect_problem(app.post("/v1/orgs", &ada, body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["name", "slug", "domain", "logo_url", "timezone", "address.line1", "address.country"]);
    for error in problem["errors"].as_array().unwrap() {
        assert!(!error["code"].as_str().unwrap().is_empty() && !error["message"].as_str().unwrap().is_empty());
    }
    let oversized = json!({ "name": "x".repeat(5000) });
    let problem = expect_problem(
        app.post("/v1/orgs", &ada, oversized).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "name");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_bodies_are_400_and_wrong_media_types_415() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let send = |body: &'static str, content_type: &'static str| {
        app.raw()
            .post(format!("{}/v1/orgs", app.base))
            .bearer_auth(&ada)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    expect_problem(send("{\"name\":", "application/json").await.unwrap(), StatusCode::BAD_REQUEST, "malformed_request")
        .await;
    expect_problem(
        send("{\"name\": 42}", "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed_request",
    )
    .await;
    let typo = expect_problem(
        send("{\"name\": \"A\", \"nmae\": \"typo\"}", "application/json").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!((&typo["errors"][0]["field"], &typo["errors"][0]["code"]), (&json!("nmae"), &json!("unknown_field")));
    expect_problem(
        send("name=Acme", "application/x-www-form-urlencoded").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(100_000));
    let response = app
        .raw()
        .post(format!("{}/v1/orgs", app.base))
        .bearer_auth(&ada)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    expect_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn names_and_slugs_are_unique_among_live_orgs() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let bob = app.token("bob");
    let first = app.create_org(&ada, "Acme").await;
    expect_problem(app.post("/v1/orgs", &bob, json!({ "name": "ACME" })).await, StatusCode::CONFLICT, "org_name_taken")
        .await;
    expect_problem(
        app.post("/v1/orgs", &bob, json!({ "name": "Other", "slug": "acme" })).await,
        StatusCode::CONFLICT,
        "org_slug_taken",
    )
    .await;

    let second = app.create_org(&bob, "Acme!").await;
    let second_org = expect_status(app.get(&format!("/v1/orgs/{second}"), &bob).await, StatusCode::OK).await;
    assert_ne!(second_org["slug"], "acme", "a derived slug is made unique, not refused");
    expect_problem(
        app.patch(&format!("/v1/orgs/{second}"), &bob, json!({ "name": "acme" })).await,
        StatusCode::CONFLICT,
        "org_name_taken",
    )
    .await;

    expect_status(app.delete(&format!("/v1/orgs/{first}"), &ada).await, StatusCode::NO_CONTENT).await;
    let reused =
        expect_status(app.post("/v1/orgs", &bob, json!({ "name": "acme", "slug": "acme" })).await, StatusCode::CREATED)
            .await;
    assert_eq!(reused["slug"], "acme", "deleting an org frees its name and slug");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_creates_of_one_name_yield_exactly_one_org() {
    let app = TestApp::spawn().await;
    let tokens: Vec<String> = (0..8).map(|i| app.token(&format!("racer-{i}"))).collect();
    let attempts = tokens.iter().map(|t| app.post("/v1/orgs", t, json!({ "name": "Contested" })));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts).await.iter().map(|r| r.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_updates_distinguish_absent_from_null() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let body = json!({ "name": "Acme", "domain": "acme.com", "timezone": "UTC", "address": { "line1": "1 Main St", "city": "Springfield", "country": "US" } });
    let id = expect_status(app.post("/v1/orgs", &ada, body).await, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/orgs/{id}");

    let kept = expect_status(app.patch(&path, &ada, json!({})).await, StatusCode::OK).await;
    assert_eq!(kept["domain"], "acme.com");
    let cleared =
        expect_status(app.patch(&path, &ada, json!({ "address": null, "timezone": null })).await, StatusCode::OK).await;
    assert_eq!(cleared["address"], json!(null));
    assert_eq!(cleared["timezone"], json!(null));
    assert_eq!(cleared["domain"], "acme.com");

    let problem = expect_problem(
        app.patch(&path, &ada, json!({ "name": null, "slug": null })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
    let problem = expect_problem(
        app.patch(&path, &ada, json!({ "address": { "line1": "x", "city": "y", "country": "ZZZ" } })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "address.country");
}

#[tokio::test(flavor = "multi_thread")]
async fn if_match_refuses_a_stale_write() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let id = app.create_org(&ada, "Acme").await;
    let url = format!("{}/v1/orgs/{id}", app.base);
    let patch = |etag: &'static str, name: &'static str| {
        app.raw().patch(&url).bearer_auth(&ada).header("if-match", etag).json(&json!({ "name": name })).send()
    };

    let first = patch("\"1\"", "Acme One").await.unwrap();
    assert_eq!(first.headers()["etag"], "\"2\"");
    expect_status(first, StatusCode::OK).await;
    expect_problem(patch("\"1\"", "Acme Stale").await.unwrap(), StatusCode::PRECONDITION_FAILED, "precondition_failed")
        .await;
    expect_problem(
        patch("W/\"garbage\"", "Acme Garbage").await.unwrap(),
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    )
    .await;
    expect_status(patch("*", "Acme Any").await.unwrap(), StatusCode::OK).await;

    let current = app.get(&format!("/v1/orgs/{id}"), &ada).await;
    assert_eq!(current.headers()["etag"], "\"3\"");
    assert_eq!(expect_status(current, StatusCode::OK).await["name"], "Acme Any");
}

#[tokio::test(flavor = "multi_thread")]
async fn outsiders_get_404_on_every_org_route() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let eve = app.token("eve");
    let id = app.create_org(&ada, "Acme").await;
    let members = expect_status(app.get(&format!("/v1/orgs/{id}/members"), &ada).await, StatusCode::OK).await;
    let member = members["data"][0]["id"].as_str().unwrap().to_owned();

    let routes = [
        ("GET", format!("/v1/orgs/{id}")),
        ("PATCH", format!("/v1/orgs/{id}")),
        ("DELETE", format!("/v1/orgs/{id}")),
        ("GET", format!("/v1/orgs/{id}/members")),
        ("GET", format!("/v1/orgs/{id}/members/{member}")),
        ("POST", format!("/v1/orgs/{id}/leave")),
    ];
    for (method, path) in &routes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app.request(method.clone(), path, Some(&eve), Some(json!({}))).await;
        let problem = expect_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        assert!(!problem.to_string().contains("Acme"), "{method} {path} leaked: {problem}");
    }
    expect_problem(app.get("/v1/orgs/me", &eve).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.audit_actions(&id), vec!["org.created"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn members_without_permission_get_403_naming_it() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let id = app.create_org(&ada, "Acme").await;
    app.seed_members(&id, "plain", 1, "member");
    app.seed_members(&id, "boss", 1, "admin");
    let plain = app.token("plain-1");
    let admin = app.token("boss-1");

    expect_status(app.get(&format!("/v1/orgs/{id}"), &plain).await, StatusCode::OK).await;
    let problem = expect_problem(
        app.patch(&format!("/v1/orgs/{id}"), &plain, json!({ "name": "Mine" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(problem["permission"], "org:update");
    let problem =
        expect_problem(app.delete(&format!("/v1/orgs/{id}"), &plain).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(problem["permission"], "org:delete");

    expect_status(app.patch(&format!("/v1/orgs/{id}"), &admin, json!({ "name": "Acme Admin" })).await, StatusCode::OK)
        .await;
    let problem =
        expect_problem(app.delete(&format!("/v1/orgs/{id}"), &admin).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(problem["permission"], "org:delete", "only an owner deletes the organization");

    let listed = expect_status(app.get("/v1/orgs", &plain).await, StatusCode::OK).await;
    let denied = listed["data"][0]["denied_permissions"].as_array().unwrap();
    assert!(denied.contains(&json!("org:update")) && !denied.contains(&json!("org:read")));
    assert_eq!(app.audit_actions(&id), vec!["org.created", "org.updated"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn platform_staff_may_read_but_not_change_an_org() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let id = app.create_org(&ada, "Acme").await;
    let staff = app.token_with(api::auth::DevToken {
        subject: "support-1".into(),
        email: Some("support@platform.test".into()),
        name: None,
        mfa: true,
        staff: Some(orgd_domain::platform::StaffRole::Read),
        ttl: std::time::Duration::from_secs(600),
    });
    expect_status(app.get(&format!("/v1/orgs/{id}"), &staff).await, StatusCode::OK).await;
    expect_status(app.get(&format!("/v1/orgs/{id}/members"), &staff).await, StatusCode::OK).await;
    expect_problem(
        app.patch(&format!("/v1/orgs/{id}"), &staff, json!({ "name": "Taken Over" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(&format!("/v1/orgs/{id}/leave"), &staff, json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn me_is_the_earliest_joined_live_org() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let first = app.create_org(&ada, "First").await;
    let second = app.create_org(&ada, "Second").await;
    let listed = expect_status(app.get("/v1/orgs", &ada).await, StatusCode::OK).await;
    let flags: Vec<_> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["organization"]["id"].clone(), o["is_default"].clone()))
        .collect();
    assert_eq!(flags, vec![(json!(first), json!(true)), (json!(second), json!(false))]);
    expect_status(app.delete(&format!("/v1/orgs/{first}"), &ada).await, StatusCode::NO_CONTENT).await;
    let me = expect_status(app.get("/v1/orgs/me", &ada).await, StatusCode::OK).await;
    assert_eq!(me["id"], second);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_callers_org_list_pages_without_gaps() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(app.create_org(&ada, &format!("Org {n}")).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/orgs?limit=3&cursor={c}"),
            None => "/v1/orgs?limit=3".to_owned(),
        };
        let page = expect_status(app.get(&path, &ada).await, StatusCode::OK).await;
        seen.extend(
            page["data"].as_array().unwrap().iter().map(|o| o["organization"]["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, created);
}
