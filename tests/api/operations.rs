use reqwest::{Method, StatusCode};

use crate::helpers::{expect_problem, expect_status, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn probes_answer_without_authentication() {
    let app = TestApp::spawn().await;
    let health = expect_status(app.request(Method::GET, "/healthz", None, None).await, StatusCode::OK).await;
    assert_eq!(health["status"], "ok");
    let response = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(response.headers()["x-request-id"].len(), 36, "every response names its request id");
    let ready = expect_status(response, StatusCode::OK).await;
    assert_eq!(ready["status"], "ready");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_docs_ui_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let bare = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let moved = bare.get(format!("{}/docs", app.base)).send().await.unwrap();
    assert_eq!(moved.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(moved.headers()["location"], "/docs/");
    let response = app.request(Method::GET, "/docs/", None, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("swagger-ui"), "Swagger UI page");
    let config = app.request(Method::GET, "/docs/swagger-initializer.js", None, None).await;
    assert_eq!(config.status(), StatusCode::OK);
    assert!(config.text().await.unwrap().contains("/openapi.json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_are_problem_documents() {
    let app = TestApp::spawn().await;
    expect_problem(app.request(Method::GET, "/v1/nowhere", None, None).await, StatusCode::NOT_FOUND, "not_found").await;
    let token = app.token("ada");
    let wrong_method = app.request(Method::PUT, "/v1/orgs/me", Some(&token), None).await;
    let allow = wrong_method.headers().get("allow").map(|v| v.to_str().unwrap().to_owned());
    expect_problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    assert_eq!(allow.as_deref(), Some("GET, PATCH, DELETE"), "a known path names the methods it answers");
}
