use std::collections::HashMap;

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, jwt_config, TestApp, AUDIENCE, ISSUER, JWT_SECRET};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");

fn sign(claims: &Value, key: &str) -> String {
    encode(&Header::default(), claims, &EncodingKey::from_secret(key.as_bytes())).unwrap()
}

fn claims(overrides: &[(&str, Value)]) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims: HashMap<String, Value> = HashMap::from([
        ("sub".to_owned(), json!("carol")),
        ("email".to_owned(), json!("carol@example.com")),
        ("iss".to_owned(), json!(ISSUER)),
        ("aud".to_owned(), json!(AUDIENCE)),
        ("iat".to_owned(), json!(now)),
        ("exp".to_owned(), json!(now + 600)),
    ]);
    for (key, value) in overrides {
        if value.is_null() {
            claims.remove(*key);
        } else {
            claims.insert((*key).to_owned(), value.clone());
        }
    }
    json!(claims)
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_a_valid_token_get_401_with_a_challenge() {
    let app = TestApp::spawn().await;
    let response = app.request(Method::GET, "/v1/orgs", None, None).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    expect_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    let basic =
        app.raw().get(format!("{}/v1/orgs", app.base)).header("authorization", "Basic YTpi").send().await.unwrap();
    expect_problem(basic, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    let now = chrono::Utc::now().timestamp();
    let cases = [
        ("garbage", "not-a-jwt".to_owned()),
        ("wrong key", sign(&claims(&[]), "another-secret-0123456789abcdef0123456789")),
        ("wrong issuer", sign(&claims(&[("iss", json!("https://evil.test"))]), JWT_SECRET)),
        ("wrong audience", sign(&claims(&[("aud", json!("someone-else"))]), JWT_SECRET)),
        ("no subject", sign(&claims(&[("sub", Value::Null)]), JWT_SECRET)),
        ("blank subject", sign(&claims(&[("sub", json!("  "))]), JWT_SECRET)),
        ("no expiry", sign(&claims(&[("exp", Value::Null)]), JWT_SECRET)),
        ("no audience", sign(&claims(&[("aud", Value::Null)]), JWT_SECRET)),
        ("no issuer", sign(&claims(&[("iss", Value::Null)]), JWT_SECRET)),
        ("not yet valid", sign(&claims(&[("nbf", json!(now + 3600))]), JWT_SECRET)),
        ("control characters in subject", sign(&claims(&[("sub", json!("ca\u{0}rol"))]), JWT_SECRET)),
        ("alg none", format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", base64_url(&claims(&[])))),
    ];
    for (case, token) in cases {
        let response = app.get("/v1/orgs", &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        let problem = expect_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
        assert!(problem["detail"].is_string(), "{case}");
    }
    let expired = sign(&claims(&[("exp", json!(now - 3600))]), JWT_SECRET);
    expect_problem(app.get("/v1/orgs", &expired).await, StatusCode::UNAUTHORIZED, "token_expired").await;
}

fn base64_url(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_from_the_identity_provider_provisions_its_user_once() {
    let app = TestApp::spawn().await;
    let token = sign(
        &claims(&[("name", json!("Carol")), ("email_verified", json!(true)), ("amr", json!(["pwd", "hwk"]))]),
        JWT_SECRET,
    );
    let org =
        expect_status(app.post("/v1/orgs", &token, json!({ "name": "Carol Co" })).await, StatusCode::CREATED).await;
    let org = org["id"].as_str().unwrap();
    let concurrent = (0..6).map(|_| app.get("/v1/orgs", &token));
    for response in futures::future::join_all(concurrent).await {
        assert_eq!(response.status(), StatusCode::OK);
    }
    let members = expect_status(app.get(&format!("/v1/orgs/{org}/members"), &token).await, StatusCode::OK).await;
    assert_eq!(members["data"].as_array().unwrap().len(), 1);
    assert_eq!(members["data"][0]["name"], "Carol");
}

fn sign_es256(claims: &Value, kid: &str) -> String {
    let pem = std::fs::read(format!("{FIXTURES}/es256-test-private.pem")).unwrap();
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, &EncodingKey::from_ec_pem(&pem).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_signed_by_a_key_of_the_jwks_are_accepted() {
    let mut jwt = jwt_config();
    jwt.jwks_file = Some(format!("{FIXTURES}/jwks-test.json").into());
    let app = TestApp::spawn_with_jwt(jwt).await;

    let es256 = sign_es256(&claims(&[]), "test-es256");
    expect_status(app.get("/v1/orgs", &es256).await, StatusCode::OK).await;
    let unknown_kid = sign_es256(&claims(&[]), "rotated-away");
    expect_problem(app.get("/v1/orgs", &unknown_kid).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let wrong_audience = sign_es256(&claims(&[("aud", json!("someone-else"))]), "test-es256");
    expect_problem(app.get("/v1/orgs", &wrong_audience).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let hs256 = sign(&claims(&[]), JWT_SECRET);
    expect_status(app.get("/v1/orgs", &hs256).await, StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_es256_token_is_refused_when_no_jwks_is_configured() {
    let app = TestApp::spawn().await;
    let es256 = sign_es256(&claims(&[]), "test-es256");
    expect_problem(app.get("/v1/orgs", &es256).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_ip_comes_from_the_proxy_only_when_trusted() {
    let app = TestApp::spawn_with(|config| config.trust_forwarded_for = true).await;
    let token = app.token("ada");
    let response = app
        .raw()
        .post(format!("{}/v1/orgs", app.base))
        .bearer_auth(&token)
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
        .json(&json!({ "name": "Proxied" }))
        .send()
        .await
        .unwrap();
    let org = expect_status(response, StatusCode::CREATED).await;
    let events = app.audit(org["id"].as_str().unwrap());
    assert_eq!(
        events[0].client_ip.as_deref(),
        Some("203.0.113.7"),
        "the address the proxy appended, not the client's claim"
    );

    let direct = TestApp::spawn().await;
    let token = direct.token("ada");
    let response = direct
        .raw()
        .post(format!("{}/v1/orgs", direct.base))
        .bearer_auth(&token)
        .header("x-forwarded-for", "6.6.6.6")
        .json(&json!({ "name": "Direct" }))
        .send()
        .await
        .unwrap();
    let org = expect_status(response, StatusCode::CREATED).await;
    assert_eq!(direct.audit(org["id"].as_str().unwrap())[0].client_ip.as_deref(), Some("127.0.0.1"));
}
