//! Operators scrape Prometheus metrics from a listener of their own (`ORGD_METRICS_BIND`),
//! behind `ORGD_METRICS_TOKEN`; the public listener has no `/metrics`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use api::config::MetricsConfig;
use api::rate_limit::{Rate, RateLimits};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{expect_status, TestApp};

const TOKEN: &str = "metrics-token-0123456789abcdef";

async fn app_with_metrics() -> TestApp {
    TestApp::spawn_with(|c| {
        c.metrics = Some(MetricsConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            token: Some(SecretString::from(TOKEN.to_owned())),
        });
        c.rate_limits = RateLimits { invites: Rate::per_minute(4), ..RateLimits::off() };
    })
    .await
}

async fn scrape_with(app: &TestApp, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app.raw().get(format!("{}/metrics", app.metrics_base.as_deref().unwrap()));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

/// Every sample of a scrape, keyed by its series as written (`name{label="value",…}`).
async fn scrape(app: &TestApp) -> (String, HashMap<String, f64>) {
    let response = scrape_with(app, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4");
    let text = response.text().await.unwrap();
    let samples = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect();
    (text, samples)
}

fn sample(samples: &HashMap<String, f64>, series: &str) -> f64 {
    *samples.get(series).unwrap_or_else(|| panic!("no {series} in the scrape"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scrape_reports_the_traffic_the_pool_the_cache_and_the_outbox() {
    let app = app_with_metrics().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Measured").await;
    let invites = format!("/v1/orgs/{org}/invites");
    let mut invite_token = String::new();
    for email in ["ada@example.com", "grace@example.com"] {
        let invite = json!({ "role": "member", "email": email });
        let created = expect_status(app.post(&invites, &owner, invite).await, StatusCode::CREATED).await;
        invite_token = created["token"].as_str().unwrap().to_owned();
    }
    // One email of the two is given up on.
    app.db
        .execute("UPDATE outbox_emails SET status = 'dead' WHERE id = (SELECT id FROM outbox_emails LIMIT 1)")
        .unwrap();

    // Reads of one organization until entering it is answered from the entry cache (once
    // its change listener has connected).
    let org_path = format!("/v1/orgs/{org}");
    let (mut reads, started) = (0, Instant::now());
    let hits = loop {
        assert_eq!(app.get(&org_path, &owner).await.status(), StatusCode::OK);
        reads += 1;
        let hits = sample(&scrape(&app).await.1, r#"orgd_entry_cache_lookups_total{result="hit"}"#);
        if reads >= 2 && hits > 0.0 {
            break hits;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the entry cache never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    assert_eq!(app.get("/v1/no-such-thing", &owner).await.status(), StatusCode::NOT_FOUND);
    let invite_path = format!("/v1/invites/{invite_token}");
    assert_eq!(app.request(reqwest::Method::GET, &invite_path, None, None).await.status(), StatusCode::OK);
    let limited = app.request(reqwest::Method::GET, &invite_path, None, None).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);

    app.seed_members(&org, "plain", 1, "member");
    let mfa_policy = format!("{org_path}/mfa/policy");
    let enforce = crate::sso::put(&app, &mfa_policy, &owner, json!({ "enforced": true }), None).await;
    expect_status(enforce, StatusCode::OK).await;
    let refused = expect_status(app.get(&org_path, &app.token("plain-1")).await, StatusCode::FORBIDDEN).await;
    assert_eq!(refused["code"], "mfa_required");

    let (text, samples) = scrape(&app).await;
    let count = |series: &str| sample(&samples, series);
    let read = r#"method="GET",route="/v1/orgs/{org}",status="200""#;
    assert_eq!(count(&format!("orgd_http_requests_total{{{read}}}")), f64::from(reads));
    assert_eq!(count(&format!("orgd_http_request_duration_seconds_count{{{read}}}")), f64::from(reads));
    assert_eq!(count(&format!(r#"orgd_http_request_duration_seconds_bucket{{{read},le="+Inf"}}"#)), f64::from(reads));
    assert!(count(&format!("orgd_http_request_duration_seconds_sum{{{read}}}")) > 0.0);
    assert_eq!(count(r#"orgd_http_requests_total{method="POST",route="/v1/orgs",status="201"}"#), 1.0);
    assert_eq!(count(r#"orgd_http_requests_total{method="POST",route="/v1/orgs/{org}/invites",status="201"}"#), 2.0);
    assert_eq!(count(r#"orgd_http_requests_total{method="GET",route="unmatched",status="404"}"#), 1.0);
    assert_eq!(count(r#"orgd_http_requests_total{method="GET",route="/v1/invites/{token}",status="429"}"#), 1.0);
    assert_eq!(count(r#"orgd_http_requests_total{method="GET",route="/v1/orgs/{org}",status="403"}"#), 1.0);
    assert!(!text.contains(&org) && !text.contains(&invite_token), "routes are patterns, never paths");

    assert_eq!(count(r#"orgd_rate_limit_rejections_total{scope="invites"}"#), 1.0);
    assert_eq!(count(r#"orgd_policy_refusals_total{code="mfa_required"}"#), 1.0);
    assert!(count(r#"orgd_entry_cache_lookups_total{result="hit"}"#) >= hits);
    assert!(count(r#"orgd_entry_cache_lookups_total{result="miss"}"#) > 0.0);

    let open =
        count(r#"orgd_db_pool_connections{state="in_use"}"#) + count(r#"orgd_db_pool_connections{state="idle"}"#);
    assert!(open >= 1.0, "the pool holds the connections the requests used");
    assert!(count("orgd_db_pool_checkout_wait_seconds_count") >= f64::from(reads));
    assert_eq!(
        count(r#"orgd_db_pool_checkout_wait_seconds_bucket{le="+Inf"}"#),
        count("orgd_db_pool_checkout_wait_seconds_count")
    );
    assert_eq!(count("orgd_db_pool_timeouts_total"), 0.0);
    assert_eq!((count("orgd_outbox_pending"), count("orgd_outbox_dead_letters")), (1.0, 1.0));
    assert_eq!(count(&format!(r#"orgd_build_info{{version="{}"}}"#, env!("CARGO_PKG_VERSION"))), 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_need_their_token_and_are_not_on_the_public_listener() {
    let app = app_with_metrics().await;
    for authorization in [None, Some("Bearer wrong-token-0123456789abcdef"), Some(TOKEN), Some("Bearer ")] {
        let refused = scrape_with(&app, authorization).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{authorization:?}");
        assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    }
    assert_eq!(scrape_with(&app, Some(&format!("bearer {TOKEN}"))).await.status(), StatusCode::OK);

    let elsewhere = app.raw().get(format!("{}/v1/orgs", app.metrics_base.as_deref().unwrap())).send().await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND, "the metrics listener serves /metrics only");
    let public = app.raw().get(format!("{}/metrics", app.base)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let public_problem: serde_json::Value = public.json().await.unwrap();
    assert_eq!(public_problem["code"], "not_found");
}
