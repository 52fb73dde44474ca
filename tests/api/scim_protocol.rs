//! The SCIM 2.0 protocol at `/scim/v2`, driven black-box the way identity providers drive
//! it: Okta's probe-then-create and its deactivation by PUT and PATCH, Microsoft Entra
//! ID's PATCH dialect, the suspension round trip of a person who signs in, the last
//! owner under parallel deactivations, a token's reach, SCIM error bodies, the audit
//! trail and paging. Each request body is the one the named identity provider sends.

use orgd_domain::ids::MemberId;
use reqwest::header::HeaderMap;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{claims_token, expect_problem, expect_status, org_uuid, TestApp};
use crate::sso::put;

const SCIM_JSON: &str = "application/scim+json";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// What Okta sends as `password` when it provisions with password sync on.
const OKTA_PASSWORD: &str = "Okta-Sync3d-Passw0rd!";

/// An identity provider holding one organization's SCIM token.
struct Idp<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Idp<'a> {
    fn new(app: &'a TestApp, token: &str) -> Self {
        Self { app, token: token.to_owned() }
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>, if_match: Option<&str>) -> Response {
        send(self.app, method, path, Some(&self.token), body.map(Value::to_string), if_match).await
    }

    async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> Response {
        self.send(Method::POST, path, Some(body), None).await
    }

    async fn put(&self, path: &str, body: &Value) -> Response {
        self.send(Method::PUT, path, Some(body), None).await
    }

    async fn patch(&self, path: &str, body: &Value) -> Response {
        self.send(Method::PATCH, path, Some(body), None).await
    }

    async fn delete(&self, path: &str) -> Response {
        self.send(Method::DELETE, path, None, None).await
    }

    /// `GET` that must succeed; the resource or ListResponse.
    async fn read(&self, path: &str) -> Value {
        expect_scim(self.get(path).await, StatusCode::OK).await.0
    }

    /// `POST /Users` that must succeed; the created User.
    async fn create_user(&self, body: &Value) -> Value {
        expect_scim(self.post("/Users", body).await, StatusCode::CREATED).await.0
    }

    /// `PATCH` that must succeed; the changed resource.
    async fn patched(&self, path: &str, body: &Value) -> Value {
        expect_scim(self.patch(path, body).await, StatusCode::OK).await.0
    }

    /// `GET /Users` with `filter` (percent-encoded here); the ListResponse.
    async fn filter_users(&self, filter: &str) -> Value {
        self.read(&format!("/Users?filter={}", encode(filter))).await
    }
}

/// A request to `/scim/v2{path}`, its body sent as `application/scim+json` as Okta and
/// Entra ID send it.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
    if_match: Option<&str>,
) -> Response {
    let mut request = app.raw().request(method, format!("{}/scim/v2{path}", app.base)).header("accept", SCIM_JSON);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.header("content-type", SCIM_JSON).body(body);
    }
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.expect("request sent")
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn media_type(headers: &HeaderMap) -> String {
    let value = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    value.split(';').next().unwrap_or("").trim().to_owned()
}

/// Asserts the status and, for a body, the SCIM media type; the body and headers.
async fn expect_scim(response: Response, status: StatusCode) -> (Value, HeaderMap) {
    let headers = response.headers().clone();
    let body = expect_status(response, status).await;
    if !body.is_null() {
        assert_eq!(media_type(&headers), SCIM_JSON, "a SCIM response is application/scim+json: {body}");
    }
    (body, headers)
}

/// Asserts a SCIM Error message (RFC 7644 §3.12) with this status and `scimType`, made of
/// exactly `schemas`, `status`, `detail` (and `scimType`), as `application/scim+json`.
async fn expect_scim_error(response: Response, status: StatusCode, scim_type: Option<&str>) -> Value {
    let headers = response.headers().clone();
    let body = expect_status(response, status).await;
    assert_eq!(media_type(&headers), SCIM_JSON, "SCIM errors are not problem+json: {body}");
    assert_eq!(body["schemas"], json!([ERROR_SCHEMA]), "{body}");
    assert_eq!(body["status"], json!(status.as_u16().to_string()), "the status is a string: {body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.trim().is_empty()), "a detail says why: {body}");
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    match scim_type {
        Some(scim_type) => {
            assert_eq!(body["scimType"], scim_type, "{body}");
            assert_eq!(keys, ["detail", "schemas", "scimType", "status"], "{body}");
        }
        None => assert_eq!(keys, ["detail", "schemas", "status"], "{body}"),
    }
    body
}

/// Turns provisioning on; the SCIM token shown once.
async fn enable_scim(app: &TestApp, org: &str, owner: &str) -> String {
    let path = format!("/v1/orgs/{org}/scim");
    let enabled = expect_status(put(app, &path, owner, json!({ "enabled": true }), None).await, StatusCode::OK).await;
    let token = enabled["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("orgs_"), "{token}");
    token
}

/// An organization (on the test default, Enterprise, plan) with provisioning on: its id,
/// its creator's token and its SCIM token.
async fn provisioned_org(app: &TestApp, creator: &str, name: &str) -> (String, String, String) {
    let owner = app.token(creator);
    let org = app.create_org(&owner, name).await;
    let token = enable_scim(app, &org, &owner).await;
    (org, owner, token)
}

fn member_uuid(id: &str) -> uuid::Uuid {
    id.parse::<MemberId>().unwrap().as_uuid()
}

fn resources(list: &Value) -> Vec<Value> {
    list["Resources"].as_array().cloned().unwrap_or_default()
}

fn ids(list: &Value) -> Vec<String> {
    resources(list).iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

fn group_member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        group["members"].as_array().into_iter().flatten().map(|m| m["value"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// The body of Okta's `POST /Users`.
fn okta_user(email: &str, given: &str, family: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": email,
        "name": { "givenName": given, "familyName": family },
        "emails": [{ "primary": true, "value": email, "type": "work" }],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "password": OKTA_PASSWORD,
        "active": true
    })
}

/// The body of Okta's `PUT /Users/{id}`: the whole profile, `active` included.
fn okta_put(id: &str, email: &str, given: &str, family: &str, external_id: &str, active: bool) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": id,
        "userName": email,
        "name": { "givenName": given, "familyName": family },
        "emails": [{ "primary": true, "value": email, "type": "work" }],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "active": active
    })
}

/// Okta's deactivation (and, with `true`, reactivation) by PATCH: a `replace` without `path`.
fn okta_set_active(active: bool) -> Value {
    json!({
        "schemas": [PATCH_OP],
        "Operations": [{ "op": "replace", "value": { "active": active } }]
    })
}

/// The body of Microsoft Entra ID's `POST /Users`.
fn entra_user(user_name: &str, email: Option<&str>, external_id: &str) -> Value {
    let mut body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "displayName": "Bob Entra",
        "meta": { "resourceType": "User" },
        "name": { "formatted": "Bob Entra", "familyName": "Entra", "givenName": "Bob" },
        "roles": [],
        ENTERPRISE_SCHEMA: { "department": "Finance", "employeeNumber": "1234" }
    });
    if let Some(email) = email {
        body["emails"] = json!([{ "primary": true, "type": "work", "value": email }]);
    }
    body
}

/// A PATCH request in the shape Entra ID sends, one operation.
fn entra_patch(operation: Value) -> Value {
    json!({ "schemas": [PATCH_OP], "Operations": [operation] })
}

