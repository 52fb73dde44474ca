//! The 2FA dashboard and reminders over HTTP: totals, filters and pages; one notification
//! and one email per member without 2FA, at most once a day.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{deliver_to, expect_problem, expect_status, SmtpSink, TestApp};

/// An organization whose owner has 2FA, with `plain` seeded members `dev-1` … without it
/// and `secure` members `sec-1` … with it.
async fn org_with(app: &TestApp, name: &str, plain: u32, secure: u32) -> (String, String) {
    let owner = app.token_with_mfa(&format!("{name}-owner"));
    let org = app.create_org(&owner, name).await;
    app.seed_members(&org, &format!("{name}-dev"), plain, "member");
    app.seed_members(&org, &format!("{name}-sec"), secure, "member");
    for n in 1..=secure {
        let token = app.token_with_mfa(&format!("{name}-sec-{n}"));
        expect_status(app.get(&format!("/v1/orgs/{org}"), &token).await, StatusCode::OK).await;
    }
    (org, owner)
}

async fn dashboard(app: &TestApp, org: &str, token: &str, query: &str) -> Value {
    expect_status(app.get(&format!("/v1/orgs/{org}/mfa{query}"), token).await, StatusCode::OK).await
}

async fn remind(app: &TestApp, org: &str, token: &str) -> Value {
    expect_status(app.post(&format!("/v1/orgs/{org}/mfa/reminders"), token, json!({})).await, StatusCode::OK).await
}

