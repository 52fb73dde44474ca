//! Security policies over HTTP: versioned documents, the gate on every way in (people,
//! API keys, invites, org lists), lock-out previews and the owners' way out.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};

/// A token with exactly these claims on top of the usual ones.
fn token_with(subject: &str, extra: Value) -> String {
    crate::helpers::claims_token(subject, extra)
}

fn with_mfa(subject: &str) -> String {
    token_with(subject, json!({ "amr": ["pwd", "otp"] }))
}

/// A request as if from `ip`, through the trusted proxy that appends `X-Forwarded-For`.
async fn from(
    app: &TestApp,
    ip: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let put = method == Method::PUT;
    let mut request =
        app.raw().request(method, format!("{}{path}", app.base)).bearer_auth(token).header("x-forwarded-for", ip);
    if put {
        request = request.header("if-match", "*");
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn proxied_app() -> TestApp {
    TestApp::spawn_with(|config| config.trust_forwarded_for = true).await
}

#[tokio::test(flavor = "multi_thread")]
async fn each_policy_round_trips_with_etags_and_a_stale_write_is_refused() {
    let app = TestApp::spawn().await;
    let owner = with_mfa("owner");
    let org = app.create_org(&owner, "Versions").await;
    for (path, body) in [
        (
            "mfa/policy",
            json!({ "enforced": true, "grace_until": (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339() }),
        ),
        ("sign-in-methods", json!({ "allowed": ["password", "sso"] })),
        ("security-policy", json!({ "max_session_age_secs": 86400 })),
    ] {
        let url = format!("/v1/orgs/{org}/{path}");
        let read = app.get(&url, &owner).await;
        assert_eq!(read.headers()["etag"], "\"0\"", "{path}: never written");
        let first =
            app.raw().put(format!("{}{url}", app.base)).bearer_auth(&owner).header("if-match", "\"0\"").json(&body);
        let first = first.send().await.unwrap();
        assert_eq!(first.headers()["etag"], "\"1\"", "{path}");
        let written = expect_status(first, StatusCode::OK).await;
        assert_eq!((written["applied"].as_bool(), written["policy"]["version"].as_i64()), (Some(true), Some(1)));
        assert!(written["lockout"].is_null());
        let stale =
            app.raw().put(format!("{}{url}", app.base)).bearer_auth(&owner).header("if-match", "\"0\"").json(&body);
        expect_problem(stale.send().await.unwrap(), StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
        let again = expect_status(app.get(&url, &owner).await, StatusCode::OK).await;
        assert_eq!(again["version"], 1, "{path}: {again}");
    }
    let actions = app.audit_actions(&org);
    for action in ["security.mfa_policy_updated", "security.sign_in_methods_updated", "security.policy_updated"] {
        assert_eq!(actions.iter().filter(|a| *a == action).count(), 1, "{action} in {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_factor_enforcement_refuses_people_without_it_after_the_grace_period() {
    let app = TestApp::spawn().await;
    let owner = with_mfa("owner");
    let org = app.create_org(&owner, "Strict").await;
    app.seed_members(&org, "dev", 1, "member");
    let dev = app.token("dev-1");
    expect_status(app.get(&format!("/v1/orgs/{org}"), &dev).await, StatusCode::OK).await;

    let grace = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let graced = json!({ "enforced": true, "grace_until": grace });
    let response = app.request(Method::PUT, &format!("/v1/orgs/{org}/mfa/policy"), Some(&owner), Some(graced)).await;
    expect_status(response, StatusCode::OK).await;
    expect_status(app.get(&format!("/v1/orgs/{org}"), &dev).await, StatusCode::OK).await;

    let now = json!({ "enforced": true });
    let response = app.request(Method::PUT, &format!("/v1/orgs/{org}/mfa/policy"), Some(&owner), Some(now)).await;
    expect_status(response, StatusCode::OK).await;
    let refused =
        expect_problem(app.get(&format!("/v1/orgs/{org}"), &dev).await, StatusCode::FORBIDDEN, "mfa_required").await;
    assert!(refused["detail"].as_str().unwrap().contains("two-factor"));
    expect_status(app.get(&format!("/v1/orgs/{org}"), &with_mfa("dev-1")).await, StatusCode::OK).await;

    // The org still lists, saying why it is closed.
    let mine = expect_status(app.get("/v1/orgs", &dev).await, StatusCode::OK).await;
    assert_eq!(mine["data"][0]["blocked_by"]["code"], "mfa_required", "{mine}");
    let open = expect_status(app.get("/v1/orgs", &with_mfa("dev-1")).await, StatusCode::OK).await;
    assert!(open["data"][0]["blocked_by"].is_null());

    // Joining through an invite is a way in too.
    let invite = json!({ "role": "member", "max_uses": 5 });
    let invite =
        expect_status(app.post(&format!("/v1/orgs/{org}/invites"), &owner, invite).await, StatusCode::CREATED).await;
    let token = invite["token"].as_str().unwrap();
    let accept = format!("/v1/invites/{token}/accept");
    expect_problem(app.post(&accept, &app.token("newcomer"), json!({})).await, StatusCode::FORBIDDEN, "mfa_required")
        .await;
    expect_status(app.post(&accept, &with_mfa("newcomer"), json!({})).await, StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ip_allowlist_binds_people_and_api_keys_over_ipv4_and_ipv6() {
    let app = proxied_app().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Fenced").await;
    let key = json!({ "name": "ci", "permissions": ["members:read"] });
    let key =
        expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, key).await, StatusCode::CREATED).await;
    let key = key["secret"].as_str().unwrap().to_owned();
    let list = json!({ "ip_allowlist": ["203.0.113.0/24", "2001:db8::/32"] });
    let put =
        from(&app, "203.0.113.5", Method::PUT, &format!("/v1/orgs/{org}/security-policy"), &owner, Some(list)).await;
    expect_status(put, StatusCode::OK).await;

    let members = format!("/v1/orgs/{org}/members");
    for (ip, allowed) in
        [("203.0.113.77", true), ("2001:db8:5::1", true), ("198.51.100.1", false), ("2001:db9::1", false)]
    {
        for token in [&owner, &key] {
            let response = from(&app, ip, Method::GET, &members, token, None).await;
            if allowed {
                expect_status(response, StatusCode::OK).await;
            } else {
                let problem = expect_problem(response, StatusCode::FORBIDDEN, "ip_not_allowed").await;
                assert!(problem["detail"].as_str().unwrap().contains(ip), "{problem}");
            }
        }
    }
    // A client-supplied X-Forwarded-For entry is not trusted: only the proxy's last one is.
    let forged = app
        .raw()
        .get(format!("{}{members}", app.base))
        .bearer_auth(&owner)
        .header("x-forwarded-for", "203.0.113.9, 198.51.100.1")
        .send()
        .await
        .unwrap();
    expect_problem(forged, StatusCode::FORBIDDEN, "ip_not_allowed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_methods_and_session_age_are_enforced() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Methods").await;
    app.seed_members(&org, "dev", 1, "member");
    let url = format!("/v1/orgs/{org}");
    let methods = json!({ "allowed": ["password", "google"] });
    let put = app.request(Method::PUT, &format!("{url}/sign-in-methods"), Some(&owner), Some(methods)).await;
    expect_status(put, StatusCode::OK).await;
    let passkey = token_with("dev-1", json!({ "amr": ["hwk"] }));
    expect_problem(app.get(&url, &passkey).await, StatusCode::FORBIDDEN, "sign_in_method_not_allowed").await;
    expect_status(app.get(&url, &app.token("dev-1")).await, StatusCode::OK).await;
    // The identity provider's own claim names social sign-ins, which `amr` cannot.
    let github = token_with("dev-1", json!({ "login_method": "github" }));
    expect_problem(app.get(&url, &github).await, StatusCode::FORBIDDEN, "sign_in_method_not_allowed").await;
    let google = token_with("dev-1", json!({ "login_method": "google" }));
    expect_status(app.get(&url, &google).await, StatusCode::OK).await;

    let sessions = json!({ "max_session_age_secs": 3600 });
    let put = app.request(Method::PUT, &format!("{url}/security-policy"), Some(&owner), Some(sessions)).await;
    expect_status(put, StatusCode::OK).await;
    let old = chrono::Utc::now().timestamp() - 7_200;
    let stale = token_with("dev-1", json!({ "auth_time": old }));
    expect_problem(app.get(&url, &stale).await, StatusCode::FORBIDDEN, "session_too_old").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_lists_exactly_the_members_and_keys_that_would_be_locked_out() {
    let app = proxied_app().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Preview").await;
    app.seed_members(&org, "office", 2, "member");
    app.seed_members(&org, "remote", 1, "member");
    app.seed_members(&org, "ghost", 1, "member");
    for (who, ip) in [("office-1", "203.0.113.10"), ("office-2", "2001:db8::7"), ("remote-1", "198.51.100.3")] {
        expect_status(
            from(&app, ip, Method::GET, &format!("/v1/orgs/{org}"), &app.token(who), None).await,
            StatusCode::OK,
        )
        .await;
    }
    expect_status(
        from(&app, "203.0.113.1", Method::GET, &format!("/v1/orgs/{org}"), &owner, None).await,
        StatusCode::OK,
    )
    .await;
    let mut keys = Vec::new();
    for (name, ip) in [("in-office", Some("203.0.113.50")), ("at-home", Some("198.51.100.50")), ("unused", None)] {
        let key = json!({ "name": name, "permissions": ["org:read"] });
        let key =
            expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, key).await, StatusCode::CREATED).await;
        let secret = key["secret"].as_str().unwrap().to_owned();
        if let Some(ip) = ip {
            expect_status(from(&app, ip, Method::GET, &format!("/v1/orgs/{org}"), &secret, None).await, StatusCode::OK)
                .await;
        }
        keys.push(secret);
    }

    let list = json!({ "ip_allowlist": ["203.0.113.0/24", "2001:db8::/32"] });
    let path = format!("/v1/orgs/{org}/security-policy?dry_run=true");
    let preview =
        expect_status(from(&app, "203.0.113.1", Method::PUT, &path, &owner, Some(list)).await, StatusCode::OK).await;
    assert_eq!(preview["applied"], false);
    let mut members: Vec<&str> =
        preview["lockout"]["members"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
    members.sort_unstable();
    assert_eq!(members, vec!["ghost-1@example.com", "remote-1@example.com"], "{preview}");
    assert_eq!(preview["lockout"]["members_total"], 2);
    let mut keys: Vec<&str> =
        preview["lockout"]["api_keys"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    keys.sort_unstable();
    assert_eq!(keys, vec!["at-home", "unused"]);
    assert!(preview["lockout"]["caller"].is_null());
    assert_eq!(preview["lockout"]["every_owner"], false);
    let reasons = &preview["lockout"]["members"][0]["reasons"][0]["code"];
    assert_eq!(reasons, "ip_not_allowed");
    let saved = expect_status(app.get(&format!("/v1/orgs/{org}/security-policy"), &owner).await, StatusCode::OK).await;
    assert_eq!(saved["version"], 0, "a dry run saves nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_write_locks_out_its_caller_unforced_or_every_owner_ever() {
    let app = proxied_app().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "No lock-out").await;
    let path = format!("/v1/orgs/{org}/security-policy");
    let elsewhere = json!({ "ip_allowlist": ["192.0.2.0/24"] });
    let refused = from(&app, "203.0.113.1", Method::PUT, &path, &owner, Some(elsewhere.clone())).await;
    expect_problem(refused, StatusCode::CONFLICT, "would_lock_out_every_owner").await;
    let forced = from(&app, "203.0.113.1", Method::PUT, &format!("{path}?force=true"), &owner, Some(elsewhere)).await;
    expect_problem(forced, StatusCode::CONFLICT, "would_lock_out_every_owner").await;

    app.seed_members(&org, "second", 1, "owner");
    expect_status(
        from(&app, "192.0.2.9", Method::GET, &format!("/v1/orgs/{org}"), &app.token("second-1"), None).await,
        StatusCode::OK,
    )
    .await;
    let their_network = json!({ "ip_allowlist": ["192.0.2.0/24"] });
    let refused = from(&app, "203.0.113.1", Method::PUT, &path, &owner, Some(their_network.clone())).await;
    let problem = expect_problem(refused, StatusCode::CONFLICT, "would_lock_out_caller").await;
    assert!(problem["detail"].as_str().unwrap().contains("ip_not_allowed"));
    let forced =
        from(&app, "203.0.113.1", Method::PUT, &format!("{path}?force=true"), &owner, Some(their_network)).await;
    expect_status(forced, StatusCode::OK).await;
    let record = app.audit(&org).into_iter().rev().find(|e| e.action == "security.policy_updated").unwrap();
    assert_eq!(record.changes["forced"]["to"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_with_a_fresh_second_factor_breaks_the_glass_and_it_is_audited() {
    let app = proxied_app().await;
    let owner = with_mfa("owner");
    let org = app.create_org(&owner, "Glass").await;
    app.seed_members(&org, "admin", 1, "admin");
    let path = format!("/v1/orgs/{org}/security-policy");
    let office = json!({ "ip_allowlist": ["203.0.113.0/24"] });
    expect_status(from(&app, "203.0.113.1", Method::PUT, &path, &owner, Some(office)).await, StatusCode::OK).await;

    let hotel = "198.51.100.7";
    expect_problem(
        from(&app, hotel, Method::GET, &format!("/v1/orgs/{org}"), &owner, None).await,
        StatusCode::FORBIDDEN,
        "ip_not_allowed",
    )
    .await;
    let widened = json!({ "ip_allowlist": ["203.0.113.0/24", "198.51.100.0/24"] });
    expect_status(from(&app, hotel, Method::PUT, &path, &owner, Some(widened)).await, StatusCode::OK).await;
    let actions = app.audit_actions(&org);
    assert_eq!(&actions[actions.len() - 2..], ["security.break_glass_used", "security.policy_updated"]);

    // Not for an admin, nor an owner without a recent second factor.
    let narrowed = json!({ "ip_allowlist": ["203.0.113.0/24"] });
    expect_status(from(&app, "203.0.113.1", Method::PUT, &path, &owner, Some(narrowed)).await, StatusCode::OK).await;
    let admin = with_mfa("admin-1");
    expect_problem(from(&app, hotel, Method::GET, &path, &admin, None).await, StatusCode::FORBIDDEN, "ip_not_allowed")
        .await;
    let old = chrono::Utc::now().timestamp() - 3_600;
    let stale_owner = token_with("owner", json!({ "amr": ["pwd", "otp"], "auth_time": old }));
    expect_problem(
        from(&app, hotel, Method::GET, &path, &stale_owner, None).await,
        StatusCode::FORBIDDEN,
        "ip_not_allowed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_policies_are_refused_by_field() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Fields").await;
    let bad = json!({ "ip_allowlist": ["10.1.2.0/8", "nonsense"], "max_session_age_secs": 5 });
    let problem = expect_problem(
        app.request(Method::PUT, &format!("/v1/orgs/{org}/security-policy"), Some(&owner), Some(bad)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["ip_allowlist[0]", "ip_allowlist[1]", "max_session_age_secs"]);
    let past = json!({ "enforced": true, "grace_until": "2000-01-01T00:00:00Z" });
    let response = app.request(Method::PUT, &format!("/v1/orgs/{org}/mfa/policy"), Some(&owner), Some(past)).await;
    expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

/// A body is a JSON object, and an integer may be spelled `600.0`, which JSON Schema calls an
/// integer too; a fraction is not one.
#[tokio::test(flavor = "multi_thread")]
async fn policy_bodies_are_objects_whose_integers_may_be_spelled_as_floats() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Numbers").await;
    let path = format!("/v1/orgs/{org}/security-policy");
    let whole = json!({ "mfa_max_age_secs": 600.0, "max_session_age_secs": 3.6e3 });
    let dry_run = format!("{path}?dry_run=true");
    let proposed =
        expect_status(app.request(Method::PUT, &dry_run, Some(&owner), Some(whole)).await, StatusCode::OK).await;
    assert_eq!(
        (proposed["policy"]["mfa_max_age_secs"].as_i64(), proposed["policy"]["max_session_age_secs"].as_i64()),
        (Some(600), Some(3600))
    );
    let fraction = json!({ "mfa_max_age_secs": 600.5 });
    let response = app.request(Method::PUT, &path, Some(&owner), Some(fraction)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    for (route, body) in
        [("security-policy", json!([])), ("mfa/policy", json!([false, null])), ("scim", json!([false]))]
    {
        let response = app.request(Method::PUT, &format!("/v1/orgs/{org}/{route}"), Some(&owner), Some(body)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{route}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn outsiders_get_404_and_members_without_the_permission_403_on_every_policy_route() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Guarded").await;
    app.seed_members(&org, "dev", 1, "member");
    let outsider = app.token("outsider");
    app.create_org(&outsider, "Elsewhere").await;
    let member = app.token("dev-1");
    let routes = [
        (Method::GET, "mfa/policy", None),
        (Method::PUT, "mfa/policy", Some(json!({ "enforced": true }))),
        (Method::GET, "sign-in-methods", None),
        (Method::PUT, "sign-in-methods", Some(json!({ "allowed": [] }))),
        (Method::GET, "security-policy", None),
        (Method::PUT, "security-policy", Some(json!({}))),
    ];
    for (method, path, body) in routes {
        let url = format!("/v1/orgs/{org}/{path}");
        let response = app.request(method.clone(), &url, Some(&outsider), body.clone()).await;
        expect_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        let response = app.request(method.clone(), &url, Some(&member), body).await;
        let permission = if method == Method::GET { "security:read" } else { "security:update" };
        let problem = expect_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
        assert_eq!(problem["permission"], permission, "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_without_the_feature_refuses_writing_it_but_never_reading() {
    let app = TestApp::spawn_with(|config| config.default_plan = orgd_domain::policy::Plan::Free).await;
    let owner = with_mfa("owner");
    let org = app.create_org(&owner, "Small").await;
    let list = json!({ "ip_allowlist": ["127.0.0.0/8"] });
    let response = app.request(Method::PUT, &format!("/v1/orgs/{org}/security-policy"), Some(&owner), Some(list)).await;
    let problem = expect_problem(response, StatusCode::FORBIDDEN, "feature_not_in_plan").await;
    assert!(problem["detail"].as_str().unwrap().contains("ip_allowlist"));
    expect_status(app.get(&format!("/v1/orgs/{org}/security-policy"), &owner).await, StatusCode::OK).await;
    let mfa = json!({ "enforced": true, "grace_until": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339() });
    let response = app.request(Method::PUT, &format!("/v1/orgs/{org}/mfa/policy"), Some(&owner), Some(mfa)).await;
    expect_status(response, StatusCode::OK).await;
    let role = json!({ "name": "Viewer", "permissions": ["org:read"] });
    let response = app.post(&format!("/v1/orgs/{org}/roles"), &owner, role).await;
    expect_problem(response, StatusCode::FORBIDDEN, "feature_not_in_plan").await;
    let export = app.get(&format!("/v1/orgs/{org}/audit-log/export"), &owner).await;
    expect_problem(export, StatusCode::FORBIDDEN, "feature_not_in_plan").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_grace_period_is_no_way_around_the_every_owner_rule() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Grace").await;
    app.seed_members(&org, "admin", 1, "admin");
    let admin = with_mfa("admin-1");
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc3339();
    let graced = json!({ "enforced": true, "grace_until": soon });
    let path = format!("/v1/orgs/{org}/mfa/policy");
    for who in [&owner, &admin] {
        let put = app.request(Method::PUT, &path, Some(who), Some(graced.clone())).await;
        expect_problem(put, StatusCode::CONFLICT, "would_lock_out_every_owner").await;
    }
    // Once an owner has a second factor, the same change is fine.
    let owner_with_mfa = with_mfa("owner");
    let put = app.request(Method::PUT, &path, Some(&owner_with_mfa), Some(graced)).await;
    expect_status(put, StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_time_in_the_future_proves_no_fresh_session() {
    let app = TestApp::spawn().await;
    let owner = with_mfa("owner");
    let org = app.create_org(&owner, "Fresh").await;
    let sessions = json!({ "max_session_age_secs": 300 });
    let put = app.request(Method::PUT, &format!("/v1/orgs/{org}/security-policy"), Some(&owner), Some(sessions)).await;
    expect_status(put, StatusCode::OK).await;
    let future = chrono::Utc::now().timestamp() + 365 * 86_400;
    let forged = token_with("owner", json!({ "amr": ["pwd", "otp"], "auth_time": future }));
    expect_problem(app.get(&format!("/v1/orgs/{org}"), &forged).await, StatusCode::FORBIDDEN, "session_too_old").await;
}

/// A lost update of a policy weakens security: every policy write must say which version it
/// replaces (or `*`), else 428, and nothing changes.
#[tokio::test(flavor = "multi_thread")]
async fn a_policy_write_without_if_match_is_refused_with_428() {
    let app = TestApp::spawn().await;
    let owner = with_mfa("owner");
    let org = app.create_org(&owner, "Blind writes").await;
    let writes = [
        ("mfa/policy", crate::authorization::graced_mfa()),
        ("sign-in-methods", json!({ "allowed": ["password"] })),
        ("security-policy", json!({ "max_session_age_secs": 86400 })),
        ("sso", crate::authorization::sso_config()),
        ("scim", json!({ "enabled": true })),
        ("llm-policy", json!({ "providers": ["openai"] })),
        ("spend/limits", json!({ "budget_micros": 1000 })),
    ];
    let before = app.audit(&org).len();
    for (path, body) in writes {
        let url = format!("{}/v1/orgs/{org}/{path}", app.base);
        let blind = app.raw().put(&url).bearer_auth(&owner).json(&body).send().await.unwrap();
        expect_problem(blind, StatusCode::PRECONDITION_REQUIRED, "if_match_required").await;
        let dry = app.raw().put(format!("{url}?dry_run=true")).bearer_auth(&owner).json(&body).send().await.unwrap();
        assert_eq!(dry.status(), StatusCode::PRECONDITION_REQUIRED, "{path}: a preview names its version too");
        let any = app.raw().put(&url).bearer_auth(&owner).header("if-match", "*").json(&body).send().await.unwrap();
        assert_eq!(any.status(), StatusCode::OK, "{path}: {}", any.text().await.unwrap());
    }
    assert_eq!(app.audit(&org).len(), before + 7, "only the writes that named a version changed anything");
}
