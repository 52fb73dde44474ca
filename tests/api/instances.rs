//! Two `orgd serve` instances on one database, as behind a load balancer: invariants hold
//! across them, the outbox delivers each email once, the audit chain never forks, and what
//! one instance changes the other honours.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::helpers::{deliver_to, expect_status, SmtpSink, TestApp};

/// A second server on the database of `first`.
async fn beside(first: &TestApp, smtp_port: u16) -> TestApp {
    let url = first.db.url().to_owned();
    TestApp::spawn_with(|c| {
        deliver_to(c, smtp_port);
        c.database_url = SecretString::from(url);
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_one_database_keep_every_invariant() {
    let sink = SmtpSink::start();
    let a = TestApp::spawn_with(|c| deliver_to(c, sink.port)).await;
    let b = beside(&a, sink.port).await;
    let apps = [&a, &b];
    let owner = a.token_with_mfa("owner");
    let org = a.create_org(&owner, "Shared").await;

    // A 3-use invite accepted by 12 people at once, half through each instance.
    let invite = json!({ "role": "member", "max_uses": 3 });
    let invite =
        expect_status(a.post(&format!("/v1/orgs/{org}/invites"), &owner, invite).await, StatusCode::CREATED).await;
    let token = invite["token"].as_str().unwrap().to_owned();
    let accepts = (0..12).map(|i| {
        let app = apps[i % 2];
        let person = app.token(&format!("joiner-{i}"));
        let path = format!("/v1/invites/{token}/accept");
        async move { app.post(&path, &person, json!({})).await.status() }
    });
    let statuses = futures_util::future::join_all(accepts).await;
    let joined = statuses.iter().filter(|s| s.is_success()).count();
    assert_eq!(joined, 3, "max uses is never exceeded across instances: {statuses:?}");

    // Teams created through both at once: one chain, no fork.
    let creates = (0..16).map(|i| {
        let app = apps[i % 2];
        let (owner, org) = (owner.clone(), org.clone());
        async move {
            app.post(&format!("/v1/orgs/{org}/teams"), &owner, json!({ "name": format!("team-{i}") })).await.status()
        }
    });
    for status in futures_util::future::join_all(creates).await {
        assert_eq!(status, StatusCode::CREATED);
    }
    let verified =
        expect_status(b.get(&format!("/v1/orgs/{org}/audit-log/verify"), &owner).await, StatusCode::OK).await;
    assert_eq!(verified["ok"], true, "{verified}");

    // Six email invites, three through each: both outbox workers poll, each email goes once.
    for i in 0..6 {
        let body = json!({ "role": "member", "email": format!("guest{i}@example.com") });
        expect_status(apps[i % 2].post(&format!("/v1/orgs/{org}/invites"), &owner, body).await, StatusCode::CREATED)
            .await;
    }
    sink.wait_for(6, 20).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sink.messages().len(), 6, "each email is delivered once");

    // A member removed through one instance is refused by the other within the entry
    // cache's bound (tests/api/entry_cache.rs).
    let members = expect_status(a.get(&format!("/v1/orgs/{org}/members?q=joiner"), &owner).await, StatusCode::OK).await;
    let leaver = members["data"][0].clone();
    let subject = leaver["email"].as_str().unwrap().split('@').next().unwrap().to_owned();
    let leaver_token = a.token(&subject);
    let leaver_id = leaver["id"].as_str().unwrap();
    assert_eq!(b.get(&format!("/v1/orgs/{org}"), &leaver_token).await.status(), StatusCode::OK);
    let removed =
        a.request(reqwest::Method::DELETE, &format!("/v1/orgs/{org}/members/{leaver_id}"), Some(&owner), None).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let removed_at = Instant::now();
    while b.get(&format!("/v1/orgs/{org}"), &leaver_token).await.status() != StatusCode::NOT_FOUND {
        assert!(
            removed_at.elapsed() < Duration::from_millis(1_500),
            "the other instance still lets the removed member in"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // The LLM policy one instance saves, the other decides by within its cache's lifetime.
    let check = json!({ "provider": "anthropic" });
    let path = format!("/v1/orgs/{org}/llm-policy/check");
    let before: Value = expect_status(b.post(&path, &owner, check.clone()).await, StatusCode::OK).await;
    assert_eq!(before["admitted"], true);
    let policy =
        crate::sso::put(&a, &format!("/v1/orgs/{org}/llm-policy"), &owner, json!({ "providers": ["openai"] }), None)
            .await;
    expect_status(policy, StatusCode::OK).await;
    let saved = Instant::now();
    let seen = loop {
        let decision: Value = expect_status(b.post(&path, &owner, check.clone()).await, StatusCode::OK).await;
        if decision["admitted"] == false {
            break saved.elapsed();
        }
        assert!(saved.elapsed() < Duration::from_secs(10), "the other instance never saw the new policy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("instances: the other instance decided by the new LLM policy after {seen:.1?}");
}