/// Okta: it probes by `userName` before creating, creates with its full profile (the
/// password ignored and never echoed), finds what it created in any case, is told of a
/// duplicate with `uniqueness`, and deactivates by PUT and by PATCH.
#[tokio::test(flavor = "multi_thread")]
async fn okta_probes_creates_refuses_a_duplicate_and_deactivates_by_put_and_by_patch() {
    let app = TestApp::spawn().await;
    let (org, _owner, token) = provisioned_org(&app, "founder", "Acme").await;
    let okta = Idp::new(&app, &token);

    let probe = okta.read("/Users?filter=userName%20eq%20%22ada%40acme.com%22&startIndex=1&count=100").await;
    assert_eq!(probe["schemas"], json!([LIST_RESPONSE]));
    assert_eq!(
        (probe["totalResults"].as_u64(), probe["startIndex"].as_u64(), probe["itemsPerPage"].as_u64()),
        (Some(0), Some(1), Some(0)),
        "{probe}"
    );
    assert!(resources(&probe).is_empty(), "{probe}");

    let external_id = "00u1a2b3c4D5e6F7g8h9";
    let response = okta.post("/Users", &okta_user("ada@acme.com", "Ada", "Lovelace", external_id)).await;
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    let raw_text = {
        let headers = response.headers().clone();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(media_type(&headers), SCIM_JSON);
        response.text().await.unwrap()
    };
    assert!(!raw_text.contains(OKTA_PASSWORD), "the password is never echoed: {raw_text}");
    let ada: Value = serde_json::from_str(&raw_text).unwrap();
    assert!(ada.get("password").is_none(), "{ada}");
    let id = ada["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("mem_"), "{ada}");
    assert_eq!(ada["schemas"][0], USER_SCHEMA);
    assert_eq!(
        (ada["userName"].as_str(), ada["externalId"].as_str(), ada["active"].as_bool()),
        (Some("ada@acme.com"), Some(external_id), Some(true))
    );
    assert_eq!(ada["name"], json!({ "givenName": "Ada", "familyName": "Lovelace" }));
    assert_eq!(ada["emails"], json!([{ "primary": true, "value": "ada@acme.com", "type": "work" }]));
    assert_eq!((ada["displayName"].as_str(), ada["locale"].as_str()), (Some("Ada Lovelace"), Some("en-US")));
    assert_eq!(ada["meta"]["resourceType"], "User");
    let location = location.expect("201 carries Location");
    assert_eq!(Some(location.as_str()), ada["meta"]["location"].as_str());
    assert!(location.ends_with(&format!("/scim/v2/Users/{id}")), "{location}");
    let etag = etag.expect("201 carries ETag");
    assert!(etag.starts_with("W/\""), "a weak ETag: {etag}");
    assert_eq!(Some(etag.as_str()), ada["meta"]["version"].as_str());
    assert!(ada["meta"]["created"].is_string() && ada["meta"]["lastModified"].is_string(), "{ada}");
    let stored = app.db.count(&format!(
        "SELECT count(*) FROM memberships WHERE id = '{}' AND org_id = '{}' AND role = 'member' AND suspended_at IS NULL",
        member_uuid(&id),
        org_uuid(&org)
    ));
    assert_eq!(stored, 1, "a provisioned User is an active member");

    // Okta's next probe finds it, whatever the case of the address.
    for filter in [r#"userName eq "ada@acme.com""#, r#"userName eq "ADA@acme.com""#, r#"USERNAME Eq "Ada@Acme.Com""#] {
        let found = okta.filter_users(filter).await;
        assert_eq!((found["totalResults"].as_u64(), ids(&found)), (Some(1), vec![id.clone()]), "{filter}: {found}");
    }
    let read = okta.get(&format!("/Users/{id}")).await;
    assert_eq!(read.headers()["etag"].to_str().unwrap(), etag);
    let (read, _) = expect_scim(read, StatusCode::OK).await;
    assert_eq!(read, ada, "GET shows what POST answered");

    // A second POST of the same person: a conflict Okta understands.
    let again = okta.post("/Users", &okta_user("ada@acme.com", "Ada", "Lovelace", external_id)).await;
    let conflict = expect_scim_error(again, StatusCode::CONFLICT, Some("uniqueness")).await;
    assert!(conflict["detail"].as_str().unwrap().contains("ada@acme.com"), "{conflict}");
    let shouting = okta.post("/Users", &okta_user("ADA@ACME.COM", "Ada", "Lovelace", "00uOther")).await;
    expect_scim_error(shouting, StatusCode::CONFLICT, Some("uniqueness")).await;
    // Okta retrying a create in parallel: one is created, the others are duplicates.
    let retries = (0..5).map(|_| {
        let body = okta_user("grace@acme.com", "Grace", "Hopper", "00ugrace").to_string();
        let (app, token) = (&app, token.clone());
        async move { send(app, Method::POST, "/Users", Some(&token), Some(body), None).await }
    });
    let mut created = 0;
    for response in futures::future::join_all(retries).await {
        if response.status() == StatusCode::CREATED {
            created += 1;
            expect_scim(response, StatusCode::CREATED).await;
        } else {
            expect_scim_error(response, StatusCode::CONFLICT, Some("uniqueness")).await;
        }
    }
    assert_eq!(created, 1, "exactly one of the parallel creates wins");
    let grace = okta.filter_users(r#"userName eq "grace@acme.com""#).await;
    assert_eq!(grace["totalResults"], 1, "{grace}");
    let grace_id = ids(&grace).remove(0);
    expect_scim(okta.delete(&format!("/Users/{grace_id}")).await, StatusCode::NO_CONTENT).await;
    assert_eq!(
        app.db.count("SELECT count(*) FROM users WHERE email = 'grace@acme.com'"),
        0,
        "a deleted person who never signed in leaves no user behind"
    );
    let all = okta.read("/Users").await;
    assert_eq!(all["totalResults"], 2, "the founder and Ada, no duplicate: {all}");

    let suspended = |id: &str| {
        app.db.count(&format!(
            "SELECT count(*) FROM memberships WHERE id = '{}' AND suspended_at IS NOT NULL",
            member_uuid(id)
        ))
    };

    // Deactivation by PUT of the whole profile with `active: false`.
    let user_path = format!("/Users/{id}");
    let put_off = okta_put(&id, "ada@acme.com", "Ada", "Lovelace", external_id, false);
    let (off, headers) = expect_scim(okta.put(&user_path, &put_off).await, StatusCode::OK).await;
    assert_eq!(off["active"], false, "{off}");
    assert_eq!(headers["etag"].to_str().unwrap(), off["meta"]["version"].as_str().unwrap());
    assert_ne!(off["meta"]["version"], ada["meta"]["version"], "a change is a new version");
    assert_eq!(suspended(&id), 1, "deactivated is suspended, not removed");
    assert_eq!(okta.read(&format!("/Users/{id}")).await["active"], false);
    let inactive = okta.filter_users(r#"active eq false"#).await;
    assert_eq!(ids(&inactive), vec![id.clone()]);

    // Reactivation by PUT, then deactivation by Okta's PATCH.
    let put_on = okta_put(&id, "ada@acme.com", "Ada", "Lovelace", external_id, true);
    assert_eq!(expect_scim(okta.put(&user_path, &put_on).await, StatusCode::OK).await.0["active"], true);
    assert_eq!(suspended(&id), 0);
    let off = okta.patched(&format!("/Users/{id}"), &okta_set_active(false)).await;
    assert_eq!(off["active"], false, "{off}");
    assert_eq!(suspended(&id), 1);
    assert_eq!(
        (off["userName"].as_str(), off["name"]["familyName"].as_str(), off["emails"][0]["value"].as_str()),
        (Some("ada@acme.com"), Some("Lovelace"), Some("ada@acme.com")),
        "a PATCH of `active` keeps the rest: {off}"
    );
    let on = okta.patched(&format!("/Users/{id}"), &okta_set_active(true)).await;
    assert_eq!(on["active"], true);
    assert_eq!(suspended(&id), 0);
    assert_eq!(app.db.count(&format!("SELECT count(*) FROM memberships WHERE org_id = '{}'", org_uuid(&org))), 2);
}

/// Microsoft Entra ID: capitalised ops, booleans as strings, `replace` without `path`
/// carrying attribute paths, value-filter paths into `emails`, and its three ways of
/// changing a group's members.
#[tokio::test(flavor = "multi_thread")]
async fn entra_id_patch_dialect_users_and_group_members() {
    let app = TestApp::spawn().await;
    let (org, owner, token) = provisioned_org(&app, "founder", "Contoso").await;
    let entra = Idp::new(&app, &token);

    let bob = entra.create_user(&entra_user("bob@acme.com", Some("bob@acme.com"), "9f1c0a2e-bob")).await;
    let bob_id = bob["id"].as_str().unwrap().to_owned();
    let bob_path = format!("/Users/{bob_id}");
    assert_eq!(bob["schemas"], json!([USER_SCHEMA, ENTERPRISE_SCHEMA]), "{bob}");
    assert_eq!(bob[ENTERPRISE_SCHEMA]["department"], "Finance");

    // `"op": "Replace"`, `"value": "False"`: a boolean sent as a string.
    let off =
        entra.patched(&bob_path, &entra_patch(json!({ "op": "Replace", "path": "active", "value": "False" }))).await;
    assert_eq!(off["active"], json!(false), "a real boolean comes back: {off}");
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM memberships WHERE id = '{}' AND suspended_at IS NOT NULL",
            member_uuid(&bob_id)
        )),
        1
    );
    let on =
        entra.patched(&bob_path, &entra_patch(json!({ "op": "Replace", "path": "active", "value": "True" }))).await;
    assert_eq!(on["active"], json!(true), "{on}");

    // A `Replace` without `path`: a map of attribute paths to values.
    let renamed = entra
        .patched(
            &bob_path,
            &entra_patch(json!({ "op": "Replace", "value": { "displayName": "x", "name.givenName": "y" } })),
        )
        .await;
    assert_eq!(renamed["displayName"], "x", "{renamed}");
    assert_eq!(renamed["name"]["givenName"], "y", "{renamed}");
    assert_eq!(renamed["name"]["familyName"], "Entra", "the rest of `name` stays: {renamed}");
    assert_eq!(renamed["userName"], "bob@acme.com");
    assert_eq!(renamed["active"], true);

    // `Add` through a value filter sets the work email where there is one…
    let work_email = json!({ "op": "Add", "path": "emails[type eq \"work\"].value", "value": "new@acme.com" });
    let moved = entra.patched(&bob_path, &entra_patch(work_email.clone())).await;
    let emails = moved["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 1, "the work email is set, not added twice: {moved}");
    assert_eq!((emails[0]["type"].as_str(), emails[0]["value"].as_str()), (Some("work"), Some("new@acme.com")));
    let by_email = entra.filter_users(r#"emails[type eq "work" and value eq "new@acme.com"]"#).await;
    assert_eq!(ids(&by_email), vec![bob_id.clone()]);

    // …and creates it where there is none.
    let carl = entra.create_user(&entra_user("carl@acme.com", None, "9f1c0a2e-carl")).await;
    let carl_id = carl["id"].as_str().unwrap().to_owned();
    assert!(carl.get("emails").is_none(), "{carl}");
    let created = entra.patched(&format!("/Users/{carl_id}"), &entra_patch(work_email)).await;
    let work: Vec<&Value> = created["emails"].as_array().unwrap().iter().filter(|e| e["type"] == "work").collect();
    assert_eq!(work.len(), 1, "{created}");
    assert_eq!(work[0]["value"], "new@acme.com");

    // Entra's attribute mappings of the enterprise extension and of `externalId`: by
    // URN-qualified `path`, and as URN-qualified keys of a `path`-less `Add`.
    let department = format!("{ENTERPRISE_SCHEMA}:department");
    let moved_on = entra
        .patched(
            &bob_path,
            &json!({ "schemas": [PATCH_OP], "Operations": [
                { "op": "Replace", "path": department, "value": "Sales" },
                { "op": "Add", "path": "externalId", "value": "9f1c0a2e-bob-2" },
                { "op": "Replace", "path": "name.familyName", "value": "Builder" },
            ] }),
        )
        .await;
    assert_eq!(moved_on[ENTERPRISE_SCHEMA]["department"], "Sales", "{moved_on}");
    assert_eq!(moved_on[ENTERPRISE_SCHEMA]["employeeNumber"], "1234", "{moved_on}");
    assert_eq!(
        (moved_on["externalId"].as_str(), moved_on["name"]["familyName"].as_str()),
        (Some("9f1c0a2e-bob-2"), Some("Builder"))
    );
    let pathless = entra
        .patched(
            &bob_path,
            &entra_patch(json!({ "op": "Add", "value": { department.clone(): "Legal", "title": "Counsel" } })),
        )
        .await;
    assert_eq!(pathless[ENTERPRISE_SCHEMA]["department"], "Legal", "{pathless}");
    assert_eq!(pathless["title"], "Counsel", "{pathless}");
    let by_external_id = entra.filter_users(r#"externalId eq "9f1c0a2e-bob-2""#).await;
    assert_eq!(ids(&by_external_id), vec![bob_id.clone()]);

    // Groups: Entra probes by displayName without members, creates the group empty, then
    // adds members by PATCH.
    let probe = entra
        .read(&format!("/Groups?excludedAttributes=members&filter={}", encode(r#"displayName eq "Finance""#)))
        .await;
    assert_eq!(probe["totalResults"], 0, "{probe}");
    let group = json!({
        "schemas": [GROUP_SCHEMA],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Finance",
        "meta": { "resourceType": "Group" }
    });
    let (group, headers) = expect_scim(entra.post("/Groups", &group).await, StatusCode::CREATED).await;
    let team = group["id"].as_str().unwrap().to_owned();
    assert!(team.starts_with("team_"), "{group}");
    assert!(headers.contains_key("location") && headers.contains_key("etag"));
    assert!(group_member_ids(&group).is_empty(), "{group}");
    let group_path = format!("/Groups/{team}");

    let add = |member: &str| entra_patch(json!({ "op": "Add", "path": "members", "value": [{ "value": member }] }));
    let added = entra.patched(&group_path, &add(&bob_id)).await;
    assert_eq!(group_member_ids(&added), vec![bob_id.clone()]);
    let added = entra.patched(&group_path, &add(&carl_id)).await;
    assert_eq!(group_member_ids(&added), sorted(vec![bob_id.clone(), carl_id.clone()]));
    let probe = entra
        .read(&format!("/Groups?excludedAttributes=members&filter={}", encode(r#"displayName eq "Finance""#)))
        .await;
    assert_eq!(ids(&probe), vec![team.clone()], "{probe}");
    assert!(resources(&probe)[0].get("members").is_none(), "members excluded: {probe}");
    let again = entra.patched(&group_path, &add(&carl_id)).await;
    assert_eq!(group_member_ids(&again), sorted(vec![bob_id.clone(), carl_id.clone()]), "adding twice is once");

    // Removal by value filter.
    let remove_filtered = entra_patch(json!({ "op": "Remove", "path": format!("members[value eq \"{bob_id}\"]") }));
    let removed = entra.patched(&group_path, &remove_filtered).await;
    assert_eq!(group_member_ids(&removed), vec![carl_id.clone()], "{removed}");

    // Removal by `members` with the values to remove.
    entra.patched(&group_path, &add(&bob_id)).await;
    let remove_listed =
        entra_patch(json!({ "op": "Remove", "path": "members", "value": [{ "value": carl_id.clone() }] }));
    let removed = entra.patched(&group_path, &remove_listed).await;
    assert_eq!(group_member_ids(&removed), vec![bob_id.clone()], "{removed}");
    let retried = entra.patched(&group_path, &remove_listed).await;
    assert_eq!(group_member_ids(&retried), vec![bob_id.clone()], "removing what is gone is no error");

    // The team is what the group says, seen through the API too; its people stay members.
    let detail = expect_status(app.get(&format!("/v1/orgs/{org}/teams/{team}"), &owner).await, StatusCode::OK).await;
    assert_eq!(detail["name"], "Finance");
    assert_eq!(detail["external_id"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    let seats: Vec<&str> = detail["members"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(seats, vec![bob_id.as_str()]);
    expect_status(app.get(&format!("/v1/orgs/{org}/members/{carl_id}"), &owner).await, StatusCode::OK).await;
}

/// A person Okta provisioned signs in with that email verified and becomes the member;
/// deactivation refuses them at the gate with `membership_suspended` while they keep role
/// and team seat; reactivation lets them back. An unverified email links nothing.
#[tokio::test(flavor = "multi_thread")]
async fn okta_suspension_round_trip_of_a_person_who_signs_in() {
    let app = TestApp::spawn().await;
    let (org, owner, token) = provisioned_org(&app, "founder", "Acme").await;
    // Provisioned people are linked only at addresses of the organization's verified domains.
    crate::authorization::verified_domain(&app, &org, &owner, "acme.com", "off").await;
    let okta = Idp::new(&app, &token);

    // An address elsewhere is never linked, however verified: no organization pulls in
    // someone else's people by provisioning their address.
    okta.create_user(&okta_user("erin@partner.example", "Erin", "Vale", "00uerin")).await;
    let erin =
        claims_token("erin-sub", json!({ "email": "erin@partner.example", "email_verified": true, "name": "E" }));
    expect_problem(app.get(&format!("/v1/orgs/{org}"), &erin).await, StatusCode::NOT_FOUND, "not_found").await;

    let carol = okta.create_user(&okta_user("carol@acme.com", "Carol", "Shaw", "00ucarol")).await;
    let carol_id = carol["id"].as_str().unwrap().to_owned();
    let dave = okta.create_user(&okta_user("dave@acme.com", "Dave", "Cutler", "00udave")).await;
    let dave_id = dave["id"].as_str().unwrap().to_owned();
    let unlinked =
        |email: &str| app.db.count(&format!("SELECT count(*) FROM users WHERE email = '{email}' AND subject IS NULL"));
    assert_eq!((unlinked("carol@acme.com"), unlinked("dave@acme.com")), (1, 1), "no sign-in yet");

    // Okta pushes a group with Carol in it: a team seat.
    let push = json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": "Engineering",
        "members": [{ "value": carol_id.clone(), "display": "carol@acme.com" }]
    });
    let (group, _) = expect_scim(okta.post("/Groups", &push).await, StatusCode::CREATED).await;
    let team = group["id"].as_str().unwrap().to_owned();

    // Carol signs in with her verified work email: she is that member.
    let carol_token =
        claims_token("carol-okta-sub", json!({ "email": "carol@acme.com", "email_verified": true, "name": "Carol" }));
    let seen = expect_status(app.get(&format!("/v1/orgs/{org}"), &carol_token).await, StatusCode::OK).await;
    assert_eq!(seen["id"], org.as_str());
    let me = expect_status(app.get("/v1/orgs/me", &carol_token).await, StatusCode::OK).await;
    assert_eq!(me["id"], org.as_str());
    assert_eq!(unlinked("carol@acme.com"), 0);
    let linked: Vec<_> = app.audit(&org).into_iter().filter(|e| e.action == "member.linked").collect();
    assert_eq!(linked.len(), 1, "{linked:?}");
    assert_eq!((linked[0].target_id.as_str(), linked[0].actor_type.as_str()), (carol_id.as_str(), "user"));
    let member =
        expect_status(app.get(&format!("/v1/orgs/{org}/members/{carol_id}"), &owner).await, StatusCode::OK).await;
    assert_eq!((member["role"].as_str(), member["email"].as_str()), (Some("member"), Some("carol@acme.com")));
    let own_view =
        expect_status(app.get(&format!("/v1/orgs/{org}/members/{carol_id}"), &carol_token).await, StatusCode::OK).await;
    assert_eq!(own_view["id"], carol_id.as_str(), "the SCIM id stays the member id");

    // Okta deactivates Carol.
    let off = okta.patched(&format!("/Users/{carol_id}"), &okta_set_active(false)).await;
    assert_eq!(off["active"], false);
    for path in [format!("/v1/orgs/{org}"), format!("/v1/orgs/{org}/members"), format!("/v1/orgs/{org}/teams")] {
        let refused = app.get(&path, &carol_token).await;
        expect_problem(refused, StatusCode::FORBIDDEN, "membership_suspended").await;
    }
    let write = app.patch(&format!("/v1/orgs/{org}"), &carol_token, json!({ "timezone": "UTC" })).await;
    expect_problem(write, StatusCode::FORBIDDEN, "membership_suspended").await;

    // She keeps her role and her seat.
    let member =
        expect_status(app.get(&format!("/v1/orgs/{org}/members/{carol_id}"), &owner).await, StatusCode::OK).await;
    assert_eq!(member["role"], "member");
    let detail = expect_status(app.get(&format!("/v1/orgs/{org}/teams/{team}"), &owner).await, StatusCode::OK).await;
    let seats: Vec<&str> = detail["members"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(seats, vec![carol_id.as_str()], "{detail}");
    assert_eq!(group_member_ids(&okta.read(&format!("/Groups/{team}")).await), vec![carol_id.clone()]);

    // Okta reactivates her: access is back, role and seat intact.
    let on = okta.patched(&format!("/Users/{carol_id}"), &okta_set_active(true)).await;
    assert_eq!(on["active"], true);
    expect_status(app.get(&format!("/v1/orgs/{org}"), &carol_token).await, StatusCode::OK).await;
    let teams = expect_status(app.get(&format!("/v1/orgs/{org}/teams"), &carol_token).await, StatusCode::OK).await;
    assert_eq!(teams["data"][0]["id"], team.as_str());
    let member =
        expect_status(app.get(&format!("/v1/orgs/{org}/members/{carol_id}"), &owner).await, StatusCode::OK).await;
    assert_eq!(member["role"], "member");

    // Someone claiming Dave's address without it verified is not Dave.
    let impostor =
        claims_token("dave-unverified-sub", json!({ "email": "dave@acme.com", "email_verified": false, "name": "D" }));
    expect_problem(app.get(&format!("/v1/orgs/{org}"), &impostor).await, StatusCode::NOT_FOUND, "not_found").await;
    expect_problem(app.get("/v1/orgs/me", &impostor).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(unlinked("dave@acme.com"), 1, "still waiting for the real Dave");
    let linked = app.audit(&org).into_iter().filter(|e| e.action == "member.linked").count();
    assert_eq!(linked, 1, "only Carol was linked");
    let listed = okta.read(&format!("/Users/{dave_id}")).await;
    assert_eq!((listed["userName"].as_str(), listed["active"].as_bool()), (Some("dave@acme.com"), Some(true)));

    // The real Dave, his address verified, is linked.
    let dave_token =
        claims_token("dave-okta-sub", json!({ "email": "dave@acme.com", "email_verified": true, "name": "Dave" }));
    expect_status(app.get(&format!("/v1/orgs/{org}"), &dave_token).await, StatusCode::OK).await;
    assert_eq!(unlinked("dave@acme.com"), 0);

    // Provisioned deactivated: the first sign-in links, and is refused until Okta activates.
    let mut erin = okta_user("erin@acme.com", "Erin", "Ek", "00uerin");
    erin["active"] = json!(false);
    let erin = okta.create_user(&erin).await;
    assert_eq!(erin["active"], false, "{erin}");
    let erin_id = erin["id"].as_str().unwrap().to_owned();
    let erin_token = claims_token("erin-okta-sub", json!({ "email": "erin@acme.com", "email_verified": true }));
    let refused = app.get(&format!("/v1/orgs/{org}"), &erin_token).await;
    expect_problem(refused, StatusCode::FORBIDDEN, "membership_suspended").await;
    okta.patched(&format!("/Users/{erin_id}"), &okta_set_active(true)).await;
    expect_status(app.get(&format!("/v1/orgs/{org}"), &erin_token).await, StatusCode::OK).await;
    let own =
        expect_status(app.get(&format!("/v1/orgs/{org}/members/{erin_id}"), &erin_token).await, StatusCode::OK).await;
    assert_eq!(own["email"], "erin@acme.com");
    assert_eq!(unlinked("erin@acme.com"), 0);

    // DELETE removes the membership: a signed-in person is then a stranger to the org.
    expect_scim(okta.delete(&format!("/Users/{carol_id}")).await, StatusCode::NO_CONTENT).await;
    expect_problem(app.get(&format!("/v1/orgs/{org}"), &carol_token).await, StatusCode::NOT_FOUND, "not_found").await;
    let detail = expect_status(app.get(&format!("/v1/orgs/{org}/teams/{team}"), &owner).await, StatusCode::OK).await;
    assert_eq!(detail["members"], json!([]), "{detail}");
    expect_scim_error(okta.get(&format!("/Users/{carol_id}")).await, StatusCode::NOT_FOUND, None).await;
}

/// The org's creator, an owner who never came from Okta, is listed as a User; Okta can
/// neither deactivate nor delete the last active owner (`mutability`), nor delete any
/// owner; and five parallel deactivations of five owners leave exactly one owner active.
#[tokio::test(flavor = "multi_thread")]
async fn okta_never_deactivates_or_deletes_the_last_owner_even_in_parallel() {
    let app = TestApp::spawn().await;
    let (org, owner, token) = provisioned_org(&app, "founder", "Acme").await;
    let okta = Idp::new(&app, &token);

    let found = okta.filter_users(r#"userName eq "founder@example.com""#).await;
    assert_eq!(found["totalResults"], 1, "the creator is a User: {found}");
    let founder = resources(&found)[0].clone();
    let founder_id = founder["id"].as_str().unwrap().to_owned();
    assert_eq!(founder["active"], true);
    assert_eq!(founder["emails"][0]["value"], "founder@example.com");
    let path = format!("/Users/{founder_id}");

    // Creating someone with the founder's address as userName is a duplicate.
    let clash = okta.post("/Users", &okta_user("founder@example.com", "F", "Ounder", "00uclash")).await;
    expect_scim_error(clash, StatusCode::CONFLICT, Some("uniqueness")).await;

    let refused = okta.patch(&path, &okta_set_active(false)).await;
    let refused = expect_scim_error(refused, StatusCode::BAD_REQUEST, Some("mutability")).await;
    assert!(refused["detail"].as_str().unwrap().contains("owner"), "{refused}");
    let by_put = json!({
        "schemas": [USER_SCHEMA],
        "id": founder_id,
        "userName": "founder@example.com",
        "emails": [{ "primary": true, "value": "founder@example.com", "type": "work" }],
        "active": false
    });
    expect_scim_error(okta.put(&path, &by_put).await, StatusCode::BAD_REQUEST, Some("mutability")).await;
    let deleted = expect_scim_error(okta.delete(&path).await, StatusCode::BAD_REQUEST, Some("mutability")).await;
    assert!(deleted["detail"].as_str().unwrap().contains("owner"), "{deleted}");
    assert_eq!(okta.read(&path).await["active"], true);
    expect_status(app.get(&format!("/v1/orgs/{org}"), &owner).await, StatusCode::OK).await;

    // Four more owners, promoted by the founder through the API.
    app.seed_members(&org, "co", 4, "member");
    let mut owners = vec![founder_id.clone()];
    for n in 1..=4 {
        let listed =
            expect_status(app.get(&format!("/v1/orgs/{org}/members?q=co-{n}@"), &owner).await, StatusCode::OK).await;
        let id = listed["data"][0]["id"].as_str().unwrap().to_owned();
        let promoted = app.patch(&format!("/v1/orgs/{org}/members/{id}"), &owner, json!({ "role": "owner" })).await;
        assert_eq!(expect_status(promoted, StatusCode::OK).await["role"], "owner");
        owners.push(id);
    }
    assert_eq!(app.db.owners_of(org_uuid(&org)), 5);

    // No owner is deleted through SCIM, last or not.
    let not_deleted = okta.delete(&format!("/Users/{}", owners[1])).await;
    expect_scim_error(not_deleted, StatusCode::BAD_REQUEST, Some("mutability")).await;

    // Okta deactivates all five at once.
    let deactivations = owners.iter().map(|id| {
        let body = okta_set_active(false).to_string();
        let path = format!("/Users/{id}");
        let app = &app;
        let token = token.clone();
        async move {
            let response = send(app, Method::PATCH, &path, Some(&token), Some(body), None).await;
            let status = response.status();
            let headers = response.headers().clone();
            (status, headers, response.text().await.unwrap())
        }
    });
    let outcomes = futures::future::join_all(deactivations).await;
    let succeeded = outcomes.iter().filter(|(status, _, _)| *status == StatusCode::OK).count();
    let refused: Vec<&(StatusCode, HeaderMap, String)> =
        outcomes.iter().filter(|(status, _, _)| *status != StatusCode::OK).collect();
    assert_eq!(succeeded, 4, "{outcomes:?}");
    assert_eq!(refused.len(), 1, "{outcomes:?}");
    let (status, headers, body) = refused[0];
    assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(media_type(headers), SCIM_JSON);
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!((body["scimType"].as_str(), body["status"].as_str()), (Some("mutability"), Some("400")), "{body}");

    let active_owners = app.db.count(&format!(
        "SELECT count(*) FROM memberships WHERE org_id = '{}' AND role = 'owner' AND suspended_at IS NULL",
        org_uuid(&org)
    ));
    assert_eq!(active_owners, 1, "exactly one owner stays active");
    assert_eq!(app.db.owners_of(org_uuid(&org)), 5, "deactivated owners keep their role");
    let still_active = okta.filter_users(r#"active eq true"#).await;
    assert_eq!(still_active["totalResults"], 1, "{still_active}");
    let last = ids(&still_active).remove(0);
    assert!(owners.contains(&last));
    let last_again = okta.patch(&format!("/Users/{last}"), &okta_set_active(false)).await;
    expect_scim_error(last_again, StatusCode::BAD_REQUEST, Some("mutability")).await;
}

/// One org's Okta token reaches nothing of another org's; a rotated or disabled token is
/// refused at once; SCIM and the rest of the API do not accept each other's credentials.
#[tokio::test(flavor = "multi_thread")]
async fn okta_tokens_reach_only_their_own_org_and_die_at_rotation() {
    let app = TestApp::spawn().await;
    let (org_a, owner_a, token_a) = provisioned_org(&app, "alice", "Alpha").await;
    let (org_b, owner_b, token_b) = provisioned_org(&app, "bruno", "Beta").await;
    let (okta_a, okta_b) = (Idp::new(&app, &token_a), Idp::new(&app, &token_b));

    let bea = okta_b.create_user(&okta_user("bea@beta.com", "Bea", "Beta", "00ubea")).await;
    let bea_id = bea["id"].as_str().unwrap().to_owned();
    let push =
        json!({ "schemas": [GROUP_SCHEMA], "displayName": "Beta team", "members": [{ "value": bea_id.clone() }] });
    let (beta_team, _) = expect_scim(okta_b.post("/Groups", &push).await, StatusCode::CREATED).await;
    let beta_team = beta_team["id"].as_str().unwrap().to_owned();
    let bruno_id = ids(&okta_b.filter_users(r#"userName eq "bruno@example.com""#).await).remove(0);
    let ann = okta_a.create_user(&okta_user("ann@alpha.com", "Ann", "Alpha", "00uann")).await;
    let ann_id = ann["id"].as_str().unwrap().to_owned();

    // Org B's Users and Groups do not exist for org A's token.
    for id in [&bea_id, &bruno_id] {
        let path = format!("/Users/{id}");
        expect_scim_error(okta_a.get(&path).await, StatusCode::NOT_FOUND, None).await;
        let body = okta_put(id, "bea@beta.com", "Mallory", "Alpha", "00uevil", false);
        expect_scim_error(okta_a.put(&path, &body).await, StatusCode::NOT_FOUND, None).await;
        expect_scim_error(okta_a.patch(&path, &okta_set_active(false)).await, StatusCode::NOT_FOUND, None).await;
        expect_scim_error(okta_a.delete(&path).await, StatusCode::NOT_FOUND, None).await;
    }
    let path = format!("/Groups/{beta_team}");
    expect_scim_error(okta_a.get(&path).await, StatusCode::NOT_FOUND, None).await;
    let body = json!({ "schemas": [GROUP_SCHEMA], "displayName": "Hijacked", "members": [] });
    expect_scim_error(okta_a.put(&path, &body).await, StatusCode::NOT_FOUND, None).await;
    let rename =
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "value": { "displayName": "Hijacked" } }] });
    expect_scim_error(okta_a.patch(&path, &rename).await, StatusCode::NOT_FOUND, None).await;
    expect_scim_error(okta_a.delete(&path).await, StatusCode::NOT_FOUND, None).await;

    // Nor can org B's members be put in org A's groups.
    let smuggle =
        json!({ "schemas": [GROUP_SCHEMA], "displayName": "Alpha team", "members": [{ "value": bea_id.clone() }] });
    expect_scim_error(okta_a.post("/Groups", &smuggle).await, StatusCode::BAD_REQUEST, Some("invalidValue")).await;
    let alpha =
        json!({ "schemas": [GROUP_SCHEMA], "displayName": "Alpha team", "members": [{ "value": ann_id.clone() }] });
    let (alpha_team, _) = expect_scim(okta_a.post("/Groups", &alpha).await, StatusCode::CREATED).await;
    let alpha_path = format!("/Groups/{}", alpha_team["id"].as_str().unwrap());
    let add_bea = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "add", "path": "members", "value": [{ "value": bea_id.clone() }] }] });
    expect_scim_error(okta_a.patch(&alpha_path, &add_bea).await, StatusCode::BAD_REQUEST, Some("invalidValue")).await;

    // Listings show only the token's org.
    let listed = okta_a.read("/Users").await;
    let listed_ids = ids(&listed);
    assert_eq!(listed["totalResults"], 2, "{listed}");
    assert!(!listed_ids.contains(&bea_id) && !listed_ids.contains(&bruno_id), "{listed}");
    assert!(!listed.to_string().contains("bea@beta.com") && !listed.to_string().contains("bruno@"), "{listed}");
    assert_eq!(okta_a.filter_users(r#"userName eq "bea@beta.com""#).await["totalResults"], 0);
    assert_eq!(okta_a.filter_users(r#"externalId eq "00ubea""#).await["totalResults"], 0);
    let groups = okta_a.read("/Groups").await;
    assert_eq!(ids(&groups), vec![alpha_team["id"].as_str().unwrap().to_owned()]);

    // Org B saw none of it.
    let bea_now = okta_b.read(&format!("/Users/{bea_id}")).await;
    assert_eq!((bea_now["active"].as_bool(), bea_now["name"]["givenName"].as_str()), (Some(true), Some("Bea")));
    let beta_now = okta_b.read(&format!("/Groups/{beta_team}")).await;
    assert_eq!((beta_now["displayName"].as_str(), group_member_ids(&beta_now)), (Some("Beta team"), vec![bea_id]));

    // Rotation: the old token is refused by the very next request, the new one works.
    let scim_a = format!("/v1/orgs/{org_a}/scim");
    let rotated = put(&app, &scim_a, &owner_a, json!({ "enabled": true, "rotate_token": true }), None).await;
    let rotated = expect_status(rotated, StatusCode::OK).await;
    let new_token = rotated["token"].as_str().unwrap().to_owned();
    let stale = okta_a.get("/Users").await;
    assert!(stale.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    expect_scim_error(stale, StatusCode::UNAUTHORIZED, None).await;
    expect_scim_error(
        okta_a.patch(&format!("/Users/{ann_id}"), &okta_set_active(false)).await,
        StatusCode::UNAUTHORIZED,
        None,
    )
    .await;
    let okta_a = Idp::new(&app, &new_token);
    assert_eq!(okta_a.read("/Users").await["totalResults"], 2);

    // Disabling: refused at once too.
    expect_status(put(&app, &scim_a, &owner_a, json!({ "enabled": false }), None).await, StatusCode::OK).await;
    expect_scim_error(okta_a.get("/Users").await, StatusCode::UNAUTHORIZED, None).await;
    expect_scim_error(okta_a.get("/ServiceProviderConfig").await, StatusCode::UNAUTHORIZED, None).await;
    expect_scim_error(
        okta_a.post("/Users", &okta_user("x@alpha.com", "X", "Y", "00ux")).await,
        StatusCode::UNAUTHORIZED,
        None,
    )
    .await;
    assert_eq!(okta_b.read("/Users").await["totalResults"], 2, "org B's token is untouched");

    // Other credentials are no SCIM token, and a SCIM token is no API credential.
    let key = json!({ "name": "reader", "permissions": ["org:read", "members:read"] });
    let key =
        expect_status(app.post(&format!("/v1/orgs/{org_b}/api-keys"), &owner_b, key).await, StatusCode::CREATED).await;
    let key = key["secret"].as_str().unwrap().to_owned();
    assert!(key.starts_with("orgk_"), "{key}");
    for credential in [owner_b.as_str(), key.as_str()] {
        let response = send(&app, Method::GET, "/Users", Some(credential), None, None).await;
        expect_scim_error(response, StatusCode::UNAUTHORIZED, None).await;
    }
    expect_scim_error(send(&app, Method::GET, "/Users", None, None, None).await, StatusCode::UNAUTHORIZED, None).await;
    expect_problem(app.get(&format!("/v1/orgs/{org_b}"), &token_b).await, StatusCode::UNAUTHORIZED, "invalid_token")
        .await;
    expect_problem(
        app.get(&format!("/v1/orgs/{org_b}/members"), &token_b).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

/// Whatever goes wrong, an identity provider is answered in SCIM: a bad filter, a bad
/// PATCH path, a body that is not JSON, an unknown endpoint, a wrong method, a stale
/// `If-Match`.
#[tokio::test(flavor = "multi_thread")]
async fn okta_and_entra_id_are_answered_scim_errors_for_every_mistake() {
    let app = TestApp::spawn().await;
    let (_org, _owner, token) = provisioned_org(&app, "founder", "Acme").await;
    let idp = Idp::new(&app, &token);
    let ada = idp.create_user(&okta_user("ada@acme.com", "Ada", "Lovelace", "00uada")).await;
    let path = format!("/Users/{}", ada["id"].as_str().unwrap());

    for filter in [r#"userName eq"#, r#"userName zz "a""#, r#"(userName eq "a""#, r#"userName eq "unterminated"#] {
        let response = idp.get(&format!("/Users?filter={}", encode(filter))).await;
        expect_scim_error(response, StatusCode::BAD_REQUEST, Some("invalidFilter")).await;
    }
    let response = idp.get(&format!("/Groups?filter={}", encode("displayName eq"))).await;
    expect_scim_error(response, StatusCode::BAD_REQUEST, Some("invalidFilter")).await;

    for bad_path in [r#"emails[type eq "work""#, "emails[type eq]", "name..givenName", "]"] {
        let body = entra_patch(json!({ "op": "Replace", "path": bad_path, "value": "x" }));
        expect_scim_error(idp.patch(&path, &body).await, StatusCode::BAD_REQUEST, Some("invalidPath")).await;
    }

    for not_json in ["userName=ada@acme.com", "{\"userName\": ", ""] {
        let response = send(&app, Method::POST, "/Users", Some(&token), Some(not_json.to_owned()), None).await;
        expect_scim_error(response, StatusCode::BAD_REQUEST, Some("invalidSyntax")).await;
    }
    let response = send(&app, Method::PATCH, &path, Some(&token), Some("[{\"op\":".to_owned()), None).await;
    expect_scim_error(response, StatusCode::BAD_REQUEST, Some("invalidSyntax")).await;

    expect_scim_error(idp.get("/Nope").await, StatusCode::NOT_FOUND, None).await;
    expect_scim_error(send(&app, Method::GET, "/Nope", None, None, None).await, StatusCode::NOT_FOUND, None).await;
    expect_scim_error(idp.get("/Users/not-a-member-id").await, StatusCode::NOT_FOUND, None).await;
    expect_scim_error(idp.get("/Users/mem_00000000000000000000000000000000").await, StatusCode::NOT_FOUND, None).await;
    let not_allowed = idp.post("/ServiceProviderConfig", &json!({})).await;
    assert_eq!(not_allowed.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET"));
    expect_scim_error(not_allowed, StatusCode::METHOD_NOT_ALLOWED, None).await;

    let not_allowed = send(&app, Method::DELETE, "/Users", Some(&token), None, None).await;
    let allow = not_allowed.headers().get("allow").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    expect_scim_error(not_allowed, StatusCode::METHOD_NOT_ALLOWED, None).await;

    // If-Match: the current version goes through, a stale one is 412.
    let current = idp.get(&path).await.headers()["etag"].to_str().unwrap().to_owned();
    let rename = entra_patch(json!({ "op": "Replace", "path": "displayName", "value": "Countess" }));
    let changed = idp.send(Method::PATCH, &path, Some(&rename), Some(&current)).await;
    let (changed, headers) = expect_scim(changed, StatusCode::OK).await;
    let newer = headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(newer, current);
    assert_eq!(changed["meta"]["version"], newer.as_str());
    let stale = idp.send(Method::PATCH, &path, Some(&rename), Some(&current)).await;
    expect_scim_error(stale, StatusCode::PRECONDITION_FAILED, None).await;
    let whole = okta_put(ada["id"].as_str().unwrap(), "ada@acme.com", "Ada", "Lovelace", "00uada", false);
    let stale = idp.send(Method::PUT, &path, Some(&whole), Some(&current)).await;
    expect_scim_error(stale, StatusCode::PRECONDITION_FAILED, None).await;
    let stale = idp.send(Method::DELETE, &path, None, Some(&current)).await;
    expect_scim_error(stale, StatusCode::PRECONDITION_FAILED, None).await;
    let after = idp.read(&path).await;
    assert_eq!((after["displayName"].as_str(), after["active"].as_bool()), (Some("Countess"), Some(true)));
    let group = json!({ "schemas": [GROUP_SCHEMA], "displayName": "Versioned" });
    let (group, headers) = expect_scim(idp.post("/Groups", &group).await, StatusCode::CREATED).await;
    let group_path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let first = headers["etag"].to_str().unwrap().to_owned();
    let rename =
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "displayName", "value": "V2" }] });
    expect_scim(idp.send(Method::PATCH, &group_path, Some(&rename), Some(&first)).await, StatusCode::OK).await;
    let stale = idp.send(Method::PATCH, &group_path, Some(&rename), Some(&first)).await;
    expect_scim_error(stale, StatusCode::PRECONDITION_FAILED, None).await;
    let stale = idp.send(Method::DELETE, &group_path, None, Some(&first)).await;
    expect_scim_error(stale, StatusCode::PRECONDITION_FAILED, None).await;
    expect_scim(idp.send(Method::DELETE, &group_path, None, Some("*")).await, StatusCode::NO_CONTENT).await;

    let deleted = idp.send(Method::DELETE, &path, None, Some(&newer)).await;
    expect_scim(deleted, StatusCode::NO_CONTENT).await;
    expect_scim_error(idp.get(&path).await, StatusCode::NOT_FOUND, None).await;
}

/// Every SCIM write Okta makes leaves its audit record with actor type `scim`.
#[tokio::test(flavor = "multi_thread")]
async fn okta_writes_are_audited_with_actor_scim() {
    let app = TestApp::spawn().await;
    let (org, owner, token) = provisioned_org(&app, "founder", "Acme").await;
    let okta = Idp::new(&app, &token);

    let mut seen = app.audit(&org).len();
    let mut expect_audited = |expected: &[&str]| {
        let events = app.audit(&org);
        let new = &events[seen..];
        seen = events.len();
        let actions: Vec<&str> = new.iter().map(|e| e.action.as_str()).collect();
        for action in expected {
            assert!(actions.contains(action), "expected {action} among {actions:?}");
        }
        for event in new {
            assert_eq!(event.actor_type, "scim", "{} by {}", event.action, event.actor_type);
        }
        new.to_vec()
    };

    let ada = okta.create_user(&okta_user("ada@acme.com", "Ada", "Lovelace", "00uada")).await;
    let id = ada["id"].as_str().unwrap().to_owned();
    let created = expect_audited(&["scim.user_created"]);
    assert_eq!((created[0].target_type.as_str(), created[0].target_id.as_str()), ("member", id.as_str()));
    assert!(!created[0].changes.to_string().contains(OKTA_PASSWORD), "{}", created[0].changes);

    let path = format!("/Users/{id}");
    let renamed = okta_put(&id, "ada@acme.com", "Augusta", "Lovelace", "00uada", true);
    expect_scim(okta.put(&path, &renamed).await, StatusCode::OK).await;
    expect_audited(&["scim.user_updated"]);
    okta.patched(&path, &okta_set_active(false)).await;
    expect_audited(&["scim.user_deactivated"]);
    okta.patched(&path, &okta_set_active(true)).await;
    expect_audited(&["scim.user_reactivated"]);

    let push = json!({ "schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": [{ "value": id.clone() }] });
    let (group, _) = expect_scim(okta.post("/Groups", &push).await, StatusCode::CREATED).await;
    let team = group["id"].as_str().unwrap().to_owned();
    let created = expect_audited(&["team.created"]);
    let team_created = created.iter().find(|e| e.action == "team.created").unwrap();
    assert_eq!((team_created.target_type.as_str(), team_created.target_id.as_str()), ("team", team.as_str()));
    let group_path = format!("/Groups/{team}");
    let rename =
        json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "path": "displayName", "value": "Eng" }] });
    okta.patched(&group_path, &rename).await;
    expect_audited(&["team.updated"]);
    let replace = json!({ "schemas": [GROUP_SCHEMA], "id": team.clone(), "displayName": "Engineering", "members": [] });
    expect_scim(okta.put(&group_path, &replace).await, StatusCode::OK).await;
    let updated = expect_audited(&["team.updated"]);
    assert!(updated.iter().any(|e| e.changes.to_string().contains(&id)), "the seat removed is recorded: {updated:?}");
    expect_scim(okta.delete(&group_path).await, StatusCode::NO_CONTENT).await;
    expect_audited(&["team.deleted"]);
    expect_scim(okta.delete(&path).await, StatusCode::NO_CONTENT).await;
    expect_audited(&["scim.user_deleted"]);

    // The owner reads the same through the audit log API.
    let log =
        expect_status(app.get(&format!("/v1/orgs/{org}/audit-log?limit=100"), &owner).await, StatusCode::OK).await;
    let by_scim: Vec<(&str, &str)> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"]["type"] == "scim")
        .map(|e| (e["action"].as_str().unwrap(), e["target"]["type"].as_str().unwrap()))
        .collect();
    for expected in [
        ("scim.user_created", "member"),
        ("scim.user_updated", "member"),
        ("scim.user_deactivated", "member"),
        ("scim.user_reactivated", "member"),
        ("scim.user_deleted", "member"),
        ("team.created", "team"),
        ("team.updated", "team"),
        ("team.deleted", "team"),
    ] {
        assert!(by_scim.contains(&expected), "{expected:?} not in {by_scim:?}");
    }
    let report =
        expect_status(app.get(&format!("/v1/orgs/{org}/audit-log/verify"), &owner).await, StatusCode::OK).await;
    assert_eq!(report["ok"], true, "{report}");
}

/// Okta pages through the directory with `startIndex`/`count`: pages that neither overlap
/// nor skip, in join order, whether read in order or jumped into.
#[tokio::test(flavor = "multi_thread")]
async fn okta_pages_through_users_with_start_index_and_count() {
    let app = TestApp::spawn().await;
    let (_org, _owner, token) = provisioned_org(&app, "founder", "Acme").await;
    let okta = Idp::new(&app, &token);
    let mut created = Vec::new();
    for n in 1..=7 {
        let email = format!("pager{n}@acme.com");
        let user = okta.create_user(&okta_user(&email, "Page", &format!("User{n}"), &format!("00upage{n}"))).await;
        created.push(user["id"].as_str().unwrap().to_owned());
    }
    let everyone = okta.read("/Users?startIndex=1&count=100").await;
    let all = ids(&everyone);
    assert_eq!(everyone["totalResults"], 8);
    assert_eq!(all.len(), 8);
    assert_eq!(resources(&everyone)[0]["userName"], "founder@example.com", "join order: the founder first");
    assert_eq!(all[1..], created[..], "then the Users in the order they were created");

    // Jumped into before any page was read.
    let jumped = okta.read("/Users?startIndex=7&count=3").await;
    let page = |list: &Value| {
        (list["totalResults"].as_u64(), list["startIndex"].as_u64(), list["itemsPerPage"].as_u64(), ids(list))
    };

    let mut pages = Vec::new();
    for (start, items) in [(1, 3), (4, 3), (7, 2)] {
        let list = okta.read(&format!("/Users?startIndex={start}&count=3")).await;
        assert_eq!(list["schemas"], json!([LIST_RESPONSE]));
        let (total, start_index, per_page, page_ids) = page(&list);
        assert_eq!((total, start_index, per_page), (Some(8), Some(start), Some(items)), "{list}");
        assert_eq!(page_ids.len() as u64, items);
        pages.push(page_ids);
    }
    let joined: Vec<String> = pages.concat();
    assert_eq!(joined, all, "disjoint pages covering everyone, in order");
    assert_eq!(page(&jumped), (Some(8), Some(7), Some(2), pages[2].clone()), "a jump reads the same page");
    let again = okta.read("/Users?startIndex=4&count=3").await;
    assert_eq!(ids(&again), pages[1], "a page read twice is the same page");

    let beyond = okta.read("/Users?startIndex=9&count=3").await;
    assert_eq!(page(&beyond), (Some(8), Some(9), Some(0), Vec::new()));
    let none = okta.read("/Users?count=0").await;
    assert_eq!(page(&none), (Some(8), Some(1), Some(0), Vec::new()));

    // A filtered listing pages the same way over its matches.
    let filter = encode(r#"userName sw "pager""#);
    let mut filtered = Vec::new();
    for (start, items) in [(1, 3), (4, 3), (7, 1)] {
        let list = okta.read(&format!("/Users?filter={filter}&startIndex={start}&count=3")).await;
        let (total, start_index, per_page, page_ids) = page(&list);
        assert_eq!((total, start_index, per_page), (Some(7), Some(start), Some(items)), "{list}");
        filtered.extend(page_ids);
    }
    assert_eq!(filtered, created);
}
