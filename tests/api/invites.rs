use std::time::Duration;

use api::auth::DevToken;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{deliver_to, expect_problem, expect_status, free_port, org_uuid, SmtpSink, TestApp};

fn person(app: &TestApp, subject: &str, email: &str, verified: bool) -> String {
    let token = DevToken {
        subject: subject.into(),
        email: Some(email.into()),
        name: Some(subject.into()),
        mfa: false,
        staff: None,
        ttl: Duration::from_secs(600),
    };
    if verified {
        app.token_with(token)
    } else {
        let claims = json!({
            "sub": subject, "email": email, "email_verified": false, "iss": crate::helpers::ISSUER, "aud": crate::helpers::AUDIENCE,
            "exp": chrono::Utc::now().timestamp() + 600,
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(crate::helpers::JWT_SECRET.as_bytes()),
        )
        .unwrap()
    }
}

async fn invite(app: &TestApp, org: &str, token: &str, body: Value) -> Value {
    expect_status(app.post(&format!("/v1/orgs/{org}/invites"), token, body).await, StatusCode::CREATED).await
}

fn secret(invite: &Value) -> String {
    invite["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_invite_is_previewed_accepted_and_listed() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let created = invite(&app, &org, &owner, json!({ "role": "admin", "max_uses": 2 })).await;
    let token = secret(&created);
    assert!(token.starts_with("orgi_"));
    assert_eq!(created["accept_url"], format!("https://app.test/invites/{token}"));
    assert_eq!((created["status"].as_str(), created["uses"].as_i64()), (Some("pending"), Some(0)));

    let preview =
        expect_status(app.request(Method::GET, &format!("/v1/invites/{token}"), None, None).await, StatusCode::OK)
            .await;
    assert_eq!(
        preview,
        json!({ "organization_name": "Acme", "role": "admin", "inviter_name": "User owner", "expires_at": created["expires_at"], "email_bound": false })
    );

    let ann = app.token("ann");
    let joined =
        expect_status(app.post(&format!("/v1/invites/{token}/accept"), &ann, json!({})).await, StatusCode::OK).await;
    assert_eq!((joined["organization"]["id"].as_str(), joined["role"].as_str()), (Some(org.as_str()), Some("admin")));
    let me = expect_status(app.get(&format!("/v1/orgs/{org}/permissions"), &ann).await, StatusCode::OK).await;
    assert_eq!(me["role"], "admin");

    let again = app.post(&format!("/v1/invites/{token}/accept"), &ann, json!({})).await;
    expect_problem(again, StatusCode::CONFLICT, "already_member").await;
    let listed = expect_status(app.get(&format!("/v1/orgs/{org}/invites"), &owner).await, StatusCode::OK).await;
    assert_eq!(
        (listed["data"][0]["uses"].as_i64(), listed["data"][0]["status"].as_str()),
        (Some(1), Some("pending")),
        "a refused accept uses nothing"
    );
    assert_eq!(listed["data"][0]["redemptions"][0]["member_id"], joined["member_id"]);

    expect_status(app.post(&format!("/v1/invites/{token}/accept"), &app.token("bob"), json!({})).await, StatusCode::OK)
        .await;
    expect_problem(
        app.post(&format!("/v1/invites/{token}/accept"), &app.token("cyd"), json!({})).await,
        StatusCode::GONE,
        "invite_exhausted",
    )
    .await;
    expect_problem(
        app.request(Method::GET, &format!("/v1/invites/{token}"), None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let exhausted =
        expect_status(app.get(&format!("/v1/orgs/{org}/invites?status=exhausted"), &owner).await, StatusCode::OK).await;
    assert_eq!(exhausted["data"].as_array().unwrap().len(), 1);
    let pending =
        expect_status(app.get(&format!("/v1/orgs/{org}/invites?status=pending"), &owner).await, StatusCode::OK).await;
    assert_eq!(pending["data"], json!([]));
    expect_problem(
        app.get(&format!("/v1/orgs/{org}/invites?status=lost"), &owner).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(app.audit_actions(&org), vec!["org.created", "invite.created", "invite.accepted", "invite.accepted"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn many_people_accepting_at_once_never_exceed_max_uses() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let token = secret(&invite(&app, &org, &owner, json!({ "role": "member", "max_uses": 3 })).await);
    let people: Vec<String> = (0..10).map(|n| app.token(&format!("rush-{n}"))).collect();
    let path = format!("/v1/invites/{token}/accept");
    let attempts = people.iter().map(|p| app.post(&path, p, json!({})));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts).await.iter().map(|r| r.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 3, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::GONE), "{statuses:?}");
    let members = expect_status(app.get(&format!("/v1/orgs/{org}/members"), &owner).await, StatusCode::OK).await;
    assert_eq!(members["data"].as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn invites_hand_out_no_more_than_the_inviter_holds() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    app.seed_members(&org, "adm", 1, "admin");
    let admin = app.token("adm-1");
    let invites = format!("/v1/orgs/{org}/invites");
    expect_problem(
        app.post(&invites, &owner, json!({ "role": "owner" })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "owner_not_invitable",
    )
    .await;
    expect_problem(
        app.post(&invites, &owner, json!({ "role": "ghost" })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_role",
    )
    .await;
    let wide = json!({ "key": "closer", "name": "Closer", "permissions": ["org:delete", "org:read"] });
    expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, wide).await, StatusCode::CREATED).await;
    let problem = expect_problem(
        app.post(&invites, &admin, json!({ "role": "closer" })).await,
        StatusCode::FORBIDDEN,
        "escalation_denied",
    )
    .await;
    assert_eq!(problem["missing_permissions"], json!(["org:delete"]));
    app.seed_members(&org, "plain", 1, "member");
    expect_problem(
        app.post(&invites, &app.token("plain-1"), json!({ "role": "member" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(&invites, &app.token("stranger"), json!({ "role": "member" })).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let problem = expect_problem(
        app.post(&invites, &owner, json!({ "role": "member", "max_uses": 0, "expires_at": "2020-01-01T00:00:00Z" }))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["max_uses", "expires_at"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_invite_admits_only_its_verified_address() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let created = invite(&app, &org, &owner, json!({ "role": "member", "email": "Dana@Example.com" })).await;
    assert_eq!(created["email"], "dana@example.com");
    let token = secret(&created);
    let accept = format!("/v1/invites/{token}/accept");
    let preview =
        expect_status(app.request(Method::GET, &format!("/v1/invites/{token}"), None, None).await, StatusCode::OK)
            .await;
    assert_eq!(preview["email_bound"], true);
    expect_problem(
        app.post(&accept, &person(&app, "eve", "eve@example.com", true), json!({})).await,
        StatusCode::FORBIDDEN,
        "invite_email_mismatch",
    )
    .await;
    expect_problem(
        app.post(&accept, &person(&app, "dana-unverified", "dana@example.com", false), json!({})).await,
        StatusCode::FORBIDDEN,
        "invite_email_mismatch",
    )
    .await;
    expect_status(app.post(&accept, &person(&app, "dana", "dana@example.com", true), json!({})).await, StatusCode::OK)
        .await;
    expect_problem(
        app.post(
            &format!("/v1/orgs/{org}/invites"),
            &owner,
            json!({ "role": "member", "email": "x@example.com", "max_uses": 5 }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_and_expired_invites_are_dead() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let created = invite(&app, &org, &owner, json!({ "role": "member", "max_uses": 5 })).await;
    let token = secret(&created);
    expect_status(
        app.delete(&format!("/v1/orgs/{org}/invites/{}", created["id"].as_str().unwrap()), &owner).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    expect_problem(
        app.request(Method::GET, &format!("/v1/invites/{token}"), None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.post(&format!("/v1/invites/{token}/accept"), &app.token("ann"), json!({})).await,
        StatusCode::GONE,
        "invite_revoked",
    )
    .await;

    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1200)).to_rfc3339();
    let short = secret(&invite(&app, &org, &owner, json!({ "role": "member", "expires_at": soon })).await);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    expect_problem(
        app.post(&format!("/v1/invites/{short}/accept"), &app.token("ann"), json!({})).await,
        StatusCode::GONE,
        "invite_expired",
    )
    .await;
    let expired =
        expect_status(app.get(&format!("/v1/orgs/{org}/invites?status=expired"), &owner).await, StatusCode::OK).await;
    assert_eq!(expired["data"].as_array().unwrap().len(), 1);

    expect_problem(
        app.request(Method::GET, "/v1/invites/orgi_not-a-real-token", None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let forged = format!("orgi_{}", "A".repeat(38));
    expect_problem(
        app.post(&format!("/v1/invites/{forged}/accept"), &app.token("ann"), json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invite_can_seat_its_invitee_in_a_team() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let team = expect_status(
        app.post(&format!("/v1/orgs/{org}/teams"), &owner, json!({ "name": "Core" })).await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = secret(&invite(&app, &org, &owner, json!({ "role": "member", "team_id": team })).await);
    expect_status(app.post(&format!("/v1/invites/{token}/accept"), &app.token("ann"), json!({})).await, StatusCode::OK)
        .await;
    let detail = expect_status(app.get(&format!("/v1/orgs/{org}/teams/{team}"), &owner).await, StatusCode::OK).await;
    assert_eq!(detail["members"][0]["name"], "User ann");
    let other = app.create_org(&app.token("bob"), "Globex").await;
    let bobs_team = expect_status(
        app.post(&format!("/v1/orgs/{other}/teams"), &app.token("bob"), json!({ "name": "X" })).await,
        StatusCode::CREATED,
    )
    .await;
    expect_problem(
        app.post(&format!("/v1/orgs/{org}/invites"), &owner, json!({ "role": "member", "team_id": bobs_team["id"] }))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_invite_is_delivered_over_smtp_with_its_link() {
    let sink = SmtpSink::start();
    let port = sink.port;
    let app = TestApp::spawn_with(|config| {
        deliver_to(config, port);
    })
    .await;
    let owner = app.token_with(DevToken {
        subject: "owner".into(),
        email: Some("owner@acme.test".into()),
        name: Some("Ada <b>Admin</b>".into()),
        mfa: false,
        staff: None,
        ttl: Duration::from_secs(600),
    });
    let org = app.create_org(&owner, "Acme & <Sons>").await;
    let created = invite(&app, &org, &owner, json!({ "role": "member", "email": "dana@example.com" })).await;
    let token = secret(&created);

    let message = sink.wait_for(1, 10).await.remove(0);
    assert!(message.starts_with("X-Envelope-To: dana@example.com"), "{message}");
    assert!(message.contains("To: dana@example.com"));
    assert!(message.contains("From: Acme <no-reply@acme.test>"));
    let unfolded = message.replace("=\r\n", "").replace("=\n", "");
    assert!(unfolded.contains(&format!("https://app.test/invites/{token}")), "the link is in the email: {message}");
    assert!(
        unfolded.contains("&lt;b&gt;Admin&lt;/b&gt;") || unfolded.contains("=26lt;b=26gt;"),
        "names are escaped in HTML"
    );
    assert!(!unfolded.contains("<b>Admin</b></strong>"));

    expect_status(
        app.post(&format!("/v1/invites/{token}/accept"), &person(&app, "dana", "dana@example.com", true), json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    let _ = org_uuid(&org);
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_waits_out_an_smtp_outage_and_resends_rotate_the_link() {
    let port = free_port();
    let app = TestApp::spawn_with(|config| {
        deliver_to(config, port);
        config.invites.resend_interval = chrono::Duration::zero();
    })
    .await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let created = invite(&app, &org, &owner, json!({ "role": "member", "email": "dana@example.com" })).await;
    let first = secret(&created);

    tokio::time::sleep(Duration::from_millis(800)).await;
    let queued = app.db.outbox_state();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].0, "pending", "nothing is lost while the SMTP server is down");
    assert!(queued[0].1 >= 1, "delivery was attempted");

    let sink = SmtpSink::start_on(port);
    let delivered = sink.wait_for(1, 10).await;
    assert!(delivered[0].replace("=\r\n", "").contains(&first));
    assert_eq!(app.db.outbox_state()[0].0, "sent");
    assert!(!app.db.outbox_state()[0].2, "a delivered email keeps no body (it held a live link)");

    let invite_id = created["id"].as_str().unwrap();
    expect_status(
        app.post(&format!("/v1/orgs/{org}/invites/{invite_id}/resend"), &owner, json!({})).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    let both = sink.wait_for(2, 10).await;
    let resent = both[1].replace("=\r\n", "");
    assert!(!resent.contains(&first), "the resent email carries a fresh link");
    expect_problem(
        app.request(Method::GET, &format!("/v1/invites/{first}"), None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let fresh = resent.split("https://app.test/invites/").nth(1).unwrap().chars().take(43).collect::<String>();
    expect_status(app.request(Method::GET, &format!("/v1/invites/{fresh}"), None, None).await, StatusCode::OK).await;
    assert_eq!(app.audit_actions(&org), vec!["org.created", "invite.created", "invite.resent"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn resending_is_rate_limited_and_only_for_email_invites() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let email_invite = invite(&app, &org, &owner, json!({ "role": "member", "email": "dana@example.com" })).await;
    let response = app
        .post(&format!("/v1/orgs/{org}/invites/{}/resend", email_invite["id"].as_str().unwrap()), &owner, json!({}))
        .await;
    let retry_after: u32 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    expect_problem(response, StatusCode::TOO_MANY_REQUESTS, "resend_too_soon").await;
    let link = invite(&app, &org, &owner, json!({ "role": "member" })).await;
    expect_problem(
        app.post(&format!("/v1/orgs/{org}/invites/{}/resend", link["id"].as_str().unwrap()), &owner, json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_an_email_invite",
    )
    .await;
    assert_eq!(app.db.outbox_state().len(), 1, "without SMTP, mail waits in the outbox");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_who_left_may_come_back_through_the_same_link() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let token = secret(&invite(&app, &org, &owner, json!({ "role": "member", "max_uses": 5 })).await);
    let ann = app.token("ann");
    expect_status(app.post(&format!("/v1/invites/{token}/accept"), &ann, json!({})).await, StatusCode::OK).await;
    expect_status(app.post(&format!("/v1/orgs/{org}/leave"), &ann, json!({})).await, StatusCode::NO_CONTENT).await;
    expect_status(app.post(&format!("/v1/invites/{token}/accept"), &ann, json!({})).await, StatusCode::OK).await;
    let listed = expect_status(app.get(&format!("/v1/orgs/{org}/invites"), &owner).await, StatusCode::OK).await;
    assert_eq!(listed["data"][0]["uses"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_seat_in_an_invite_needs_team_rights() {
    let app = TestApp::spawn().await;
    let owner = app.token("owner");
    let org = app.create_org(&owner, "Acme").await;
    let team = expect_status(
        app.post(&format!("/v1/orgs/{org}/teams"), &owner, json!({ "name": "Core" })).await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let inviter = json!({ "key": "recruiter", "name": "Recruiter", "permissions": ["org:read", "invites:create", "invites:read"] });
    expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, inviter).await, StatusCode::CREATED).await;
    app.seed_members(&org, "rec", 1, "recruiter");
    let recruiter = app.token("rec-1");
    let problem = expect_problem(
        app.post(&format!("/v1/orgs/{org}/invites"), &recruiter, json!({ "role": "recruiter", "team_id": team })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(problem["permission"], "teams:update");
    expect_status(
        app.post(&format!("/v1/orgs/{org}/invites"), &recruiter, json!({ "role": "recruiter" })).await,
        StatusCode::CREATED,
    )
    .await;
    expect_problem(
        app.post(
            &format!("/v1/orgs/{org}/invites"),
            &owner,
            json!({ "role": "member", "email": "Alice <mallory@evil.test>" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}
