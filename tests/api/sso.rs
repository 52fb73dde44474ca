//! SSO federation settings over HTTP: SAML and OIDC round trips with ETags, certificate
//! checks, the write-only client secret, plan gating and who may read and write — and
//! that no secret (client secret or SCIM token) ever reaches a response, a log line or
//! the audit log.

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, org_uuid, LoggedServer, TestApp};

/// A self-signed signing certificate valid from `from` until `until`, as PEM, made now so
/// that no committed certificate ever expires.
pub fn certificate(from: DateTime<Utc>, until: DateTime<Utc>) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["idp.example.com".to_owned()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "Example IdP signing");
    let at = |t: DateTime<Utc>| rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(t.timestamp() as u64);
    params.not_before = at(from);
    params.not_after = at(until);
    params.self_signed(&key).unwrap().pem()
}

fn saml(sso_url: &str, certificate: &str) -> Value {
    json!({
        "enabled": true,
        "connection": {
            "type": "saml",
            "idp_entity_id": "https://idp.example.com/saml",
            "sso_url": sso_url,
            "certificate": certificate,
        }
    })
}

const SECRET: &str = "oidc-client-secret-Zq8Wv3Lk9Pd2";

fn oidc(issuer: &str, secret: Option<Option<&str>>) -> Value {
    let mut connection = json!({ "type": "oidc", "issuer": issuer, "client_id": "orgd-client" });
    if let Some(secret) = secret {
        connection["client_secret"] = json!(secret);
    }
    json!({ "enabled": true, "connection": connection })
}

/// `PUT`s `body`, based on the version `if_match` names, or on whatever is there (`*`).
pub async fn put(app: &TestApp, path: &str, token: &str, body: Value, if_match: Option<&str>) -> Response {
    let request = app.raw().put(format!("{}{path}", app.base)).bearer_auth(token).json(&body);
    request.header("if-match", if_match.unwrap_or("*")).send().await.unwrap()
}

