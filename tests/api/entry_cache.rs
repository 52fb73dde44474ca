//! Each instance keeps what entering an organization reads in memory. Whatever takes a
//! right away (removal, suspension, demotion, a narrowed custom role, a revoked key, a
//! stricter policy) is honoured by the instance that made the change on the very next
//! request, and by every other instance within the stated bound, also when the other
//! instance's change listener loses its connection.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{expect_status, TestApp};

/// How soon another instance honours a change: the listener's grace plus one probe period
/// (`infra::entry_cache::LISTENER_GRACE`, `CONFIRM_EVERY`), with room for a busy machine.
const OTHER_INSTANCE_BOUND: Duration = Duration::from_millis(1_500);

async fn member_id(app: &TestApp, org: &str, owner: &str, name: &str) -> String {
    let found = expect_status(app.get(&format!("/v1/orgs/{org}/members?q={name}"), owner).await, StatusCode::OK).await;
    found["data"][0]["id"].as_str().unwrap().to_owned()
}

/// The database id of a member's public id.
fn row_id(member: &str) -> uuid::Uuid {
    member.parse::<orgd_domain::ids::MemberId>().unwrap().as_uuid()
}

/// Reads `path` a few times, so that whatever entering needs is cached.
async fn warm(app: &TestApp, path: &str, token: &str) {
    for _ in 0..3 {
        assert_eq!(app.get(path, token).await.status(), StatusCode::OK, "{path} before the change");
    }
}

