//! AI and spend governance and the dashboard, through the real server.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, org_uuid, TestApp};

async fn api_key(app: &TestApp, org: &str, owner: &str, permissions: &[&str]) -> String {
    let body = json!({ "name": "gateway", "permissions": permissions });
    let key =
        expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), owner, body).await, StatusCode::CREATED).await;
    key["secret"].as_str().unwrap().to_owned()
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value, if_match: Option<&str>) -> reqwest::Response {
    crate::sso::put(app, path, token, body, if_match).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_checks_requests_against_the_policy_it_was_given() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme AI").await;
    let path = format!("/v1/orgs/{org}/llm-policy");
    let initial = app.get(&path, &owner).await;
    assert_eq!(initial.headers()["etag"], "\"0\"");
    let policy = json!({
        "providers": ["openai", "self-*"],
        "models": [
            { "provider": "openai", "model": "gpt-4o*", "max_tokens": 8000 },
            { "model": "llama-3.?-70b" }
        ],
        "default_model": "gpt-4o-mini",
        "regions": ["eu"]
    });
    let saved = put(&app, &path, &owner, policy.clone(), Some("\"0\"")).await;
    assert_eq!(saved.headers()["etag"], "\"1\"");
    let saved = expect_status(saved, StatusCode::OK).await;
    assert_eq!(saved["models"][0]["max_tokens"], 8000);
    expect_problem(
        put(&app, &path, &owner, policy, Some("\"0\"")).await,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    )
    .await;

    let gateway = api_key(&app, &org, &owner, &["llm:read"]).await;
    let check = |body: Value| {
        let app = &app;
        let gateway = gateway.clone();
        let org = org.clone();
        async move {
            expect_status(app.post(&format!("/v1/orgs/{org}/llm-policy/check"), &gateway, body).await, StatusCode::OK)
                .await
        }
    };
    let ok = check(json!({ "provider": "OpenAI", "region": "eu", "requested_tokens": 8000 })).await;
    assert_eq!((ok["admitted"].as_bool(), ok["code"].as_str()), (Some(true), Some("allowed")));
    assert_eq!(
        (ok["model"].as_str(), ok["rule"].as_str(), ok["policy_version"].as_i64()),
        (Some("gpt-4o-mini"), Some("models[0]"), Some(1))
    );
    let cases = [
        (json!({ "provider": "anthropic", "model": "claude-3", "region": "eu" }), "provider_not_allowed"),
        (json!({ "provider": "openai", "model": "gpt-4o" }), "region_required"),
        (json!({ "provider": "openai", "model": "gpt-4o", "region": "us" }), "region_not_allowed"),
        (json!({ "provider": "self-vllm", "model": "gpt-4o", "region": "eu" }), "model_not_allowed"),
        (
            json!({ "provider": "openai", "model": "gpt-4o", "region": "eu", "requested_tokens": 8001 }),
            "max_tokens_exceeded",
        ),
    ];
    for (request, code) in cases {
        let decision = check(request.clone()).await;
        assert_eq!((decision["admitted"].as_bool(), decision["code"].as_str()), (Some(false), Some(code)), "{request}");
    }
    let local = check(json!({ "provider": "self-vllm", "model": "llama-3.1-70b", "region": "eu" })).await;
    assert_eq!(local["admitted"], true);

    // Bad requests are field errors; a key without llm:read is refused.
    let bad = app.post(&format!("/v1/orgs/{org}/llm-policy/check"), &gateway, json!({ "provider": "" })).await;
    expect_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let bad_policy = json!({ "models": [{ "model": "gpt-4o" }], "default_model": "claude-3" });
    let refused = put(&app, &path, &owner, bad_policy, None).await;
    let problem = expect_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "default_model_not_allowed", "{problem}");
    let meter = api_key(&app, &org, &owner, &["usage:write"]).await;
    let denied = app.post(&format!("/v1/orgs/{org}/llm-policy/check"), &meter, json!({ "provider": "openai" })).await;
    expect_problem(denied, StatusCode::FORBIDDEN, "forbidden").await;
    // Another organization's gateway key reaches nothing here.
    let other_owner = app.token("other-owner");
    let other = app.create_org(&other_owner, "Other AI").await;
    let foreign = api_key(&app, &other, &other_owner, &["llm:read"]).await;
    let foreign =
        app.post(&format!("/v1/orgs/{org}/llm-policy/check"), &foreign, json!({ "provider": "openai" })).await;
    expect_problem(foreign, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.audit_actions(&org).iter().filter(|a| *a == "llm.policy_updated").count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_duplicates_of_a_usage_event_count_once() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Metered").await;
    let meter = api_key(&app, &org, &owner, &["usage:write"]).await;
    let path = format!("/v1/orgs/{org}/usage");
    let event =
        json!({ "idempotency_key": "evt-42", "amount_micros": 1_500_000, "model": "gpt-4o", "feature": "chat" });
    let sends = (0..16).map(|_| app.post(&path, &meter, event.clone()));
    let responses = futures_util::future::join_all(sends).await;
    let mut created = 0;
    let mut ids = Vec::new();
    for response in responses {
        let replayed = response.headers().get("idempotent-replayed").is_some();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => assert!(replayed),
            other => panic!("unexpected {other}: {body}"),
        }
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(created, 1, "exactly one request records the event");
    ids.dedup();
    assert_eq!(ids.len(), 1, "every answer is the first event");
    let spend = expect_status(app.get(&format!("/v1/orgs/{org}/spend"), &owner).await, StatusCode::OK).await;
    assert_eq!(spend["spend_micros"], 1_500_000);
    assert_eq!(app.db.count(&format!("SELECT count(*) FROM usage_events WHERE org_id = '{}'", org_uuid(&org))), 1);

    // The same key for another amount is refused and counts nothing.
    let other = json!({ "idempotency_key": "evt-42", "amount_micros": 2 });
    expect_problem(app.post(&path, &meter, other).await, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
        .await;
    // Distinct events from many recorders at once all count.
    let sends =
        (0..40).map(|i| app.post(&path, &meter, json!({ "idempotency_key": format!("n-{i}"), "amount_micros": 1000 })));
    for response in futures_util::future::join_all(sends).await {
        expect_status(response, StatusCode::CREATED).await;
    }
    let spend = expect_status(app.get(&format!("/v1/orgs/{org}/spend"), &owner).await, StatusCode::OK).await;
    assert_eq!(spend["spend_micros"], 1_540_000);
    // Usage events never enter the audit chain.
    assert!(!app.audit_actions(&org).iter().any(|a| a.starts_with("usage")));
    // Money is never a float: a fractional amount is refused.
    let fractional = json!({ "idempotency_key": "frac", "amount_micros": 1.5 });
    let refused = app.post(&path, &meter, fractional).await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
}

#[tokio::test(flavor = "multi_thread")]
async fn crossing_into_each_posture_is_audited_and_emailed_once() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Budgeted").await;
    let meter = api_key(&app, &org, &owner, &["usage:write"]).await;
    let limits = json!({ "currency": "EUR", "budget_micros": 100_000_000, "warning_percent": 50, "max_overage_micros": 10_000_000 });
    let saved =
        expect_status(put(&app, &format!("/v1/orgs/{org}/spend/limits"), &owner, limits, None).await, StatusCode::OK)
            .await;
    assert_eq!(
        (saved["posture"].as_str(), saved["currency"].as_str(), saved["window"].as_str()),
        (Some("ok"), Some("EUR"), Some("monthly"))
    );
    let emails = || app.db.count(&format!("SELECT count(*) FROM outbox_emails WHERE org_id = '{}'", org_uuid(&org)));
    let postures = || app.audit(&org).into_iter().filter(|e| e.action == "spend.posture_changed").count();
    let path = format!("/v1/orgs/{org}/usage");
    let mut n = 0;
    let mut record = |amount: i64| {
        n += 1;
        app.post(&path, &meter, json!({ "idempotency_key": format!("e{n}"), "amount_micros": amount }))
    };
    expect_status(record(49_000_000).await, StatusCode::CREATED).await;
    assert_eq!((postures(), emails()), (0, 0));
    // Many recorders cross the warning line at once: still one record, one email.
    let burst: Vec<_> = (0..10).map(|_| record(200_000)).collect();
    for response in futures_util::future::join_all(burst).await {
        expect_status(response, StatusCode::CREATED).await;
    }
    assert_eq!((postures(), emails()), (1, 1));
    expect_status(record(60_000_000).await, StatusCode::CREATED).await; // 111: blocked
    assert_eq!((postures(), emails()), (2, 2));
    expect_status(record(1).await, StatusCode::CREATED).await;
    assert_eq!((postures(), emails()), (2, 2));
    let spend = expect_status(app.get(&format!("/v1/orgs/{org}/spend"), &owner).await, StatusCode::OK).await;
    assert_eq!(spend["posture"], "blocked");
    assert_eq!(spend["allowance_micros"], 0);
    assert_eq!(spend["remaining_micros"], -11_000_001);
    let record = app.audit(&org).into_iter().rev().find(|e| e.action == "spend.posture_changed").unwrap();
    assert_eq!(record.changes["posture"]["to"], "blocked");
    assert_eq!(record.actor_type, "api_key");
    // The owner is told in the product too, once per level.
    let notices = expect_status(app.get("/v1/me/notifications", &owner).await, StatusCode::OK).await;
    let kinds: Vec<_> = notices["data"].as_array().unwrap().iter().filter(|n| n["kind"] == "spend_posture").collect();
    assert_eq!(kinds.len(), 2, "{notices}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_spend_window_follows_the_organizations_time_zone() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let created = app.post("/v1/orgs", &owner, json!({ "name": "Kiritimati", "timezone": "Pacific/Kiritimati" })).await;
    let org = expect_status(created, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
    let spend = expect_status(app.get(&format!("/v1/orgs/{org}/spend"), &owner).await, StatusCode::OK).await;
    // UTC+14: the local month opens at 10:00 UTC on the last day of the previous UTC month.
    let start: chrono::DateTime<chrono::Utc> = spend["window_start"].as_str().unwrap().parse().unwrap();
    let local = start.with_timezone(&chrono_tz::Pacific::Kiritimati);
    assert_eq!((local.format("%d %H:%M").to_string()), "01 00:00");
    let meter = api_key(&app, &org, &owner, &["usage:write"]).await;
    let path = format!("/v1/orgs/{org}/usage");
    // One second before the window opened belongs to the previous window; the window's
    // first second to this one.
    let before = (start - chrono::Duration::seconds(1)).to_rfc3339();
    let at = start.to_rfc3339();
    let old = json!({ "idempotency_key": "before", "amount_micros": 7, "occurred_at": before });
    let new = json!({ "idempotency_key": "at", "amount_micros": 5, "occurred_at": at });
    for body in [old, new] {
        let response = app.post(&path, &meter, body).await;
        // A window that opened more than 35 days ago cannot happen: months are shorter.
        expect_status(response, StatusCode::CREATED).await;
    }
    let spend = expect_status(app.get(&format!("/v1/orgs/{org}/spend"), &owner).await, StatusCode::OK).await;
    assert_eq!(spend["spend_micros"], 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_each_section_to_who_may_read_it_and_counts_right() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Dashboarded").await;
    app.seed_members(&org, "dev", 5, "member");
    app.seed_members(&org, "ops", 2, "admin");
    let path = format!("/v1/orgs/{org}/dashboard");
    let full = expect_status(app.get(&path, &owner).await, StatusCode::OK).await;
    assert_eq!(full["members"]["total"], 8);
    let roles: Vec<(String, i64)> = full["members"]["by_role"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["role"].as_str().unwrap().to_owned(), r["members"].as_i64().unwrap()))
        .collect();
    assert_eq!(roles, vec![("admin".into(), 2), ("member".into(), 5), ("owner".into(), 1)]);
    assert_eq!((full["mfa"]["enrolled"].as_i64(), full["mfa"]["coverage_bp"].as_i64()), (Some(1), Some(1250)));
    for section in ["invites", "teams", "api_keys", "audit", "spend"] {
        assert!(full.get(section).is_some(), "{section} missing for the owner: {full}");
    }

    // A plain member sees fewer sections.
    let members =
        expect_status(app.get(&format!("/v1/orgs/{org}/members?q=dev-1"), &owner).await, StatusCode::OK).await;
    let dev = members["data"][0]["id"].as_str().unwrap().to_owned();
    let plain = app.token("dev-1");
    let seen = expect_status(app.get(&path, &plain).await, StatusCode::OK).await;
    let sections: Vec<_> = seen.as_object().unwrap().keys().cloned().collect();
    assert_eq!(sections, vec!["generated_at", "members", "teams"], "{seen}");
    expect_problem(app.get(&path, &app.token("stranger")).await, StatusCode::NOT_FOUND, "not_found").await;

    // Counters follow role changes, second factors and removals.
    let promoted = app.patch(&format!("/v1/orgs/{org}/members/{dev}"), &owner, json!({ "role": "admin" })).await;
    expect_status(promoted, StatusCode::OK).await;
    expect_status(app.get(&path, &app.token_with_mfa("dev-2")).await, StatusCode::OK).await;
    let ops = expect_status(app.get(&format!("/v1/orgs/{org}/members?q=ops-1"), &owner).await, StatusCode::OK).await;
    let ops = ops["data"][0]["id"].as_str().unwrap().to_owned();
    expect_status(
        app.request(Method::DELETE, &format!("/v1/orgs/{org}/members/{ops}"), Some(&owner), None).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    let after = expect_status(app.get(&path, &owner).await, StatusCode::OK).await;
    assert_eq!(after["members"]["total"], 7);
    let roles: Vec<i64> =
        after["members"]["by_role"].as_array().unwrap().iter().map(|r| r["members"].as_i64().unwrap()).collect();
    assert_eq!(roles, vec![2, 4, 1]);
    assert_eq!(after["mfa"]["enrolled"], 2);
    // The counters agree with the rows.
    let uuid = org_uuid(&org);
    let drift = app.db.count(&format!(
        "SELECT count(*) FROM (SELECT role, count(*) AS n FROM memberships WHERE org_id = '{uuid}' GROUP BY role) m \
         FULL JOIN (SELECT role, members FROM org_member_stats WHERE org_id = '{uuid}' AND members > 0) s USING (role) \
         WHERE m.n IS DISTINCT FROM s.members"
    ));
    assert_eq!(drift, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn spend_past_the_range_of_a_bigint_saturates_instead_of_failing() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Huge").await;
    let uuid = org_uuid(&org);
    // A day already holding nearly the largest amount a bigint can.
    app.db
        .execute(&format!(
            "INSERT INTO spend_days (org_id, day, shard, amount_micros)
               SELECT '{uuid}', (now() AT TIME ZONE 'UTC')::date, s, 9223372036854775000 FROM generate_series(0, 15) s"
        ))
        .unwrap();
    let event = json!({ "idempotency_key": "big", "amount_micros": 1_000_000_000_000_000_i64 });
    expect_status(app.post(&format!("/v1/orgs/{org}/usage"), &owner, event).await, StatusCode::CREATED).await;
    let spend = expect_status(app.get(&format!("/v1/orgs/{org}/spend"), &owner).await, StatusCode::OK).await;
    assert_eq!(spend["spend_micros"].as_i64(), Some(i64::MAX));
}