fn etag(response: &Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

fn field_codes(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saml_connection_round_trips_with_etags_and_its_certificate_facts() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Federated").await;
    let path = format!("/v1/orgs/{org}/sso");

    let unset = app.get(&path, &owner).await;
    assert_eq!(etag(&unset), "\"0\"");
    let unset = expect_status(unset, StatusCode::OK).await;
    assert_eq!((unset["enabled"].as_bool(), unset["connection"].is_null()), (Some(false), true));

    let now = Utc::now();
    let pem = certificate(now - Duration::days(1), now + Duration::days(365));
    let saved = put(&app, &path, &owner, saml("https://idp.example.com/saml/sso", &pem), Some("\"0\"")).await;
    assert_eq!(etag(&saved), "\"1\"");
    let saved = expect_status(saved, StatusCode::OK).await;
    let cert = &saved["connection"]["certificate"];
    assert_eq!(saved["connection"]["type"], "saml");
    assert!(cert["subject"].as_str().unwrap().contains("CN=Example IdP signing"), "{cert}");
    let not_after: DateTime<Utc> = cert["not_after"].as_str().unwrap().parse().unwrap();
    assert_eq!((not_after - now).num_days(), 364);
    let fingerprint = cert["fingerprint_sha256"].as_str().unwrap();
    assert!(fingerprint.len() == 95 && fingerprint.split(':').all(|b| b.len() == 2), "{fingerprint}");
    assert_eq!(cert["expires_soon"], false);

    let read = app.get(&path, &owner).await;
    assert_eq!(etag(&read), "\"1\"");
    assert_eq!(expect_status(read, StatusCode::OK).await, saved);

    let stale = put(&app, &path, &owner, json!({ "enabled": false }), Some("\"0\"")).await;
    expect_problem(stale, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    let events = app.audit(&org);
    let last = events.last().unwrap();
    assert_eq!(last.action, "sso.config_updated");
    assert_eq!(last.changes["sso_url"]["to"], "https://idp.example.com/saml/sso");
    assert_eq!(last.changes["certificate_sha256"]["to"], fingerprint);
}

/// A saved connection, SAML or OIDC with its secret, can be removed.
#[tokio::test(flavor = "multi_thread")]
async fn a_saved_connection_can_be_removed() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Unfederated").await;
    let path = format!("/v1/orgs/{org}/sso");
    let now = Utc::now();
    let pem = certificate(now - Duration::days(1), now + Duration::days(365));
    for connected in
        [saml("https://idp.example.com/saml/sso", &pem), oidc("https://idp.example.com", Some(Some(SECRET)))]
    {
        expect_status(put(&app, &path, &owner, connected, None).await, StatusCode::OK).await;
        let removed =
            expect_status(put(&app, &path, &owner, json!({ "enabled": false }), None).await, StatusCode::OK).await;
        assert_eq!((removed["enabled"].as_bool(), removed["connection"].is_null()), (Some(false), true), "{removed}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_certificates_and_plain_http_urls_are_refused_by_field() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Strict").await;
    let path = format!("/v1/orgs/{org}/sso");
    let now = Utc::now();

    let expired = certificate(now - Duration::days(400), now - Duration::days(1));
    let problem = expect_problem(
        put(&app, &path, &owner, saml("http://idp.example.com/sso", &expired), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        field_codes(&problem),
        [
            ("connection.sso_url".to_owned(), "https_required".to_owned()),
            ("connection.certificate".to_owned(), "certificate_expired".to_owned())
        ]
    );
    for garbage in ["not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"] {
        let problem = expect_problem(
            put(&app, &path, &owner, saml("https://idp.example.com/sso", garbage), None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(field_codes(&problem), [("connection.certificate".to_owned(), "invalid_certificate".to_owned())]);
    }
    let problem = expect_problem(
        put(&app, &path, &owner, oidc("http://idp.example.com", Some(Some(SECRET))), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(field_codes(&problem), [("connection.issuer".to_owned(), "https_required".to_owned())]);
    let unknown = json!({ "enabled": true, "connection": { "type": "ldap" } });
    let response = put(&app, &path, &owner, unknown, None).await;
    assert!(response.status().is_client_error(), "an unknown connection type is the client's error");
    let extra = json!({ "enabled": false, "connection": { "type": "oidc", "issuer": "https://idp.example.com", "client_id": "x", "tenant": "y" } });
    assert!(put(&app, &path, &owner, extra, None).await.status().is_client_error());
    assert_eq!(expect_status(app.get(&path, &owner).await, StatusCode::OK).await["version"], 0, "nothing was saved");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_about_to_expire_is_flagged() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Expiring").await;
    let now = Utc::now();
    let pem = certificate(now - Duration::days(300), now + Duration::days(10));
    let body = saml("https://idp.example.com/sso", &pem);
    let saved =
        expect_status(put(&app, &format!("/v1/orgs/{org}/sso"), &owner, body, None).await, StatusCode::OK).await;
    assert_eq!(saved["connection"]["certificate"]["expires_soon"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_secret_is_write_only_kept_on_resave_and_cleared_by_null() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Oidc").await;
    let path = format!("/v1/orgs/{org}/sso");

    let saved = put(&app, &path, &owner, oidc("https://idp.example.com", Some(Some(SECRET))), None).await;
    let text = saved.text().await.unwrap();
    assert!(!text.contains(SECRET), "{text}");
    let saved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (saved["connection"]["has_client_secret"].as_bool(), saved["connection"]["client_secret_last4"].as_str()),
        (Some(true), Some(&SECRET[SECRET.len() - 4..]))
    );

    let resaved = expect_status(
        put(&app, &path, &owner, oidc("https://idp.example.com", None), Some("\"1\"")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (resaved["version"].as_i64(), resaved["connection"]["has_client_secret"].as_bool()),
        (Some(1), Some(true))
    );

    let moved = expect_problem(
        put(&app, &path, &owner, oidc("https://elsewhere.example.com", None), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(field_codes(&moved), [("connection.client_secret".to_owned(), "required".to_owned())]);

    let cleared = expect_status(
        put(&app, &path, &owner, oidc("https://idp.example.com", Some(None)), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (cleared["connection"]["has_client_secret"].as_bool(), cleared["connection"]["client_secret_last4"].is_null()),
        (Some(false), true)
    );
    let changes: Vec<Value> =
        app.audit(&org).into_iter().filter(|e| e.action == "sso.config_updated").map(|e| e.changes).collect();
    assert_eq!(changes.len(), 2, "the unchanged re-save wrote nothing");
    assert!(changes.iter().all(|c| c["client_secret"]["to"] == "changed"), "{changes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_plan_without_sso_writes_are_refused_and_reads_are_not() {
    let app = TestApp::spawn_with(|config| config.default_plan = orgd_domain::policy::Plan::Free).await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Frugal").await;
    let path = format!("/v1/orgs/{org}/sso");
    let problem = expect_problem(
        put(&app, &path, &owner, oidc("https://idp.example.com", Some(Some(SECRET))), None).await,
        StatusCode::FORBIDDEN,
        "feature_not_in_plan",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("sso"), "{problem}");
    expect_status(app.get(&path, &owner).await, StatusCode::OK).await;
    // Turning SSO off stays possible after a downgrade.
    expect_status(put(&app, &path, &owner, json!({ "enabled": false }), None).await, StatusCode::OK).await;
    app.db.execute(&format!("UPDATE organizations SET plan = 'enterprise' WHERE id = '{}'", org_uuid(&org))).unwrap();
    expect_status(
        put(&app, &path, &owner, oidc("https://idp.example.com", Some(Some(SECRET))), None).await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_read_but_never_write_members_are_forbidden_and_outsiders_see_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Guarded").await;
    let path = format!("/v1/orgs/{org}/sso");
    let key = json!({ "name": "sso bot", "permissions": ["sso:read", "sso:write"] });
    let key =
        expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, key).await, StatusCode::CREATED).await;
    let key = key["secret"].as_str().unwrap();
    expect_status(app.get(&path, key).await, StatusCode::OK).await;
    let body = || oidc("https://idp.example.com", Some(Some(SECRET)));
    expect_problem(put(&app, &path, key, body(), None).await, StatusCode::FORBIDDEN, "user_required").await;

    app.seed_members(&org, "plain", 1, "member");
    let plain = app.token("plain-1");
    let problem = expect_problem(app.get(&path, &plain).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(problem["permission"], "sso:read");
    let problem =
        expect_problem(put(&app, &path, &plain, body(), None).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(problem["permission"], "sso:write");
    let outsider = app.token("outsider");
    expect_problem(app.get(&path, &outsider).await, StatusCode::NOT_FOUND, "not_found").await;
    expect_problem(put(&app, &path, &outsider, body(), None).await, StatusCode::NOT_FOUND, "not_found").await;

    app.seed_members(&org, "admin", 1, "admin");
    expect_status(put(&app, &path, &app.token("admin-1"), body(), None).await, StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_appear_in_responses_logs_or_the_audit_log() {
    for format in ["text", "json"] {
        let app = TestApp::spawn().await;
        let server = tokio::task::spawn_blocking({
            let url = app.db.url().to_owned();
            move || LoggedServer::start(&url, format)
        })
        .await
        .unwrap();
        let client = reqwest::Client::new();
        let owner = app.token("owner");
        let call = |method: Method, path: String, body: Option<Value>| {
            let put = method == Method::PUT;
            let mut request = client.request(method, format!("{}{path}", server.base)).bearer_auth(&owner);
            if put {
                request = request.header("if-match", "*");
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            async move { request.send().await.unwrap().text().await.unwrap() }
        };
        let created = call(Method::POST, "/v1/orgs".into(), Some(json!({ "name": "Secretive" }))).await;
        let org = serde_json::from_str::<Value>(&created).unwrap()["id"].as_str().unwrap().to_owned();

        let mut bodies = Vec::new();
        bodies.push(
            call(Method::PUT, format!("/v1/orgs/{org}/sso"), Some(oidc("https://idp.example.com", Some(Some(SECRET)))))
                .await,
        );
        bodies
            .push(call(Method::PUT, format!("/v1/orgs/{org}/sso"), Some(oidc("https://idp.example.com", None))).await);
        bodies.push(call(Method::GET, format!("/v1/orgs/{org}/sso"), None).await);
        // A refused write carrying the secret is not echoed either.
        bodies.push(
            call(
                Method::PUT,
                format!("/v1/orgs/{org}/sso"),
                Some(oidc("http://insecure.example.com", Some(Some(SECRET)))),
            )
            .await,
        );
        let mut scim_tokens = Vec::new();
        for body in
            [json!({ "enabled": true }), json!({ "enabled": true, "rotate_token": true }), json!({ "enabled": false })]
        {
            let written = call(Method::PUT, format!("/v1/orgs/{org}/scim"), Some(body)).await;
            if let Some(token) = serde_json::from_str::<Value>(&written).unwrap()["token"].as_str() {
                scim_tokens.push(token.to_owned());
            }
        }
        bodies.push(call(Method::GET, format!("/v1/orgs/{org}/scim"), None).await);
        bodies.push(call(Method::GET, format!("/v1/orgs/{org}/audit-log"), None).await);
        assert_eq!(scim_tokens.len(), 2, "enabling and rotating each showed a token once");
        // Presenting a SCIM token where a credential is read logs nothing of it either.
        let refused =
            client.get(format!("{}/v1/orgs/me", server.base)).bearer_auth(&scim_tokens[0]).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

        let log = server.log();
        assert!(log.contains("/v1/orgs/{org}/sso"), "requests were logged: {log}");
        let audit: Vec<String> = app.audit(&org).iter().map(|e| e.changes.to_string()).collect();
        assert_eq!(audit.len(), 5, "org, SSO, and three SCIM changes: {audit:?}");
        for secret in std::iter::once(SECRET).chain(scim_tokens.iter().map(String::as_str)) {
            // Also the parts of a token that are not its hint.
            let secret_part = &secret[9..secret.len() - 4];
            assert!(!log.contains(secret_part), "the {format} log holds a secret");
            for text in audit.iter().chain(&bodies) {
                assert!(!text.contains(secret_part), "a secret leaked: {text}");
            }
        }
    }
}