/// How long `app` took to answer `path` with `refused`, polling; fails past `bound`.
async fn refused_within(app: &TestApp, path: &str, token: &str, refused: StatusCode, bound: Duration) -> Duration {
    let changed = Instant::now();
    loop {
        let status = app.get(path, token).await.status();
        if status == refused {
            return changed.elapsed();
        }
        assert_eq!(status, StatusCode::OK, "{path}: neither still served nor refused");
        assert!(changed.elapsed() < bound, "{path} still served {:?} after the change", changed.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_instance_that_takes_a_right_away_refuses_the_next_request() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Cached").await;
    app.seed_members(&org, "gone", 1, "member");
    app.seed_members(&org, "paused", 1, "member");
    app.seed_members(&org, "demoted", 1, "admin");
    app.seed_members(&org, "narrowed", 1, "member");
    app.seed_members(&org, "plain", 1, "member");
    let org_path = format!("/v1/orgs/{org}");
    let keys_path = format!("/v1/orgs/{org}/api-keys");

    // Removal.
    let gone = app.token("gone-1");
    let permissions_path = format!("/v1/orgs/{org}/permissions");
    warm(&app, &org_path, &gone).await;
    warm(&app, &permissions_path, &gone).await;
    let id = member_id(&app, &org, &owner, "gone-1").await;
    expect_status(app.delete(&format!("/v1/orgs/{org}/members/{id}"), &owner).await, StatusCode::NO_CONTENT).await;
    assert_eq!(app.get(&org_path, &gone).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&permissions_path, &gone).await.status(), StatusCode::NOT_FOUND);

    // Suspension written by another client of the database: its signal arrives through
    // the listener.
    let paused = app.token("paused-1");
    warm(&app, &org_path, &paused).await;
    let id = member_id(&app, &org, &owner, "paused-1").await;
    app.db.execute(&format!("UPDATE memberships SET suspended_at = now() WHERE id = '{}'", row_id(&id))).unwrap();
    refused_within(&app, &org_path, &paused, StatusCode::FORBIDDEN, OTHER_INSTANCE_BOUND).await;

    // Demotion: an admin reads API keys; a member may not.
    let demoted = app.token("demoted-1");
    warm(&app, &keys_path, &demoted).await;
    let id = member_id(&app, &org, &owner, "demoted-1").await;
    let demote = json!({ "role": "member" });
    expect_status(app.patch(&format!("/v1/orgs/{org}/members/{id}"), &owner, demote).await, StatusCode::OK).await;
    assert_eq!(app.get(&keys_path, &demoted).await.status(), StatusCode::FORBIDDEN);

    // A custom role narrowed under its holder.
    let role = json!({ "key": "reader", "name": "Reader", "permissions": ["org:read", "members:read"] });
    let role = expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, role).await, StatusCode::CREATED).await;
    let id = member_id(&app, &org, &owner, "narrowed-1").await;
    let hold = json!({ "role": "reader" });
    expect_status(app.patch(&format!("/v1/orgs/{org}/members/{id}"), &owner, hold).await, StatusCode::OK).await;
    let narrowed = app.token("narrowed-1");
    let members_path = format!("/v1/orgs/{org}/members");
    warm(&app, &members_path, &narrowed).await;
    let narrow = json!({ "permissions": ["org:read"] });
    expect_status(
        app.patch(&format!("/v1/orgs/{org}/roles/{}", role["id"].as_str().unwrap()), &owner, narrow).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(app.get(&members_path, &narrowed).await.status(), StatusCode::FORBIDDEN);

    // A revoked key, on the reads answered from memory.
    let created = json!({ "name": "k", "permissions": ["org:read", "llm:read"] });
    let created = expect_status(app.post(&keys_path, &owner, created).await, StatusCode::CREATED).await;
    let key = created["secret"].as_str().unwrap().to_owned();
    let check_path = format!("/v1/orgs/{org}/llm-policy/check");
    let check = || json!({ "provider": "openai", "model": "gpt-4o", "region": "eu", "requested_tokens": 10, "self_hosted": false });
    warm(&app, &org_path, &key).await;
    for _ in 0..3 {
        expect_status(app.post(&check_path, &key, check()).await, StatusCode::OK).await;
    }
    let key_id = created["id"].as_str().unwrap();
    expect_status(app.delete(&format!("{keys_path}/{key_id}"), &owner).await, StatusCode::NO_CONTENT).await;
    assert_eq!(app.get(&org_path, &key).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.post(&check_path, &key, check()).await.status(), StatusCode::UNAUTHORIZED);

    // A stricter policy: a second factor, now.
    let plain = app.token("plain-1");
    warm(&app, &org_path, &plain).await;
    let enforce = json!({ "enforced": true });
    let put = crate::sso::put(&app, &format!("/v1/orgs/{org}/mfa/policy"), &owner, enforce, None).await;
    expect_status(put, StatusCode::OK).await;
    assert_eq!(app.get(&org_path, &plain).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_instance_honours_a_change_within_the_bound() {
    let a = TestApp::spawn().await;
    let url = a.db.url().to_owned();
    let b = TestApp::spawn_with(|c| c.database_url = SecretString::from(url)).await;
    let owner = a.token_with_mfa("owner");
    let org = a.create_org(&owner, "Two").await;
    a.seed_members(&org, "gone", 1, "member");
    a.seed_members(&org, "demoted", 1, "admin");
    let org_path = format!("/v1/orgs/{org}");
    let keys_path = format!("/v1/orgs/{org}/api-keys");

    let gone = a.token("gone-1");
    warm(&b, &org_path, &gone).await;
    let id = member_id(&a, &org, &owner, "gone-1").await;
    expect_status(a.delete(&format!("/v1/orgs/{org}/members/{id}"), &owner).await, StatusCode::NO_CONTENT).await;
    let removal = refused_within(&b, &org_path, &gone, StatusCode::NOT_FOUND, OTHER_INSTANCE_BOUND).await;

    let demoted = a.token("demoted-1");
    warm(&b, &keys_path, &demoted).await;
    let id = member_id(&a, &org, &owner, "demoted-1").await;
    let demote = json!({ "role": "member" });
    expect_status(a.patch(&format!("/v1/orgs/{org}/members/{id}"), &owner, demote).await, StatusCode::OK).await;
    let demotion = refused_within(&b, &keys_path, &demoted, StatusCode::FORBIDDEN, OTHER_INSTANCE_BOUND).await;

    let created = json!({ "name": "k", "permissions": ["org:read"] });
    let created = expect_status(a.post(&keys_path, &owner, created).await, StatusCode::CREATED).await;
    let key = created["secret"].as_str().unwrap().to_owned();
    warm(&b, &org_path, &key).await;
    let key_id = created["id"].as_str().unwrap();
    expect_status(a.delete(&format!("{keys_path}/{key_id}"), &owner).await, StatusCode::NO_CONTENT).await;
    let revocation = refused_within(&b, &org_path, &key, StatusCode::UNAUTHORIZED, OTHER_INSTANCE_BOUND).await;
    println!("entry cache: the other instance refused after removal {removal:.1?}, demotion {demotion:.1?}, revocation {revocation:.1?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_change_listener_stops_the_cache_until_it_is_back() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Listener").await;
    app.seed_members(&org, "gone", 1, "member");
    let org_path = format!("/v1/orgs/{org}");
    let gone = app.token("gone-1");
    warm(&app, &org_path, &gone).await;

    // Cut the listener off, then remove the member behind its back: the signal is lost
    // with the connection, but the cache must not outlive it.
    let listener = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                    WHERE datname = current_database() AND query LIKE '%pg_notify(''orgd_access''%' \
                    AND pid <> pg_backend_pid()";
    app.db.execute(listener).unwrap();
    let id = member_id(&app, &org, &owner, "gone-1").await;
    app.db.execute(&format!("DELETE FROM memberships WHERE id = '{}'", row_id(&id))).unwrap();
    let seen = refused_within(&app, &org_path, &gone, StatusCode::NOT_FOUND, OTHER_INSTANCE_BOUND).await;
    println!("entry cache: with its listener cut off, the removal was honoured after {seen:.1?}");

    // Back: the reconnected listener hears changes again.
    app.seed_members(&org, "back", 1, "member");
    let back = app.token("back-1");
    warm(&app, &org_path, &back).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let id = member_id(&app, &org, &owner, "back-1").await;
    expect_status(app.request(Method::GET, &org_path, Some(&back), None).await, StatusCode::OK).await;
    app.db.execute(&format!("DELETE FROM memberships WHERE id = '{}'", row_id(&id))).unwrap();
    refused_within(&app, &org_path, &back, StatusCode::NOT_FOUND, OTHER_INSTANCE_BOUND).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entering_is_answered_from_memory_once_cached() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Memory").await;
    app.seed_members(&org, "kept", 1, "member");
    let org_path = format!("/v1/orgs/{org}");
    let kept = app.token("kept-1");
    warm(&app, &org_path, &kept).await;

    // Removed behind the triggers' back (replication role skips them), so no signal: only
    // an answer from memory still lets the person in.
    let id = member_id(&app, &org, &owner, "kept-1").await;
    let silently = format!(
        "SET session_replication_role = replica; DELETE FROM memberships WHERE id = '{}'; \
         SET session_replication_role = origin",
        row_id(&id)
    );
    app.db.execute(&silently).unwrap();
    assert_eq!(app.get(&org_path, &kept).await.status(), StatusCode::OK, "served from the entry cache");

    // The next signal about the organization forgets it.
    let rename = json!({ "name": "Memory 2" });
    expect_status(app.patch(&org_path, &owner, rename).await, StatusCode::OK).await;
    assert_eq!(app.get(&org_path, &kept).await.status(), StatusCode::NOT_FOUND);
}

/// The reads answered from memory on the HTTP worker refuse what the transaction path
/// refuses: a permission the caller's role or key lacks, and another organization.
#[tokio::test(flavor = "multi_thread")]
async fn reads_answered_from_memory_refuse_what_the_caller_may_not_do() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Refusing").await;
    let other = app.create_org(&owner, "Elsewhere").await;
    app.seed_members(&org, "blind", 1, "member");
    let permissions_path = format!("/v1/orgs/{org}/permissions");
    let check = || json!({ "provider": "openai", "model": "gpt-4o", "region": "eu", "requested_tokens": 10, "self_hosted": false });

    // A custom role without `org:read` or `llm:read`: its holder's entry is cached by the
    // permission map, which anyone inside may read.
    let role = json!({ "key": "blind", "name": "Blind", "permissions": ["members:read"] });
    expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, role).await, StatusCode::CREATED).await;
    let id = member_id(&app, &org, &owner, "blind-1").await;
    let hold = json!({ "role": "blind" });
    expect_status(app.patch(&format!("/v1/orgs/{org}/members/{id}"), &owner, hold).await, StatusCode::OK).await;
    let blind = app.token("blind-1");
    warm(&app, &permissions_path, &blind).await;
    assert_eq!(app.get(&format!("/v1/orgs/{org}"), &blind).await.status(), StatusCode::FORBIDDEN);
    let checked = app.post(&format!("/v1/orgs/{org}/llm-policy/check"), &blind, check()).await;
    assert_eq!(checked.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&format!("/v1/orgs/{other}/permissions"), &blind).await.status(), StatusCode::NOT_FOUND);

    // A key with `org:read` only, cached by reading the organization.
    let created = json!({ "name": "reader", "permissions": ["org:read"] });
    let created =
        expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, created).await, StatusCode::CREATED).await;
    let key = created["secret"].as_str().unwrap().to_owned();
    warm(&app, &format!("/v1/orgs/{org}"), &key).await;
    let checked = app.post(&format!("/v1/orgs/{org}/llm-policy/check"), &key, check()).await;
    assert_eq!(checked.status(), StatusCode::FORBIDDEN);
    // Its own organization only, even from memory.
    assert_eq!(app.get(&format!("/v1/orgs/{other}"), &key).await.status(), StatusCode::NOT_FOUND);
    let checked = app.post(&format!("/v1/orgs/{other}/llm-policy/check"), &key, check()).await;
    assert_eq!(checked.status(), StatusCode::NOT_FOUND);
}
