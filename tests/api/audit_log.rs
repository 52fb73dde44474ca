use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, org_uuid, TestApp};

async fn org_with_history(app: &TestApp) -> (String, String) {
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    for zone in ["UTC", "Europe/Paris", "Asia/Tokyo"] {
        expect_status(app.patch(&format!("/v1/orgs/{org}"), &owner, json!({ "timezone": zone })).await, StatusCode::OK)
            .await;
    }
    expect_status(
        app.post(&format!("/v1/orgs/{org}/teams"), &owner, json!({ "name": "Core" })).await,
        StatusCode::CREATED,
    )
    .await;
    (org, owner)
}

async fn verify(app: &TestApp, org: &str, token: &str) -> Value {
    expect_status(app.get(&format!("/v1/orgs/{org}/audit-log/verify"), token).await, StatusCode::OK).await
}

/// Changes the database behind the service's back, as a superuser could.
fn tamper(app: &TestApp, sql: &str) {
    app.db
        .execute(&format!(
            "ALTER TABLE audit_events DISABLE TRIGGER USER; {sql}; ALTER TABLE audit_events ENABLE TRIGGER USER;"
        ))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_reads_newest_first_with_filters_and_pages() {
    let app = TestApp::spawn().await;
    let (org, owner) = org_with_history(&app).await;
    let log = format!("/v1/orgs/{org}/audit-log");

    let all = expect_status(app.get(&log, &owner).await, StatusCode::OK).await;
    let actions: Vec<&str> = all["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["team.created", "org.updated", "org.updated", "org.updated", "org.created"]);
    let newest = &all["data"][0];
    assert_eq!(
        (newest["seq"].as_i64(), newest["actor"]["type"].as_str(), newest["target"]["type"].as_str()),
        (Some(5), Some("user"), Some("team"))
    );
    assert_eq!(newest["hash"].as_str().unwrap().len(), 64);
    assert_eq!(all["data"][1]["prev_hash"], all["data"][2]["hash"], "each record links to the one before");

    let updates = expect_status(app.get(&format!("{log}?action=org.&limit=2"), &owner).await, StatusCode::OK).await;
    assert_eq!(updates["data"].as_array().unwrap().len(), 2);
    let rest = expect_status(
        app.get(&format!("{log}?action=org.&limit=2&cursor={}", updates["next_cursor"].as_str().unwrap()), &owner)
            .await,
        StatusCode::OK,
    )
    .await;
    let seqs: Vec<i64> = updates["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["data"].as_array().unwrap())
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![4, 3, 2, 1]);

    let by_target = expect_status(app.get(&format!("{log}?target={org}"), &owner).await, StatusCode::OK).await;
    assert_eq!(by_target["data"].as_array().unwrap().len(), 4);
    let actor = newest["actor"]["id"].as_str().unwrap();
    let by_actor = expect_status(app.get(&format!("{log}?actor={actor}"), &owner).await, StatusCode::OK).await;
    assert_eq!(by_actor["data"].as_array().unwrap().len(), 5);
    let future =
        expect_status(app.get(&format!("{log}?since=2999-01-01T00:00:00Z"), &owner).await, StatusCode::OK).await;
    assert_eq!(future["data"], json!([]));

    expect_problem(
        app.get(&format!("{log}?action=%25%27;drop"), &owner).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get(&format!("{log}?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"), &owner).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(app.get(&format!("{log}?cursor=zzz"), &owner).await, StatusCode::BAD_REQUEST, "invalid_cursor")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_the_log_needs_audit_read() {
    let app = TestApp::spawn().await;
    let (org, _) = org_with_history(&app).await;
    app.seed_members(&org, "plain", 1, "member");
    let plain = app.token("plain-1");
    let outsider = app.token("outsider");
    for path in ["audit-log", "audit-log/verify", "audit-log/export"] {
        let problem = expect_problem(
            app.get(&format!("/v1/orgs/{org}/{path}"), &plain).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_eq!(problem["permission"], "audit:read");
        expect_problem(app.get(&format!("/v1/orgs/{org}/{path}"), &outsider).await, StatusCode::NOT_FOUND, "not_found")
            .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_finds_altered_removed_and_truncated_records() {
    let app = TestApp::spawn().await;
    let (org, owner) = org_with_history(&app).await;
    let intact = verify(&app, &org, &owner).await;
    assert_eq!(
        (intact["ok"].as_bool(), intact["verified"].as_u64(), intact["head_seq"].as_i64()),
        (Some(true), Some(5), Some(5))
    );

    let id = org_uuid(&org);
    tamper(&app, &format!("UPDATE audit_events SET changes = '{{\"timezone\": {{\"to\": \"Mars/Base\"}}}}' WHERE org_id = '{id}' AND seq = 3"));
    let altered = verify(&app, &org, &owner).await;
    assert_eq!(altered["ok"], false);
    assert_eq!(altered["first_break"]["seq"], 3);
    assert_eq!(altered["first_break"]["reason"], "hash_mismatch");
    let partial =
        expect_status(app.get(&format!("/v1/orgs/{org}/audit-log/verify?from_seq=4"), &owner).await, StatusCode::OK)
            .await;
    assert_eq!(
        (partial["ok"].as_bool(), partial["verified"].as_u64()),
        (Some(true), Some(2)),
        "a range after the damage checks out"
    );

    tamper(&app, &format!("DELETE FROM audit_events WHERE org_id = '{id}' AND seq = 3"));
    let removed = verify(&app, &org, &owner).await;
    assert_eq!(
        (removed["first_break"]["seq"].as_i64(), removed["first_break"]["reason"].as_str()),
        (Some(3), Some("gap"))
    );

    let other = app.create_org(&owner, "Other").await;
    expect_status(app.patch(&format!("/v1/orgs/{other}"), &owner, json!({ "timezone": "UTC" })).await, StatusCode::OK)
        .await;
    tamper(&app, &format!("DELETE FROM audit_events WHERE org_id = '{}' AND seq = 2", org_uuid(&other)));
    let truncated = verify(&app, &other, &owner).await;
    assert_eq!(truncated["first_break"]["reason"], "truncated");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_of_one_org_never_fork_the_chain() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Busy").await;
    let creates = (0..12).map(|n| {
        let body = json!({ "name": format!("Team {n}") });
        let path = format!("/v1/orgs/{org}/teams");
        let (app, owner) = (&app, owner.clone());
        async move { app.post(&path, &owner, body).await.status() }
    });
    for status in futures::future::join_all(creates).await {
        assert_eq!(status, StatusCode::CREATED);
    }
    let report = verify(&app, &org, &owner).await;
    assert_eq!((report["ok"].as_bool(), report["verified"].as_u64()), (Some(true), Some(13)));
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_stream_and_verify_offline() {
    let app = TestApp::spawn().await;
    let (org, owner) = org_with_history(&app).await;
    let head = verify(&app, &org, &owner).await["head_hash"].as_str().unwrap().to_owned();

    let response = app.get(&format!("/v1/orgs/{org}/audit-log/export"), &owner).await;
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let ndjson = response.text().await.unwrap();
    let lines: Vec<Value> = ndjson.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        lines.iter().map(|l| l["seq"].as_i64().unwrap()).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5],
        "oldest first"
    );

    let file = std::env::temp_dir().join(format!("orgd-export-{}.ndjson", uuid::Uuid::new_v4()));
    std::fs::write(&file, &ndjson).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/verify_audit_export.py");
    let run = std::process::Command::new("python3")
        .arg(script)
        .arg(&file)
        .arg("--head")
        .arg(&head)
        .output()
        .expect("python3 runs");
    let said = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(run.status.success() && said.starts_with("ok 5 records"), "{said}");
    let forged = ndjson.replacen("Europe/Paris", "Europe/Rome", 1);
    std::fs::write(&file, forged).unwrap();
    let run = std::process::Command::new("python3").arg(script).arg(&file).output().expect("python3 runs");
    assert!(!run.status.success(), "a forged export fails offline verification");
    let without_first: String = ndjson.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, without_first).unwrap();
    let run = std::process::Command::new("python3").arg(script).arg(&file).output().expect("python3 runs");
    assert!(!run.status.success(), "a whole-log export missing its start fails");
    let run =
        std::process::Command::new("python3").arg(script).arg(&file).arg("--range").output().expect("python3 runs");
    assert!(run.status.success(), "the same lines verify as a range");
    let _ = std::fs::remove_file(&file);

    let csv = app.get(&format!("/v1/orgs/{org}/audit-log/export?format=csv"), &owner).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("seq,id,occurred_at,action"));
    assert_eq!(rows.len(), 6);

    let none = app
        .request(
            Method::GET,
            &format!("/v1/orgs/{org}/audit-log/export?since=2999-01-01T00:00:00Z"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(none.text().await.unwrap(), "");
    let since = urlencode(lines[2]["occurred_at"].as_str().unwrap());
    let a_range =
        app.get(&format!("/v1/orgs/{org}/audit-log/export?since={since}"), &owner).await.text().await.unwrap();
    let seqs: Vec<i64> =
        a_range.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![3, 4, 5], "a time range is a contiguous piece of the chain");
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_exports_never_carry_a_live_formula() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let response = app
        .raw()
        .patch(format!("{}/v1/orgs/{org}", app.base))
        .bearer_auth(&owner)
        .header("user-agent", "=HYPERLINK(\"http://evil.test\")")
        .json(&json!({ "timezone": "UTC" }))
        .send()
        .await
        .unwrap();
    expect_status(response, StatusCode::OK).await;
    let csv = app.get(&format!("/v1/orgs/{org}/audit-log/export?format=csv"), &owner).await.text().await.unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.contains(",\"=HYPERLINK") && !csv.contains(",=HYPERLINK"));
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_larger_than_a_batch_stream_completely() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Big").await;
    let id = org_uuid(&org);
    app.db.seed_audit_chain(id, 4_500);
    let report = verify(&app, &org, &owner).await;
    assert_eq!((report["ok"].as_bool(), report["verified"].as_u64()), (Some(true), Some(4_501)));
    let ndjson = app.get(&format!("/v1/orgs/{org}/audit-log/export"), &owner).await.text().await.unwrap();
    let seqs: Vec<i64> =
        ndjson.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=4_501).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_log_is_verified_in_capped_calls_that_resume_without_skipping_a_link() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Long").await;
    app.db.seed_audit_chain(org_uuid(&org), 5_000);
    let (mut from, mut calls, mut checked) = (1, 0, 0);
    loop {
        let path = format!("/v1/orgs/{org}/audit-log/verify?from_seq={from}&limit=2000");
        let report = expect_status(app.get(&path, &owner).await, StatusCode::OK).await;
        assert_eq!(report["ok"], true, "{report}");
        calls += 1;
        checked += report["verified"].as_u64().unwrap();
        match report["resume_from_seq"].as_i64() {
            Some(resume) => {
                assert_eq!(report["complete"], false);
                assert!(resume > from, "each call moves on");
                from = resume;
            }
            None => {
                assert_eq!((report["complete"].as_bool(), report["head_seq"].as_i64()), (Some(true), Some(5_001)));
                break;
            }
        }
    }
    assert_eq!(calls, 3, "5,001 records in calls of at most 2,000");
    assert_eq!(checked, 5_001 + 2, "each resumed call re-checks the record it starts at");

    let id = org_uuid(&org);
    tamper(
        &app,
        &format!(
            "UPDATE audit_events SET prev_hash = decode(repeat('ab', 32), 'hex') WHERE org_id = '{id}' AND seq = 2001"
        ),
    );
    let resumed = format!("/v1/orgs/{org}/audit-log/verify?from_seq=2000&limit=2000");
    let report = expect_status(app.get(&resumed, &owner).await, StatusCode::OK).await;
    assert_eq!((report["first_break"]["seq"].as_i64(), report["ok"].as_bool()), (Some(2001), Some(false)), "{report}");

    for bad in ["from_seq=0", "from_seq=9&to_seq=3", "limit=0", "limit=100001"] {
        let response = app.get(&format!("/v1/orgs/{org}/audit-log/verify?{bad}"), &owner).await;
        crate::helpers::expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
}

/// Every mutating route of the OpenAPI document, the audit action it must write, and the
/// body to send. A new mutating route without a row here fails the test below.
const AUDITED: &[(&str, &str, &str)] = &[
    ("POST", "/v1/orgs", "org.created"),
    ("PATCH", "/v1/orgs/{org}", "org.updated"),
    ("DELETE", "/v1/orgs/{org}", "org.deleted"),
    ("POST", "/v1/orgs/{org}/leave", "member.left"),
    ("POST", "/v1/orgs/{org}/transfer-ownership", "org.ownership_transferred"),
    ("PATCH", "/v1/orgs/{org}/members/{member}", "member.role_changed"),
    ("DELETE", "/v1/orgs/{org}/members/{member}", "member.removed"),
    ("POST", "/v1/orgs/{org}/roles", "role.created"),
    ("PATCH", "/v1/orgs/{org}/roles/{role}", "role.updated"),
    ("DELETE", "/v1/orgs/{org}/roles/{role}", "role.deleted"),
    ("POST", "/v1/orgs/{org}/api-keys", "api_key.created"),
    ("DELETE", "/v1/orgs/{org}/api-keys/{key}", "api_key.revoked"),
    ("POST", "/v1/orgs/{org}/teams", "team.created"),
    ("PATCH", "/v1/orgs/{org}/teams/{team}", "team.updated"),
    ("DELETE", "/v1/orgs/{org}/teams/{team}", "team.deleted"),
    ("POST", "/v1/orgs/{org}/teams/{team}/members", "team.member_added"),
    ("DELETE", "/v1/orgs/{org}/teams/{team}/members/{member}", "team.member_removed"),
    ("PUT", "/v1/orgs/{org}/teams/{team}/members/{member}/manager", "team.manager_changed"),
    ("POST", "/v1/orgs/{org}/invites", "invite.created"),
    ("POST", "/v1/orgs/{org}/invites/{invite}/resend", "invite.resent"),
    ("DELETE", "/v1/orgs/{org}/invites/{invite}", "invite.revoked"),
    ("POST", "/v1/invites/{token}/accept", "invite.accepted"),
    ("PUT", "/v1/orgs/{org}/mfa/policy", "security.mfa_policy_updated"),
    ("PUT", "/v1/orgs/{org}/sign-in-methods", "security.sign_in_methods_updated"),
    ("PUT", "/v1/orgs/{org}/security-policy", "security.policy_updated"),
    ("PUT", "/v1/orgs/{org}/sso", "sso.config_updated"),
    ("PUT", "/v1/orgs/{org}/scim", "scim.config_updated"),
    ("POST", "/v1/orgs/{org}/mfa/reminders", "security.mfa_reminders_sent"),
    ("POST", "/v1/orgs/{org}/domains", "domain.claimed"),
    ("PATCH", "/v1/orgs/{org}/domains/{domain}", "domain.join_policy_updated"),
    ("DELETE", "/v1/orgs/{org}/domains/{domain}", "domain.released"),
    ("POST", "/v1/orgs/{org}/domains/{pending_domain}/verify", "domain.verified"),
    ("POST", "/v1/orgs/{org}/join-requests", "join_request.created"),
    ("POST", "/v1/orgs/{org}/join-requests/{request}/approve", "join_request.approved"),
    ("POST", "/v1/orgs/{org}/join-requests/{request}/deny", "join_request.denied"),
    ("PUT", "/v1/orgs/{org}/llm-policy", "llm.policy_updated"),
    ("PUT", "/v1/orgs/{org}/spend/limits", "spend.limits_updated"),
    // SCIM 2.0, called with the organization's SCIM token (actor `scim`); `{id}` is the
    // fixture's member for Users, its team for Groups.
    ("POST", "/scim/v2/Users", "scim.user_created"),
    ("PUT", "/scim/v2/Users/{id}", "scim.user_updated"),
    ("PATCH", "/scim/v2/Users/{id}", "scim.user_updated"),
    ("DELETE", "/scim/v2/Users/{id}", "scim.user_deleted"),
    ("POST", "/scim/v2/Groups", "team.created"),
    ("PUT", "/scim/v2/Groups/{id}", "team.updated"),
    ("PATCH", "/scim/v2/Groups/{id}", "team.updated"),
    ("DELETE", "/scim/v2/Groups/{id}", "team.deleted"),
    // Platform staff (`staff_admin`), recorded with actor `staff`; a restore follows the
    // owner's delete.
    ("PATCH", "/v1/admin/orgs/{org}", "org.updated"),
    ("DELETE", "/v1/admin/orgs/{org}", "org.deleted"),
    ("POST", "/v1/admin/orgs/{org}/restore", "org.restored"),
    ("PUT", "/v1/admin/orgs/{org}/plan", "org.plan_changed"),
    ("POST", "/v1/orgs/{org}/webhooks", "webhook.created"),
    ("PATCH", "/v1/orgs/{org}/webhooks/{webhook}", "webhook.updated"),
    ("DELETE", "/v1/orgs/{org}/webhooks/{webhook}", "webhook.deleted"),
    ("POST", "/v1/orgs/{org}/webhooks/{webhook}/rotate-secret", "webhook.secret_rotated"),
];

/// Mutating routes that change no organization, so write no audit record.
const NOT_AUDITED: &[(&str, &str)] = &[
    // Marks the caller's own notification read: their inbox, which no one else sees.
    ("POST", "/v1/me/notifications/{notification}/read"),
    // SCIM searches: reads sent as POST (RFC 7644 §3.4.3).
    ("POST", "/scim/v2/.search"),
    ("POST", "/scim/v2/Users/.search"),
    ("POST", "/scim/v2/Groups/.search"),
    // Metered usage is not an audit record (it would serialise every event on the chain);
    // the posture changes it causes are.
    ("POST", "/v1/orgs/{org}/usage"),
    // A decision: reads the policy, changes nothing.
    ("POST", "/v1/orgs/{org}/llm-policy/check"),
    // Sends an event again; what the organization holds stays as it is.
    ("POST", "/v1/orgs/{org}/webhooks/{webhook}/deliveries/{delivery}/redeliver"),
];

fn audited_body(method: &str, path: &str, f: &crate::authorization::Fixture) -> Option<Value> {
    Some(match (method, path) {
        ("POST", "/v1/orgs") => json!({ "name": "Audited New Org" }),
        ("PATCH", "/v1/orgs/{org}") => json!({ "timezone": "UTC" }),
        ("PATCH", "/v1/admin/orgs/{org}") => json!({ "timezone": "UTC" }),
        ("PUT", "/v1/admin/orgs/{org}/plan") => json!({ "plan": "team" }),
        ("POST", "/v1/orgs/{org}/transfer-ownership") => json!({ "member_id": f.member }),
        ("PATCH", "/v1/orgs/{org}/members/{member}") => json!({ "role": "admin" }),
        ("POST", "/v1/orgs/{org}/roles") => json!({ "name": "Viewer", "permissions": ["org:read"] }),
        ("PATCH", "/v1/orgs/{org}/roles/{role}") => json!({ "name": "Renamed" }),
        ("POST", "/v1/orgs/{org}/api-keys") => json!({ "name": "bot", "permissions": ["org:read"] }),
        ("POST", "/v1/orgs/{org}/teams") => json!({ "name": "New team" }),
        ("PATCH", "/v1/orgs/{org}/teams/{team}") => json!({ "name": "Renamed team" }),
        ("POST", "/v1/orgs/{org}/teams/{team}/members") => json!({ "member_id": f.spare_member }),
        ("POST", "/v1/orgs/{org}/invites") => json!({ "role": "member" }),
        ("PUT", "/v1/orgs/{org}/mfa/policy") => crate::authorization::graced_mfa(),
        ("PUT", "/v1/orgs/{org}/sign-in-methods") => json!({ "allowed": ["password"] }),
        ("PUT", "/v1/orgs/{org}/security-policy") => json!({ "max_session_age_secs": 86400 }),
        ("PUT", "/v1/orgs/{org}/sso") => crate::authorization::sso_config(),
        ("PUT", "/v1/orgs/{org}/scim") => json!({ "enabled": true }),
        ("POST", "/v1/orgs/{org}/domains") => json!({ "domain": "audit-claim.example.com" }),
        ("PATCH", "/v1/orgs/{org}/domains/{domain}") => json!({ "join_policy": "off" }),
        ("POST", "/scim/v2/Users") => json!({ "userName": "audited@acme.com", "active": true }),
        ("PUT", "/scim/v2/Users/{id}") => json!({ "userName": "audited-put@acme.com", "active": true }),
        ("PATCH", "/scim/v2/Users/{id}") => {
            json!({ "Operations": [{ "op": "replace", "path": "displayName", "value": "Audited" }] })
        }
        ("POST", "/scim/v2/Groups") => json!({ "displayName": "Audited group" }),
        ("PUT", "/scim/v2/Groups/{id}") => {
            json!({ "displayName": "Audited group", "members": [{ "value": f.member }] })
        }
        ("PATCH", "/scim/v2/Groups/{id}") => {
            json!({ "Operations": [{ "op": "replace", "path": "displayName", "value": "Audited group" }] })
        }
        ("PUT", "/v1/orgs/{org}/llm-policy") => json!({ "providers": ["openai"] }),
        ("PUT", "/v1/orgs/{org}/spend/limits") => json!({ "budget_micros": 1000000 }),
        ("POST", "/v1/orgs/{org}/webhooks") => json!({ "url": "http://127.0.0.1:9/audited" }),
        ("PATCH", "/v1/orgs/{org}/webhooks/{webhook}") => json!({ "enabled": false }),
        ("PUT", _) => json!({ "is_manager": true }),
        ("POST", _) => json!({}),
        _ => return None,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn every_mutating_route_writes_exactly_one_audit_record() {
    let app = TestApp::spawn_with(|config| config.invites.resend_interval = chrono::Duration::zero()).await;
    let doc = expect_status(app.request(Method::GET, "/openapi.json", None, None).await, StatusCode::OK).await;
    let mut uncovered = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in
            item.as_object().unwrap().keys().filter(|m| ["post", "put", "patch", "delete"].contains(&m.as_str()))
        {
            let method = method.to_uppercase();
            let audited =
                AUDITED.iter().any(|(m, p, _)| *m == method && p.replace("{pending_domain}", "{domain}") == *path);
            if !audited && !NOT_AUDITED.iter().any(|(m, p)| *m == method && p == path) {
                uncovered.push(format!("{method} {path}"));
            }
        }
    }
    assert!(uncovered.is_empty(), "mutating routes with no audit expectation: {uncovered:?}");

    for (case, (method, template, action)) in AUDITED.iter().enumerate() {
        let f = crate::authorization::fixture(&app, 1000 + case).await;
        // SCIM routes take the organization's SCIM token, issued before counting.
        let scim_token = if template.starts_with("/scim/v2/") {
            let scim = format!("/v1/orgs/{}/scim", f.org);
            let enabled = crate::sso::put(&app, &scim, &f.tokens[0], json!({ "enabled": true }), None).await;
            Some(expect_status(enabled, StatusCode::OK).await["token"].as_str().unwrap().to_owned())
        } else {
            None
        };
        if *template == "/v1/admin/orgs/{org}/restore" {
            let deleted = app.delete(&format!("/v1/orgs/{}", f.org), &f.tokens[0]).await;
            expect_status(deleted, StatusCode::NO_CONTENT).await;
        }
        let staff_admin = crate::admin::staff_token(&app, "root", orgd_domain::platform::StaffRole::Admin);
        let before = app.audit(&f.org).len();
        let path = template
            .replace("{org}", &f.org)
            .replace("{member}", &f.member)
            .replace("{role}", &f.role)
            .replace("{key}", &f.key)
            .replace("{team}", &f.team)
            .replace("{invite}", &f.invite)
            .replace("{token}", &f.invite_token)
            .replace("{pending_domain}", &f.pending_domain)
            .replace("{domain}", &f.domain)
            .replace("{request}", &f.join_request)
            .replace("{webhook}", &f.webhook)
            .replace("{delivery}", &f.delivery)
            .replace("{id}", if template.starts_with("/scim/v2/Groups/") { &f.team } else { &f.member });
        let joiner = crate::helpers::claims_token(
            &format!("joiner-{case}"),
            json!({ "email": format!("joiner@{}", f.domain_name) }),
        );
        let invitee = app.token_with(api::auth::DevToken {
            subject: format!("invitee-{case}"),
            email: Some("invitee@example.com".into()),
            name: None,
            mfa: false,
            staff: None,
            ttl: std::time::Duration::from_secs(600),
        });
        // Leaving is done by a plain member (the owner is the last owner); accepting, by the invitee.
        let token = match (*template, &scim_token) {
            (_, Some(scim)) => scim,
            ("/v1/orgs/{org}/leave", _) => &f.tokens[2],
            ("/v1/invites/{token}/accept", _) => &invitee,
            ("/v1/orgs/{org}/join-requests", _) => &joiner,
            (admin, _) if admin.starts_with("/v1/admin/") => &staff_admin,
            _ => &f.tokens[0],
        };
        let response = app
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &path,
                Some(token),
                audited_body(method, template, &f),
            )
            .await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {template}: {status} {body}");
        let (org, expected_new) = if *template == "/v1/orgs" {
            let created: Value = serde_json::from_str(&body).unwrap();
            (created["id"].as_str().unwrap().to_owned(), 1)
        } else {
            (f.org.clone(), before + 1)
        };
        let events = app.audit(&org);
        assert_eq!(
            events.len(),
            expected_new,
            "{method} {template} wrote {} record(s)",
            events.len() as i64 - before as i64
        );
        assert_eq!(events.last().unwrap().action, *action, "{method} {template}");
    }
}

fn urlencode(text: &str) -> String {
    text.replace(':', "%3A").replace('+', "%2B")
}
