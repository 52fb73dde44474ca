//! Load is shed: past a limit, 429 with `Retry-After` and `RateLimit`, counted per client
//! address and per credential, tighter on invite links and SCIM.

use api::rate_limit::{Rate, RateLimits};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_status, TestApp};

/// Sends `n` requests one after the other; answers their statuses and the last response.
async fn burst(app: &TestApp, n: usize, path: &str, token: Option<&str>) -> (Vec<StatusCode>, Response) {
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..n {
        let response = app.request(reqwest::Method::GET, path, token, None).await;
        statuses.push(response.status());
        last = Some(response);
    }
    (statuses, last.unwrap())
}

async fn assert_refused_with_headers(response: Response, media_type: &str) -> Value {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let headers = response.headers().clone();
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let policy = headers["ratelimit-policy"].to_str().unwrap();
    assert!(policy.contains(";q=") && policy.contains(";w="), "{policy}");
    assert!(headers["ratelimit"].to_str().unwrap().contains("r=0"), "{:?}", headers["ratelimit"]);
    assert_eq!(headers["content-type"], media_type);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_credential_has_its_own_allowance_and_is_told_what_is_left() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limits = RateLimits { per_credential: Rate::per_minute(12), ..RateLimits::off() };
    })
    .await;
    let ada = app.token("ada");
    // A burst of a quarter of the minute's quota, then refused.
    let (statuses, refused) = burst(&app, 5, "/v1/orgs", Some(&ada)).await;
    assert_eq!(&statuses[..3], &[StatusCode::OK; 3], "{statuses:?}");
    let problem = assert_refused_with_headers(refused, "application/problem+json").await;
    assert_eq!(problem["code"], "rate_limited");
    // Spelling the path or the credential another way is the same path and credential.
    let encoded = app.get("/v%31/orgs", &ada).await;
    assert_eq!(encoded.status(), StatusCode::TOO_MANY_REQUESTS, "a percent-encoded path is counted");
    let respelled = app
        .raw()
        .get(format!("{}/v1/orgs", app.base))
        .header("authorization", format!("bearer   {ada}"))
        .send()
        .await
        .unwrap();
    assert_eq!(respelled.status(), StatusCode::TOO_MANY_REQUESTS, "a respelled header is the same credential");
    // Another person is not held to Ada's count; the probes are never limited.
    let grace = app.get("/v1/orgs", &app.token("grace")).await;
    assert_eq!(grace.status(), StatusCode::OK);
    assert!(grace.headers()["ratelimit"].to_str().unwrap().contains("r=2"), "{:?}", grace.headers()["ratelimit"]);
    let (probes, _) = burst(&app, 10, "/healthz", None).await;
    assert!(probes.iter().all(|s| *s == StatusCode::OK));
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_is_held_to_its_limit_whatever_credentials_it_presents() {
    let app =
        TestApp::spawn_with(|c| c.rate_limits = RateLimits { per_ip: Rate::per_minute(8), ..RateLimits::off() }).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.push(app.get("/v1/orgs", &app.token(&format!("user-{i}"))).await.status());
    }
    assert_eq!(
        statuses,
        vec![StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS, StatusCode::TOO_MANY_REQUESTS]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invite_links_are_tighter_than_the_rest_of_the_api() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limits = RateLimits { invites: Rate::per_minute(4), ..RateLimits::default() };
    })
    .await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Invites").await;
    let invite = expect_status(
        app.post(&format!("/v1/orgs/{org}/invites"), &owner, json!({ "role": "member" })).await,
        StatusCode::CREATED,
    )
    .await;
    let token = invite["token"].as_str().unwrap().to_owned();
    let (statuses, refused) = burst(&app, 3, &format!("/v1/invites/{token}"), None).await;
    assert_eq!(statuses[0], StatusCode::OK, "{statuses:?}");
    let problem = assert_refused_with_headers(refused, "application/problem+json").await;
    assert_eq!(problem["code"], "rate_limited");
    let encoded = app.request(reqwest::Method::GET, &format!("/v1/%69nvites/{token}"), None, None).await;
    assert_eq!(encoded.status(), StatusCode::TOO_MANY_REQUESTS, "an encoded invite path is still an invite path");
    // The rest of the API still answers the same address.
    assert_eq!(app.get(&format!("/v1/orgs/{org}"), &owner).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scim_client_in_a_loop_is_refused_in_scim_terms() {
    let app =
        TestApp::spawn_with(|c| c.rate_limits = RateLimits { scim: Rate::per_minute(4), ..RateLimits::off() }).await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Provisioned").await;
    let scim = crate::sso::put(&app, &format!("/v1/orgs/{org}/scim"), &owner, json!({ "enabled": true }), None).await;
    let scim = expect_status(scim, StatusCode::OK).await["token"].as_str().unwrap().to_owned();
    let (statuses, refused) = burst(&app, 3, "/scim/v2/Users", Some(&scim)).await;
    assert_eq!(statuses[0], StatusCode::OK, "{statuses:?}");
    let error = assert_refused_with_headers(refused, "application/scim+json").await;
    assert_eq!(error["status"], "429");
    assert_eq!(error["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
}
