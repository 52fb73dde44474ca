//! The authorization matrix: for every organization route, who may call it, asserted
//! against the real server. Each case runs in an organization of its own.

use api::auth::DevToken;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_status, TestApp};

/// Columns of the matrix.
const ACTORS: [&str; 6] = ["owner", "admin", "member", "auditor", "api_key", "outsider"];

/// `Y` allowed (any status but 401/403/404), `F` forbidden (403), `N` not found (404).
const MATRIX: &[(&str, &str, &str)] = &[
    //                                                         owner admin member auditor key outsider
    ("GET", "/v1/orgs/{org}", "YYYYYN"),
    ("PATCH", "/v1/orgs/{org}", "YYFFFN"),
    ("DELETE", "/v1/orgs/{org}", "YFFFFN"),
    ("POST", "/v1/orgs/{org}/leave", "YYYYNN"),
    ("POST", "/v1/orgs/{org}/transfer-ownership", "YFFFFN"),
    ("GET", "/v1/orgs/{org}/permissions", "YYYYYN"),
    ("GET", "/v1/orgs/{org}/members", "YYYYYN"),
    ("GET", "/v1/orgs/{org}/members/{member}", "YYYYYN"),
    ("PATCH", "/v1/orgs/{org}/members/{member}", "YYFFFN"),
    ("DELETE", "/v1/orgs/{org}/members/{member}", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/roles", "YYFYYN"),
    ("POST", "/v1/orgs/{org}/roles", "YYFFFN"),
    ("PATCH", "/v1/orgs/{org}/roles/{role}", "YYFFFN"),
    ("DELETE", "/v1/orgs/{org}/roles/{role}", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/teams", "YYYFFN"),
    ("POST", "/v1/orgs/{org}/teams", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/teams/{team}", "YYYFFN"),
    ("PATCH", "/v1/orgs/{org}/teams/{team}", "YYFFFN"),
    ("DELETE", "/v1/orgs/{org}/teams/{team}", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/teams/{team}/members", "YYYFFN"),
    ("POST", "/v1/orgs/{org}/teams/{team}/members", "YYFFFN"),
    ("DELETE", "/v1/orgs/{org}/teams/{team}/members/{member}", "YYFFFN"),
    ("PUT", "/v1/orgs/{org}/teams/{team}/members/{member}/manager", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/invites", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/invites", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/invites/{invite}/resend", "YYFFFN"),
    ("DELETE", "/v1/orgs/{org}/invites/{invite}", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/api-keys", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/api-keys", "YYFFFN"),
    ("DELETE", "/v1/orgs/{org}/api-keys/{key}", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/mfa/policy", "YYFFFN"),
    ("PUT", "/v1/orgs/{org}/mfa/policy", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/mfa", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/mfa/reminders", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/sign-in-methods", "YYFFFN"),
    ("PUT", "/v1/orgs/{org}/sign-in-methods", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/security-policy", "YYFFFN"),
    ("PUT", "/v1/orgs/{org}/security-policy", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/sso", "YYFFFN"),
    ("PUT", "/v1/orgs/{org}/sso", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/scim", "YYFFFN"),
    ("PUT", "/v1/orgs/{org}/scim", "YFFFFN"),
    ("POST", "/v1/orgs/{org}/domains", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/domains", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/domains/{domain}", "YYFFFN"),
    ("PATCH", "/v1/orgs/{org}/domains/{domain}", "YYFFFN"),
    ("DELETE", "/v1/orgs/{org}/domains/{domain}", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/domains/{domain}/verify", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/join-requests", "YYYYFN"),
    ("GET", "/v1/orgs/{org}/join-requests", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/join-requests/{request}/approve", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/join-requests/{request}/deny", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/llm-policy", "YYYFFN"),
    ("PUT", "/v1/orgs/{org}/llm-policy", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/llm-policy/check", "YYYFFN"),
    ("POST", "/v1/orgs/{org}/usage", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/spend", "YYFFFN"),
    ("PUT", "/v1/orgs/{org}/spend/limits", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/dashboard", "YYYYYN"),
    ("GET", "/v1/orgs/{org}/events", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/webhooks", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/webhooks", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/webhooks/{webhook}", "YYFFFN"),
    ("PATCH", "/v1/orgs/{org}/webhooks/{webhook}", "YYFFFN"),
    ("DELETE", "/v1/orgs/{org}/webhooks/{webhook}", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/webhooks/{webhook}/rotate-secret", "YYFFFN"),
    ("GET", "/v1/orgs/{org}/webhooks/{webhook}/deliveries", "YYFFFN"),
    ("POST", "/v1/orgs/{org}/webhooks/{webhook}/deliveries/{delivery}/redeliver", "YYFFFN"),
];

/// A 2FA enforcement that starts in a month: a real change that locks nobody out today.
pub fn graced_mfa() -> Value {
    json!({ "enforced": true, "grace_until": (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339() })
}

/// An OIDC connection with a client secret: a real SSO change.
pub fn sso_config() -> Value {
    json!({ "enabled": true, "connection": { "type": "oidc", "issuer": "https://idp.example.com", "client_id": "orgd", "client_secret": "a-client-secret-of-some-length" } })
}

fn body_for(method: &str, path: &str, member: &str) -> Option<Value> {
    match (method, path) {
        ("PATCH", "/v1/orgs/{org}") => Some(json!({ "timezone": "UTC" })),
        ("POST", "/v1/orgs/{org}/transfer-ownership") => Some(json!({ "member_id": member })),
        ("PATCH", "/v1/orgs/{org}/members/{member}") => Some(json!({ "role": "member" })),
        ("POST", "/v1/orgs/{org}/roles") => Some(json!({ "name": "Viewer", "permissions": ["org:read"] })),
        ("PATCH", "/v1/orgs/{org}/roles/{role}") => Some(json!({ "name": "Renamed" })),
        ("POST", "/v1/orgs/{org}/api-keys") => Some(json!({ "name": "bot", "permissions": ["org:read"] })),
        ("POST", "/v1/orgs/{org}/teams") => Some(json!({ "name": "New team" })),
        ("POST", "/v1/orgs/{org}/invites") => Some(json!({ "role": "member" })),
        ("PATCH", "/v1/orgs/{org}/teams/{team}") => Some(json!({ "name": "Renamed team" })),
        ("POST", "/v1/orgs/{org}/teams/{team}/members") => Some(json!({ "member_id": member })),
        ("PUT", "/v1/orgs/{org}/mfa/policy") => Some(graced_mfa()),
        ("PUT", "/v1/orgs/{org}/sign-in-methods") => Some(json!({ "allowed": ["password"] })),
        ("PUT", "/v1/orgs/{org}/security-policy") => Some(json!({ "max_session_age_secs": 86400 })),
        ("PUT", "/v1/orgs/{org}/sso") => Some(sso_config()),
        ("PUT", "/v1/orgs/{org}/scim") => Some(json!({ "enabled": true })),
        ("POST", "/v1/orgs/{org}/domains") => Some(json!({ "domain": "claimed-in-matrix.com" })),
        ("PATCH", "/v1/orgs/{org}/domains/{domain}") => Some(json!({ "join_policy": "off" })),
        ("PUT", "/v1/orgs/{org}/llm-policy") => Some(json!({ "providers": ["openai"] })),
        ("POST", "/v1/orgs/{org}/llm-policy/check") => Some(json!({ "provider": "openai" })),
        ("POST", "/v1/orgs/{org}/usage") => Some(json!({ "idempotency_key": "matrix", "amount_micros": 1 })),
        ("PUT", "/v1/orgs/{org}/spend/limits") => Some(json!({ "budget_micros": 1000000 })),
        ("POST", "/v1/orgs/{org}/webhooks") => Some(json!({ "url": "http://127.0.0.1:9/matrix" })),
        ("PATCH", "/v1/orgs/{org}/webhooks/{webhook}") => Some(json!({ "enabled": false })),
        ("PUT", _) => Some(json!({ "is_manager": true })),
        ("POST", _) => Some(json!({})),
        _ => None,
    }
}

/// Claims `name` for `org`, publishes its TXT record on the test DNS server, verifies it
/// and sets its join policy; answers the domain's id.
pub async fn verified_domain(app: &TestApp, org: &str, owner: &str, name: &str, join_policy: &str) -> String {
    let claimed = json!({ "domain": name });
    let claimed =
        expect_status(app.post(&format!("/v1/orgs/{org}/domains"), owner, claimed).await, StatusCode::CREATED).await;
    let record = &claimed["verification"];
    app.dns.set_txt(record["name"].as_str().unwrap(), &[record["value"].as_str().unwrap()]);
    let id = claimed["id"].as_str().unwrap();
    expect_status(app.post(&format!("/v1/orgs/{org}/domains/{id}/verify"), owner, json!({})).await, StatusCode::OK)
        .await;
    let policy = json!({ "join_policy": join_policy });
    expect_status(app.patch(&format!("/v1/orgs/{org}/domains/{id}"), owner, policy).await, StatusCode::OK).await;
    id.to_owned()
}

/// An organization with one actor of each kind, and a member, a role and a key to act on.
pub struct Fixture {
    pub org: String,
    /// An email invite (to `invitee@example.com`) and its secret.
    pub invite: String,
    pub invite_token: String,
    pub team: String,
    /// A member outside the fixture team.
    pub spare_member: String,
    pub member: String,
    pub role: String,
    pub key: String,
    /// A verified domain open to its people (`suggest`), its name, and a pending request to
    /// join by it.
    pub domain: String,
    pub domain_name: String,
    /// A claimed domain whose record is published but not yet verified.
    pub pending_domain: String,
    pub join_request: String,
    /// A webhook taking every event, and one of its deliveries.
    pub webhook: String,
    pub delivery: String,
    /// owner, admin, member, auditor, API key, outsider: the matrix's columns.
    pub tokens: Vec<String>,
}

pub async fn fixture(app: &TestApp, case: usize) -> Fixture {
    // With a second factor, so that turning 2FA enforcement on locks no owner out.
    let owner = app.token_with_mfa(&format!("c{case}-owner"));
    let org = app.create_org(&owner, &format!("Matrix {case}")).await;
    // Before the changes below, so that they are delivered to it (to nothing listening).
    let webhook = json!({ "url": "http://127.0.0.1:9/fixture" });
    let webhook =
        expect_status(app.post(&format!("/v1/orgs/{org}/webhooks"), &owner, webhook).await, StatusCode::CREATED).await;
    let webhook = webhook["id"].as_str().unwrap().to_owned();
    for role in ["admin", "member", "target"] {
        app.seed_members(&org, &format!("c{case}-{role}"), 1, if role == "admin" { "admin" } else { "member" });
    }
    let auditor_role = json!({ "key": "auditor", "name": "Auditor", "permissions": ["org:read", "members:read", "roles:read", "audit:read"] });
    expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, auditor_role).await, StatusCode::CREATED).await;
    app.seed_members(&org, &format!("c{case}-auditor"), 1, "auditor");
    let role = json!({ "key": "spare", "name": "Spare", "permissions": ["org:read"] });
    let role = expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, role).await, StatusCode::CREATED).await;
    let api_key = json!({ "name": "reader", "permissions": ["org:read", "members:read", "roles:read"] });
    let api_key =
        expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, api_key).await, StatusCode::CREATED).await;
    let spare_key = json!({ "name": "spare", "permissions": ["org:read"] });
    let spare_key =
        expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, spare_key).await, StatusCode::CREATED)
            .await;
    let members =
        expect_status(app.get(&format!("/v1/orgs/{org}/members?q=c{case}-target"), &owner).await, StatusCode::OK).await;
    let member = members["data"][0]["id"].as_str().unwrap().to_owned();
    let team = expect_status(
        app.post(&format!("/v1/orgs/{org}/teams"), &owner, json!({ "name": "Fixture team" })).await,
        StatusCode::CREATED,
    )
    .await;
    let team = team["id"].as_str().unwrap().to_owned();
    let seat = json!({ "member_id": member });
    expect_status(app.post(&format!("/v1/orgs/{org}/teams/{team}/members"), &owner, seat).await, StatusCode::CREATED)
        .await;
    app.seed_members(&org, &format!("c{case}-spare"), 1, "member");
    let spare =
        expect_status(app.get(&format!("/v1/orgs/{org}/members?q=c{case}-spare"), &owner).await, StatusCode::OK).await;
    let invite = json!({ "role": "member", "email": "invitee@example.com" });
    let invite =
        expect_status(app.post(&format!("/v1/orgs/{org}/invites"), &owner, invite).await, StatusCode::CREATED).await;
    let domain_name = format!("c{case}.matrix-org.com");
    let domain = verified_domain(app, &org, &owner, &domain_name, "suggest").await;
    let pending = json!({ "domain": format!("p{case}.matrix-org.com") });
    let pending =
        expect_status(app.post(&format!("/v1/orgs/{org}/domains"), &owner, pending).await, StatusCode::CREATED).await;
    let record = &pending["verification"];
    app.dns.set_txt(record["name"].as_str().unwrap(), &[record["value"].as_str().unwrap()]);
    let requester = app.token_with(DevToken {
        subject: format!("c{case}-requester"),
        email: Some(format!("requester@c{case}.matrix-org.com")),
        name: None,
        mfa: false,
        staff: None,
        ttl: std::time::Duration::from_secs(600),
    });
    let join_request = expect_status(
        app.post(&format!("/v1/orgs/{org}/join-requests"), &requester, json!({})).await,
        StatusCode::CREATED,
    )
    .await;
    let deliveries = format!("/v1/orgs/{org}/webhooks/{webhook}/deliveries?limit=1");
    let deliveries = expect_status(app.get(&deliveries, &owner).await, StatusCode::OK).await;
    let delivery = deliveries["data"][0]["id"].as_str().unwrap().to_owned();
    Fixture {
        webhook,
        delivery,
        domain,
        domain_name,
        pending_domain: pending["id"].as_str().unwrap().to_owned(),
        join_request: join_request["id"].as_str().unwrap().to_owned(),
        invite: invite["id"].as_str().unwrap().to_owned(),
        invite_token: invite["token"].as_str().unwrap().to_owned(),
        spare_member: spare["data"][0]["id"].as_str().unwrap().to_owned(),
        team,
        member,
        role: role["id"].as_str().unwrap().to_owned(),
        key: spare_key["id"].as_str().unwrap().to_owned(),
        tokens: vec![
            owner,
            app.token(&format!("c{case}-admin-1")),
            app.token(&format!("c{case}-member-1")),
            app.token(&format!("c{case}-auditor-1")),
            api_key["secret"].as_str().unwrap().to_owned(),
            app.token(&format!("c{case}-outsider")),
        ],
        org,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_org_route_admits_exactly_whom_the_matrix_says() {
    let app = TestApp::spawn_with(|config| config.invites.resend_interval = chrono::Duration::zero()).await;
    let mut failures = Vec::new();
    let mut case = 0;
    for (method, template, expected) in MATRIX {
        for (actor_index, expectation) in expected.chars().enumerate() {
            case += 1;
            let f = fixture(&app, case).await;
            let path = template
                .replace("{org}", &f.org)
                .replace("{member}", &f.member)
                .replace("{role}", &f.role)
                .replace("{key}", &f.key)
                .replace("{team}", &f.team)
                .replace("{invite}", &f.invite)
                .replace("{domain}", &f.domain)
                .replace("{request}", &f.join_request)
                .replace("{webhook}", &f.webhook)
                .replace("{delivery}", &f.delivery);
            let body = body_for(method, template, &f.member);
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let response = app.request(method.clone(), &path, Some(&f.tokens[actor_index]), body).await;
            let status = response.status();
            let ok = match expectation {
                'Y' => {
                    ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&status)
                        && !status.is_server_error()
                }
                'F' => status == StatusCode::FORBIDDEN,
                'N' => status == StatusCode::NOT_FOUND,
                other => panic!("bad matrix cell {other}"),
            };
            if !ok {
                failures.push(format!(
                    "{method} {template} as {}: expected {expectation}, got {status}",
                    ACTORS[actor_index]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} cell(s) disagree:\n{}", failures.len(), failures.join("\n"));
}

/// `/v1/admin`: `N` 404 to everyone who is not platform staff, `F` 403 to `staff_read` on
/// writes, `Y` allowed. Columns: the organization's owner, its member, its API key, a token
/// whose staff claim names no role, `staff_read`, `staff_admin`.
const ADMIN_MATRIX: &[(&str, &str, &str)] = &[
    //                                                 owner member key bogus read admin
    ("GET", "/v1/admin/orgs", "NNNNYY"),
    ("GET", "/v1/admin/orgs/{org}", "NNNNYY"),
    ("PATCH", "/v1/admin/orgs/{org}", "NNNNFY"),
    ("DELETE", "/v1/admin/orgs/{org}", "NNNNFY"),
    ("POST", "/v1/admin/orgs/{org}/restore", "NNNNFY"),
    ("PUT", "/v1/admin/orgs/{org}/plan", "NNNNFY"),
    ("GET", "/v1/admin/audit-log", "NNNNYY"),
];

fn admin_body(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("PATCH", _) => Some(json!({ "timezone": "UTC" })),
        ("PUT", _) => Some(json!({ "plan": "team" })),
        ("POST", _) => Some(json!({})),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_routes_are_invisible_to_everyone_but_staff_and_writes_need_staff_admin() {
    use orgd_domain::platform::StaffRole;
    let app = TestApp::spawn().await;
    let doc = expect_status(app.request(Method::GET, "/openapi.json", None, None).await, StatusCode::OK).await;
    for (path, item) in doc["paths"].as_object().unwrap().iter().filter(|(p, _)| p.starts_with("/v1/admin")) {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            assert!(
                ADMIN_MATRIX.iter().any(|(m, p, _)| *m == method && p == path),
                "{method} {path} not in the matrix"
            );
        }
    }
    let mut failures = Vec::new();
    for (case, (method, template, expected)) in ADMIN_MATRIX.iter().enumerate() {
        for (actor, expectation) in expected.chars().enumerate() {
            let owner = app.token(&format!("a{case}-{actor}-owner"));
            let org = app.create_org(&owner, &format!("Admin matrix {case} {actor}")).await;
            app.seed_members(&org, &format!("a{case}-{actor}-member"), 1, "member");
            let key = json!({ "name": "reader", "permissions": ["org:read"] });
            let key =
                expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, key).await, StatusCode::CREATED)
                    .await;
            let token = match actor {
                0 => owner,
                1 => app.token(&format!("a{case}-{actor}-member-1")),
                2 => key["secret"].as_str().unwrap().to_owned(),
                3 => crate::helpers::claims_token(&format!("a{case}-bogus"), json!({ "orgd_staff": "superuser" })),
                4 => crate::admin::staff_token(&app, "support", StaffRole::Read),
                _ => crate::admin::staff_token(&app, "root", StaffRole::Admin),
            };
            let path = template.replace("{org}", &org);
            let response = app
                .request(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    &path,
                    Some(&token),
                    admin_body(method, template),
                )
                .await;
            let status = response.status();
            let ok = match expectation {
                'Y' => {
                    ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&status)
                        && !status.is_server_error()
                }
                'F' => status == StatusCode::FORBIDDEN,
                _ => status == StatusCode::NOT_FOUND,
            };
            if !ok {
                failures.push(format!("{method} {template} as column {actor}: expected {expectation}, got {status}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} cell(s) disagree:\n{}", failures.len(), failures.join("\n"));

    // A server that does not trust the staff claim (no issuer and audience to bind tokens
    // to it) shows /v1/admin to no one, whatever the token says.
    let mut unbound = crate::helpers::jwt_config();
    unbound.issuer = None;
    unbound.audience = None;
    let untrusting = TestApp::spawn_with_jwt(unbound).await;
    let root = crate::admin::staff_token(&untrusting, "root", StaffRole::Admin);
    let org = untrusting.create_org(&untrusting.token("ada"), "Acme").await;
    for (method, template, _) in ADMIN_MATRIX {
        let path = template.replace("{org}", &org);
        let body = admin_body(method, template);
        let response =
            untrusting.request(Method::from_bytes(method.as_bytes()).unwrap(), &path, Some(&root), body).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {template} with an untrusted staff claim");
    }
}
