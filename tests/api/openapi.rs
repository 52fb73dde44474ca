use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{expect_status, TestApp};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

async fn served(app: &TestApp) -> Value {
    expect_status(app.request(Method::GET, "/openapi.json", None, None).await, StatusCode::OK).await
}

/// `docs/openapi.json` is the reviewed contract: a change to the API shows up as a diff of
/// that file. Regenerate it with `make openapi`.
#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_matches_the_committed_snapshot() {
    let app = TestApp::spawn().await;
    let served = served(&app).await;
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(SNAPSHOT).expect("docs/openapi.json exists")).unwrap();
    assert!(served == committed, "docs/openapi.json is stale: run `make openapi` and review the diff");
    assert_eq!(served, serde_json::to_value(api::startup::openapi()).unwrap(), "`orgd openapi` prints what is served");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_declares_auth_and_problem_responses() {
    let app = TestApp::spawn().await;
    let doc = served(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            assert!(operation["operationId"].is_string(), "{method} {path}");
            if !path.starts_with("/v1/") || api::openapi::PUBLIC_PATHS.contains(&path.as_str()) {
                continue;
            }
            assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]), "{method} {path}");
            let responses = operation["responses"].as_object().unwrap();
            for status in ["400", "401", "500", "503"] {
                assert!(responses.contains_key(status), "{method} {path} lacks {status}");
            }
            if path.contains("{org}") {
                assert!(responses.contains_key("403") && responses.contains_key("404"), "{method} {path}");
            }
        }
    }
    assert!(operations >= 10, "{operations} operations");
}
