use std::collections::HashMap;

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp, AUDIENCE, ISSUER, JWT_SECRET};

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