fn names(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_counts_filters_and_pages_members() {
    let app = TestApp::spawn().await;
    let (org, owner) = org_with(&app, "acme", 3, 2).await;

    let first = dashboard(&app, &org, &owner, "?limit=4").await;
    assert_eq!(first["policy"], json!({ "enforced": false, "grace_until": null, "version": 0, "updated_at": null }));
    assert_eq!(
        first["totals"],
        json!({ "members": 6, "enrolled": 3, "not_enrolled": 3, "coverage_basis_points": 5000 }),
        "the owner, and the two who signed in with a second factor"
    );
    let owner_row = &first["data"][0];
    assert_eq!((owner_row["role"].as_str(), owner_row["mfa_enrolled"].as_bool()), (Some("owner"), Some(true)));
    assert_eq!(owner_row["mfa_methods"], json!(["otp"]));
    assert!(owner_row["last_seen_at"].is_string() && owner_row["last_reminded_at"].is_null());
    for field in ["member_id", "user_id", "name", "email"] {
        assert!(owner_row[field].is_string(), "{field} in {owner_row}");
    }

    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = dashboard(&app, &org, &owner, &format!("?limit=4&cursor={cursor}")).await;
    assert!(rest["totals"].is_null(), "later pages do not count again: {rest}");
    assert!(rest["next_cursor"].is_null());
    let mut all = names(&first);
    all.extend(names(&rest));
    assert_eq!(
        all,
        ["User acme-owner", "acme-dev-1", "acme-dev-2", "acme-dev-3", "User acme-sec-1", "User acme-sec-2"]
    );

    let without = dashboard(&app, &org, &owner, "?enrolled=false").await;
    assert_eq!(names(&without), ["acme-dev-1", "acme-dev-2", "acme-dev-3"]);
    assert_eq!(without["totals"]["members"], 6, "totals count everyone whatever the filter");
    let with = dashboard(&app, &org, &owner, "?enrolled=true&limit=2").await;
    assert_eq!(names(&with), ["User acme-owner", "User acme-sec-1"]);
    let cursor = with["next_cursor"].as_str().unwrap();
    let with_rest = dashboard(&app, &org, &owner, &format!("?enrolled=true&limit=2&cursor={cursor}")).await;
    assert_eq!(names(&with_rest), ["User acme-sec-2"]);

    let url = format!("/v1/orgs/{org}/mfa");
    expect_problem(app.get(&format!("{url}?enrolled=maybe"), &owner).await, StatusCode::BAD_REQUEST, "invalid_query")
        .await;
    expect_problem(
        app.get(&format!("{url}?limit=0"), &owner).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(app.get(&format!("{url}?cursor=zzz"), &owner).await, StatusCode::BAD_REQUEST, "invalid_cursor")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_and_reminders_need_security_permissions_and_hide_the_org() {
    let app = TestApp::spawn().await;
    let (org, _) = org_with(&app, "acme", 1, 0).await;
    let plain = app.token("acme-dev-1");
    let outsider = app.token("outsider");
    for (method, path, permission) in
        [(Method::GET, "mfa", "security:read"), (Method::POST, "mfa/reminders", "security:update")]
    {
        let url = format!("/v1/orgs/{org}/{path}");
        let refused = expect_problem(
            app.request(method.clone(), &url, Some(&plain), None).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_eq!(refused["permission"], permission);
        expect_problem(app.request(method, &url, Some(&outsider), None).await, StatusCode::NOT_FOUND, "not_found")
            .await;
    }
    assert!(!app.audit_actions(&org).contains(&"security.mfa_reminders_sent".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_email_each_member_without_2fa_once_a_day_and_notify_them() {
    let sink = SmtpSink::start();
    let port = sink.port;
    let app = TestApp::spawn_with(|config| {
        deliver_to(config, port);
    })
    .await;
    let (org, owner) = org_with(&app, "acme", 3, 1).await;

    let sent = remind(&app, &org, &owner).await;
    assert_eq!(sent, json!({ "reminded": 3, "emailed": 3, "skipped": 0 }));
    let messages = sink.wait_for(3, 10).await;
    let mut recipients: Vec<&str> =
        messages.iter().map(|m| m.lines().next().unwrap().trim_start_matches("X-Envelope-To: ").trim()).collect();
    recipients.sort();
    assert_eq!(recipients, ["acme-dev-1@example.com", "acme-dev-2@example.com", "acme-dev-3@example.com"]);
    let unfolded = messages[0].replace("=\r\n", "").replace("=\n", "");
    assert!(unfolded.contains("Subject: Set up two-factor authentication for acme"), "{unfolded}");
    assert!(unfolded.contains("https://app.test"), "the email links to the product: {unfolded}");

    let again = remind(&app, &org, &owner).await;
    assert_eq!(again, json!({ "reminded": 0, "emailed": 0, "skipped": 3 }), "nobody twice within a day");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sink.messages().len(), 3, "exactly one email per member without 2FA");
    let reminders: Vec<String> =
        app.audit_actions(&org).into_iter().filter(|a| a == "security.mfa_reminders_sent").collect();
    assert_eq!(reminders.len(), 2, "one record per round");

    let reminded = dashboard(&app, &org, &owner, "?enrolled=false").await;
    assert!(reminded["data"].as_array().unwrap().iter().all(|m| m["last_reminded_at"].is_string()), "{reminded}");

    let dev = app.token("acme-dev-1");
    let inbox = expect_status(app.get("/v1/me/notifications", &dev).await, StatusCode::OK).await;
    assert_eq!(inbox["data"].as_array().unwrap().len(), 1, "{inbox}");
    let notice = &inbox["data"][0];
    assert_eq!((notice["kind"].as_str(), notice["org_id"].as_str()), (Some("mfa_reminder"), Some(org.as_str())));
    assert_eq!(notice["title"], "Set up two-factor authentication for acme");
    assert!(notice["read_at"].is_null());
    let id = notice["id"].as_str().unwrap();
    let read =
        expect_status(app.post(&format!("/v1/me/notifications/{id}/read"), &dev, json!({})).await, StatusCode::OK)
            .await;
    assert!(read["read_at"].is_string());
    let secure = expect_status(app.get("/v1/me/notifications", &app.token("acme-sec-1")).await, StatusCode::OK).await;
    assert_eq!(secure["data"], json!([]), "members with 2FA are not reminded");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_rounds_remind_each_member_once() {
    let app = TestApp::spawn().await;
    let (org, owner) = org_with(&app, "acme", 20, 0).await;
    let rounds = futures::future::join_all((0..4).map(|_| remind(&app, &org, &owner))).await;
    let reminded: u64 = rounds.iter().map(|r| r["reminded"].as_u64().unwrap()).sum();
    let skipped: u64 = rounds.iter().map(|r| r["skipped"].as_u64().unwrap()).sum();
    assert_eq!((reminded, skipped), (20, 60), "{rounds:?}");
    assert_eq!(app.db.outbox_state().len(), 20, "one email each");
}
