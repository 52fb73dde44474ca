//! No credential reaches a log line or an audit record: API keys, invite links (their token
//! travels in the path), SCIM tokens and the bearer JWTs themselves, across every route that
//! takes one, with the server logging everything it can (`RUST_LOG=trace`).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{claims_token, LoggedServer, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn no_credential_appears_in_any_log_line_or_audit_record() {
    let app = TestApp::spawn().await;
    let url = app.db.url().to_owned();
    let server = tokio::task::spawn_blocking(move || LoggedServer::start(&url, "json")).await.unwrap();
    let client = reqwest::Client::new();
    let owner = claims_token("owner", json!({}));
    let guest = claims_token("guest", json!({}));
    let call = |method: Method, path: String, token: String, body: Option<Value>| {
        let mut request = client.request(method.clone(), format!("{}{path}", server.base)).bearer_auth(token);
        if method == Method::PUT {
            request = request.header("if-match", "*");
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (_, org) = call(Method::POST, "/v1/orgs".into(), owner.clone(), Some(json!({ "name": "Quiet" }))).await;
    let org = org["id"].as_str().unwrap().to_owned();

    let (status, key) = call(
        Method::POST,
        format!("/v1/orgs/{org}/api-keys"),
        owner.clone(),
        Some(json!({ "name": "ci", "permissions": ["members:read"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let api_key = key["secret"].as_str().unwrap().to_owned();
    assert_eq!(call(Method::GET, "/v1/orgs/me/members".into(), api_key.clone(), None).await.0, StatusCode::OK);
    // A key used where it may not go, and one that does not exist.
    assert_eq!(call(Method::DELETE, format!("/v1/orgs/{org}"), api_key.clone(), None).await.0, StatusCode::FORBIDDEN);
    let forged = format!("{}x", &api_key[..api_key.len() - 1]);
    assert_eq!(call(Method::GET, "/v1/orgs/me".into(), forged, None).await.0, StatusCode::UNAUTHORIZED);

    let (_, invite) =
        call(Method::POST, format!("/v1/orgs/{org}/invites"), owner.clone(), Some(json!({ "role": "member" }))).await;
    let invite_token = invite["token"].as_str().unwrap().to_owned();
    assert_eq!(call(Method::GET, format!("/v1/invites/{invite_token}"), guest.clone(), None).await.0, StatusCode::OK);
    let accepted = call(Method::POST, format!("/v1/invites/{invite_token}/accept"), guest.clone(), None).await;
    assert_eq!(accepted.0, StatusCode::OK, "{}", accepted.1);
    // A path no route takes, carrying the token, is logged redacted too.
    call(Method::GET, format!("/v1/invites/{invite_token}/nowhere"), guest.clone(), None).await;

    let (_, scim) =
        call(Method::PUT, format!("/v1/orgs/{org}/scim"), owner.clone(), Some(json!({ "enabled": true }))).await;
    let scim_token = scim["token"].as_str().unwrap().to_owned();
    let created = call(
        Method::POST,
        "/scim/v2/Users".into(),
        scim_token.clone(),
        Some(json!({ "userName": "lin@example.com", "active": true })),
    )
    .await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);
    assert_eq!(call(Method::GET, "/scim/v2/Users".into(), scim_token.clone(), None).await.0, StatusCode::OK);

    // The log is read by threads: wait until it holds the last request.
    let mut log = server.log();
    for _ in 0..50 {
        if log.matches("/scim/v2/Users").count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        log = server.log();
    }
    assert!(log.contains("/v1/invites/{token}/accept"), "requests were logged by route: {log}");
    let audit: Vec<String> = app.audit(&org).iter().map(|e| format!("{e:?}")).collect();
    assert!(audit.len() >= 5, "{audit:?}");
    // Every credential, by the part of it that is not its public hint, and the JWTs'
    // signatures.
    let secret_parts = [
        api_key[9..api_key.len() - 4].to_owned(),
        invite_token[9..invite_token.len() - 4].to_owned(),
        scim_token[9..scim_token.len() - 4].to_owned(),
        owner.rsplit('.').next().unwrap().to_owned(),
        guest.rsplit('.').next().unwrap().to_owned(),
    ];
    for secret in &secret_parts {
        assert!(!log.contains(secret.as_str()), "a credential reached the log");
        for record in &audit {
            assert!(!record.contains(secret.as_str()), "a credential reached the audit log: {record}");
        }
    }
}
