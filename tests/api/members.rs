use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};

async fn all_pages(app: &TestApp, token: &str, path: &str, limit: u32) -> Vec<Value> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}{separator}limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = expect_status(app.get(&url, token).await, StatusCode::OK).await;
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= limit as usize);
        items.extend(data.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_cover_every_member_once_in_join_order() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    app.seed_members(&org, "m", 57, "member");

    let members = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members"), 10).await;
    assert_eq!(members.len(), 58);
    let ids: HashSet<&str> = members.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 58, "no member appears twice");
    assert_eq!(members[0]["email"], "ada@example.com", "the creator joined first");
    let names: Vec<&str> = members[1..].iter().map(|m| m["name"].as_str().unwrap()).collect();
    let expected: Vec<String> = (1..=57).map(|n| format!("m-{n}")).collect();
    assert_eq!(names, expected);
    let member = &members[1];
    assert!(
        member["id"].as_str().unwrap().starts_with("mem_") && member["user_id"].as_str().unwrap().starts_with("usr_")
    );
    assert_eq!(member["role"], "member");
}

#[tokio::test(flavor = "multi_thread")]
async fn members_joining_between_pages_cause_no_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    app.seed_members(&org, "early", 5, "member");
    let first = expect_status(app.get(&format!("/v1/orgs/{org}/members?limit=4"), &ada).await, StatusCode::OK).await;
    app.seed_members(&org, "late", 3, "member");
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members?cursor={cursor}"), 100).await;
    let mut names: Vec<String> =
        first["data"].as_array().unwrap().iter().chain(&rest).map(|m| m["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names.len(), 9);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn broad_and_narrow_searches_find_the_same_members() {
    // More than a thousand people match "wide" across the platform (most of them in another
    // organization), so that search walks the members; "wide-7" matches few and is answered
    // from its matches. Both must find exactly this organization's matching members.
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    let other = app.create_org(&app.token("bob"), "Other").await;
    app.seed_members(&other, "wide-other", 1_100, "member");
    app.seed_members(&org, "wide", 30, "member");

    let broad = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members?q=wide"), 7).await;
    assert_eq!(broad.len(), 30);
    assert!(broad.iter().all(|m| m["name"].as_str().unwrap().starts_with("wide-")));
    let narrow = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members?q=wide-7"), 7).await;
    let names: Vec<&str> = narrow.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["wide-7"]);
    let admins = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members?q=wide&role=admin"), 7).await;
    assert!(admins.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn search_matches_name_or_email_and_role_filters() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    app.seed_members(&org, "engineer", 12, "member");
    app.seed_members(&org, "manager", 3, "admin");
    app.seed_members(&org, "odd_100%", 1, "member");

    let engineers = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members?q=ENGINEER-1"), 2).await;
    let names: Vec<&str> = engineers.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["engineer-1", "engineer-10", "engineer-11", "engineer-12"]);

    let by_email = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members?q=ada%40example"), 10).await;
    assert_eq!(by_email.len(), 1);

    let admins = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members?role=admin"), 2).await;
    assert_eq!(admins.len(), 3);
    assert!(admins.iter().all(|m| m["role"] == "admin"));

    let both = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members?role=admin&q=manager-2"), 10).await;
    assert_eq!(both.len(), 1);

    let literal = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members?q=100%25"), 10).await;
    assert_eq!(literal.len(), 1, "% is matched literally, not as a wildcard");
    let underscore = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members?q=d_1"), 10).await;
    assert_eq!(underscore.len(), 1, "_ is matched literally");

    let none = all_pages(&app, &ada, &format!("/v1/orgs/{org}/members?role=ghost"), 10).await;
    assert!(none.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_list_parameters_are_refused_clearly() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    let members = format!("/v1/orgs/{org}/members");
    expect_problem(
        app.get(&format!("{members}?limit=0"), &ada).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get(&format!("{members}?limit=1000"), &ada).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(app.get(&format!("{members}?limit=ten"), &ada).await, StatusCode::BAD_REQUEST, "invalid_query")
        .await;
    expect_problem(app.get(&format!("{members}?cursor=bogus"), &ada).await, StatusCode::BAD_REQUEST, "invalid_cursor")
        .await;
    expect_problem(
        app.get(&format!("{members}?role=Not%20A%20Role"), &ada).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(app.get("/v1/orgs?cursor=AAAA", &ada).await, StatusCode::BAD_REQUEST, "invalid_cursor").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_member_is_readable_only_within_its_org() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let bob = app.token("bob");
    let acme = app.create_org(&ada, "Acme").await;
    let globex = app.create_org(&bob, "Globex").await;
    let bobs = expect_status(app.get(&format!("/v1/orgs/{globex}/members"), &bob).await, StatusCode::OK).await;
    let bob_member = bobs["data"][0]["id"].as_str().unwrap().to_owned();

    let own =
        expect_status(app.get(&format!("/v1/orgs/{globex}/members/{bob_member}"), &bob).await, StatusCode::OK).await;
    assert_eq!(own["email"], "bob@example.com");
    assert_eq!(own["name"], "User bob");
    expect_problem(
        app.get(&format!("/v1/orgs/{acme}/members/{bob_member}"), &ada).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.get(&format!("/v1/orgs/{acme}/members/not-an-id"), &ada).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(app.get(&format!("/v1/orgs/{acme}/members/{acme}"), &ada).await, StatusCode::NOT_FOUND, "not_found")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_changes_from_the_identity_provider_show_up() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    let renamed = app.token_with(api::auth::DevToken {
        subject: "ada".into(),
        email: Some("ada@new.example".into()),
        name: Some("Ada Lovelace".into()),
        mfa: false,
        staff: None,
        ttl: std::time::Duration::from_secs(60),
    });
    let members = expect_status(app.get(&format!("/v1/orgs/{org}/members"), &renamed).await, StatusCode::OK).await;
    assert_eq!(members["data"][0]["name"], "Ada Lovelace");
    assert_eq!(members["data"][0]["email"], "ada@new.example");
    assert_eq!(members["data"].as_array().unwrap().len(), 1, "same subject, same user");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_owner_cannot_leave_but_others_can() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    app.seed_members(&org, "m", 1, "member");
    let member = app.token("m-1");

    let problem = expect_problem(
        app.post(&format!("/v1/orgs/{org}/leave"), &ada, json!({})).await,
        StatusCode::CONFLICT,
        "last_owner",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("owner"));

    expect_status(app.post(&format!("/v1/orgs/{org}/leave"), &member, json!({})).await, StatusCode::NO_CONTENT).await;
    expect_problem(app.get(&format!("/v1/orgs/{org}"), &member).await, StatusCode::NOT_FOUND, "not_found").await;
    let members = expect_status(app.get(&format!("/v1/orgs/{org}/members"), &ada).await, StatusCode::OK).await;
    assert_eq!(members["data"].as_array().unwrap().len(), 1);

    app.seed_members(&org, "co-owner", 1, "owner");
    expect_status(app.post(&format!("/v1/orgs/{org}/leave"), &ada, json!({})).await, StatusCode::NO_CONTENT).await;
    let events = app.audit(&org);
    let leaves: Vec<_> = events.iter().filter(|e| e.action == "member.left").collect();
    assert_eq!(leaves.len(), 2);
    assert!(leaves.iter().all(|e| e.target_type == "member" && e.target_id.starts_with("mem_")));
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_leaving_at_once_always_leave_an_owner() {
    let app = TestApp::spawn().await;
    let ada = app.token("ada");
    let org = app.create_org(&ada, "Acme").await;
    app.seed_members(&org, "owner", 5, "owner");
    let mut tokens = vec![ada];
    tokens.extend((1..=5).map(|n| app.token(&format!("owner-{n}"))));

    let path = format!("/v1/orgs/{org}/leave");
    let leaves = tokens.iter().map(|t| app.post(&path, t, json!({})));
    let statuses: Vec<StatusCode> = futures::future::join_all(leaves).await.iter().map(|r| r.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::NO_CONTENT).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 1, "{statuses:?}");

    let survivor = tokens.iter().zip(&statuses).find(|(_, s)| **s == StatusCode::CONFLICT).map(|(t, _)| t).unwrap();
    let members = expect_status(app.get(&format!("/v1/orgs/{org}/members"), survivor).await, StatusCode::OK).await;
    assert_eq!(members["data"].as_array().unwrap().len(), 1);
    assert_eq!(members["data"][0]["role"], "owner");
}

#[tokio::test(flavor = "multi_thread")]
async fn members_say_whether_their_email_is_verified() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Verified").await;
    app.seed_members(&org, "claimed", 1, "member");
    app.db.execute("UPDATE users SET email_verified = false WHERE subject = 'claimed-1'").unwrap();
    let listed = expect_status(app.get(&format!("/v1/orgs/{org}/members"), &owner).await, StatusCode::OK).await;
    let verified: Vec<(String, bool)> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap().to_owned(), m["email_verified"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        verified,
        vec![("owner@example.com".to_owned(), true), ("claimed-1@example.com".to_owned(), false)],
        "an address nobody vouched for is marked so"
    );
    let id = listed["data"][1]["id"].as_str().unwrap();
    let one = expect_status(app.get(&format!("/v1/orgs/{org}/members/{id}"), &owner).await, StatusCode::OK).await;
    assert_eq!(one["email_verified"], false);
}
