//! Rotating the keyed-hash key (`ORGD_HMAC_KEY` → `ORGD_HMAC_KEY_PREVIOUS`): every secret
//! issued under the old key keeps working through the rotation, moves to the new key on its
//! first use, and works on once the old key is retired.

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::helpers::{expect_status, TestApp, HMAC_KEY};

const NEW_KEY: &str = "rotated-hmac-key-fedcba9876543210fedcba98";

/// A server on `first`'s database hashing under `current`, finding `previous` too.
async fn serving(first: &TestApp, current: &str, previous: Option<&str>) -> TestApp {
    let url = first.db.url().to_owned();
    TestApp::spawn_with(|c| {
        c.database_url = SecretString::from(url);
        c.hmac_key = SecretString::from(current.to_owned());
        c.hmac_key_previous = previous.map(|p| SecretString::from(p.to_owned()));
    })
    .await
}

async fn status(app: &TestApp, method: Method, path: &str, token: Option<&str>) -> StatusCode {
    app.request(method, path, token, None).await.status()
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_issued_under_the_old_key_survive_its_rotation() {
    let before = TestApp::spawn().await;
    let owner = before.token("owner");
    let org = before.create_org(&owner, "Acme").await;
    let keys = format!("/v1/orgs/{org}/api-keys");
    let key = |name: &str| json!({ "name": name, "permissions": ["org:read"] });
    let used = expect_status(before.post(&keys, &owner, key("used")).await, StatusCode::CREATED).await;
    let unused = expect_status(before.post(&keys, &owner, key("unused")).await, StatusCode::CREATED).await;
    let invite_body = json!({ "role": "member", "max_uses": 5 });
    let invite =
        expect_status(before.post(&format!("/v1/orgs/{org}/invites"), &owner, invite_body).await, StatusCode::CREATED)
            .await;
    let scim_config = format!("/v1/orgs/{org}/scim");
    let scim = before.request(Method::PUT, &scim_config, Some(&owner), Some(json!({ "enabled": true }))).await;
    let scim: Value = expect_status(scim, StatusCode::OK).await;
    let secret = |v: &Value, field: &str| v[field].as_str().unwrap().to_owned();
    let (used, unused, link, scim) =
        (secret(&used, "secret"), secret(&unused, "secret"), secret(&invite, "token"), secret(&scim, "token"));
    let me = "/v1/orgs/me".to_owned();
    let preview = format!("/v1/invites/{link}");

    // During the rotation: the old secrets work, and move to the new key as they are used.
    let rotating = serving(&before, NEW_KEY, Some(HMAC_KEY)).await;
    assert_eq!(status(&rotating, Method::GET, &me, Some(&used)).await, StatusCode::OK);
    assert_eq!(status(&rotating, Method::GET, &preview, None).await, StatusCode::OK);
    assert_eq!(status(&rotating, Method::GET, "/scim/v2/Users", Some(&scim)).await, StatusCode::OK);
    let fresh = expect_status(rotating.post(&keys, &owner, key("fresh")).await, StatusCode::CREATED).await;
    let fresh = secret(&fresh, "secret");
    assert_eq!(status(&rotating, Method::GET, &me, Some(&fresh)).await, StatusCode::OK);

    // The old key retired: what moved works; what was never used during the rotation is
    // still under the old key, and no longer found.
    let after = serving(&before, NEW_KEY, None).await;
    assert_eq!(status(&after, Method::GET, &me, Some(&used)).await, StatusCode::OK);
    assert_eq!(status(&after, Method::GET, &preview, None).await, StatusCode::OK);
    assert_eq!(status(&after, Method::GET, "/scim/v2/Users", Some(&scim)).await, StatusCode::OK);
    assert_eq!(status(&after, Method::GET, &me, Some(&fresh)).await, StatusCode::OK);
    assert_eq!(status(&after, Method::GET, &me, Some(&unused)).await, StatusCode::UNAUTHORIZED);
    // A person accepts the moved link.
    let accepted = after.post(&format!("/v1/invites/{link}/accept"), &after.token("newcomer"), json!({})).await;
    expect_status(accepted, StatusCode::OK).await;
    // The server that still hashes under the old key alone no longer finds the moved ones.
    assert_eq!(status(&before, Method::GET, &me, Some(&used)).await, StatusCode::UNAUTHORIZED);
}
