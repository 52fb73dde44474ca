//! Verified domains and joining by domain, end to end over HTTP with a real DNS server on
//! loopback: claim, publish, verify, suggest, request, decide; `auto`; the refusals; the
//! daily re-check; SSO enforcement by domain.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::authorization::{sso_config, verified_domain};
use crate::helpers::{claims_token, expect_problem, expect_status, TestApp};

/// A person signed in by password whose verified email is `email`.
fn person(subject: &str, email: &str) -> String {
    claims_token(subject, json!({ "email": email }))
}

async fn claim(app: &TestApp, org: &str, owner: &str, domain: &str) -> Value {
    let body = json!({ "domain": domain });
    expect_status(app.post(&format!("/v1/orgs/{org}/domains"), owner, body).await, StatusCode::CREATED).await
}

fn publish(app: &TestApp, claimed: &Value) {
    let record = &claimed["verification"];
    app.dns.set_txt(record["name"].as_str().unwrap(), &[record["value"].as_str().unwrap()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn claim_publish_verify_then_suggest_request_and_approve() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Acme").await;
    let claimed = claim(&app, &org, &owner, " Acme-Corp.COM. ").await;
    assert_eq!(claimed["domain"], "acme-corp.com");
    assert_eq!(claimed["status"], "unverified");
    assert_eq!(claimed["verification"]["type"], "TXT");
    assert_eq!(claimed["verification"]["name"], "_orgd-challenge.acme-corp.com");
    assert!(claimed["verification"]["value"].as_str().unwrap().starts_with("orgd-domain-verification="));
    let id = claimed["id"].as_str().unwrap();
    let verify = format!("/v1/orgs/{org}/domains/{id}/verify");

    // Not published yet, then someone else's value: refused, and the claim stays unverified.
    expect_problem(app.post(&verify, &owner, json!({})).await, StatusCode::CONFLICT, "verification_failed").await;
    app.dns.set_txt("_orgd-challenge.acme-corp.com", &["orgd-domain-verification=someone-elses"]);
    expect_problem(app.post(&verify, &owner, json!({})).await, StatusCode::CONFLICT, "verification_failed").await;
    // A resolver that cannot tell is not a proof of anything.
    app.dns.fail("_orgd-challenge.acme-corp.com");
    expect_problem(app.post(&verify, &owner, json!({})).await, StatusCode::SERVICE_UNAVAILABLE, "dns_unavailable")
        .await;
    let opened = json!({ "join_policy": "suggest" });
    expect_problem(
        app.patch(&format!("/v1/orgs/{org}/domains/{id}"), &owner, opened.clone()).await,
        StatusCode::CONFLICT,
        "domain_not_verified",
    )
    .await;

    publish(&app, &claimed);
    let verified = expect_status(app.post(&verify, &owner, json!({})).await, StatusCode::OK).await;
    assert_eq!(verified["status"], "verified");
    assert!(verified["expires_at"].is_null());
    let by_name =
        expect_status(app.get(&format!("/v1/orgs/{org}/domains/acme-corp.com"), &owner).await, StatusCode::OK).await;
    assert_eq!(by_name["id"], id);
    expect_status(app.patch(&format!("/v1/orgs/{org}/domains/{id}"), &owner, opened).await, StatusCode::OK).await;

    let alice = person("alice", "alice@acme-corp.com");
    let suggested = expect_status(app.get("/v1/me/suggested-orgs", &alice).await, StatusCode::OK).await;
    assert_eq!(suggested["data"].as_array().unwrap().len(), 1, "{suggested}");
    assert_eq!(suggested["data"][0]["organization"]["id"], org.as_str());
    assert_eq!(suggested["data"][0]["join_policy"], "suggest");

    // An address the identity provider did not verify matches nothing.
    let unverified = claims_token("mallory", json!({ "email": "mallory@acme-corp.com", "email_verified": false }));
    let none = expect_status(app.get("/v1/me/suggested-orgs", &unverified).await, StatusCode::OK).await;
    assert_eq!(none["data"], json!([]));
    let join = format!("/v1/orgs/{org}/join-requests");
    expect_problem(app.post(&join, &unverified, json!({})).await, StatusCode::FORBIDDEN, "email_not_verified").await;
    // Someone from another domain is not told the organization exists.
    let bob = person("bob", "bob@elsewhere.io");
    assert_eq!(expect_status(app.get("/v1/me/suggested-orgs", &bob).await, StatusCode::OK).await["data"], json!([]));
    expect_problem(app.post(&join, &bob, json!({})).await, StatusCode::NOT_FOUND, "not_found").await;

    let request = expect_status(app.post(&join, &alice, json!({})).await, StatusCode::CREATED).await;
    assert_eq!(request["status"], "pending");
    assert_eq!(request["email"], "alice@acme-corp.com");
    expect_problem(app.post(&join, &alice, json!({})).await, StatusCode::CONFLICT, "join_request_pending").await;
    expect_problem(app.get(&format!("/v1/orgs/{org}"), &alice).await, StatusCode::NOT_FOUND, "not_found").await;
    let pending = expect_status(app.get(&format!("{join}?status=pending"), &owner).await, StatusCode::OK).await;
    assert_eq!(pending["data"][0]["id"], request["id"]);

    let request_id = request["id"].as_str().unwrap();
    let approved =
        expect_status(app.post(&format!("{join}/{request_id}/approve"), &owner, json!({})).await, StatusCode::OK).await;
    assert_eq!((approved["status"].as_str(), approved["role"].as_str()), (Some("approved"), Some("member")));
    expect_problem(
        app.post(&format!("{join}/{request_id}/deny"), &owner, json!({})).await,
        StatusCode::CONFLICT,
        "join_request_decided",
    )
    .await;
    expect_status(app.get(&format!("/v1/orgs/{org}"), &alice).await, StatusCode::OK).await;
    let notices = expect_status(app.get("/v1/me/notifications", &alice).await, StatusCode::OK).await;
    assert_eq!(notices["data"][0]["kind"], "join_request_approved", "{notices}");
    let none = expect_status(app.get("/v1/me/suggested-orgs", &alice).await, StatusCode::OK).await;
    assert_eq!(none["data"], json!([]), "a member is not offered their own organization");

    let actions = app.audit_actions(&org);
    for action in [
        "domain.claimed",
        "domain.verified",
        "domain.join_policy_updated",
        "join_request.created",
        "join_request.approved",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} missing from {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_admits_at_once_while_whoever_set_it_could_still_grant_the_role() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Acme").await;
    app.seed_members(&org, "setter", 1, "admin");
    let admin = app.token("setter-1");
    let id = verified_domain(&app, &org, &owner, "auto.example.org", "suggest").await;
    let domain = format!("/v1/orgs/{org}/domains/{id}");
    let owner_role = json!({ "join_policy": "auto", "role": "owner" });
    let refused = expect_problem(
        app.patch(&domain, &admin, owner_role).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(refused["errors"][0]["code"], "owner_not_allowed", "{refused}");
    let auto = json!({ "join_policy": "auto", "role": "member" });
    let set = expect_status(app.patch(&domain, &admin, auto).await, StatusCode::OK).await;
    assert_eq!((set["join_policy"].as_str(), set["role"].as_str()), (Some("auto"), Some("member")));

    let join = format!("/v1/orgs/{org}/join-requests");
    let carol = person("carol", "carol@auto.example.org");
    let suggested = expect_status(app.get("/v1/me/suggested-orgs", &carol).await, StatusCode::OK).await;
    assert_eq!(suggested["data"][0]["join_policy"], "auto");
    let joined = expect_status(app.post(&join, &carol, json!({})).await, StatusCode::CREATED).await;
    assert_eq!((joined["status"].as_str(), joined["role"].as_str()), (Some("approved"), Some("member")));
    assert!(joined["decided_by"].is_null());
    expect_status(app.get(&format!("/v1/orgs/{org}"), &carol).await, StatusCode::OK).await;
    assert!(app.audit_actions(&org).iter().any(|a| a == "member.joined_by_domain"));

    // The admin who set it is demoted: the policy no longer admits anyone by itself.
    let members =
        expect_status(app.get(&format!("/v1/orgs/{org}/members?q=setter-1"), &owner).await, StatusCode::OK).await;
    let setter = members["data"][0]["id"].as_str().unwrap();
    let demote = json!({ "role": "member" });
    expect_status(app.patch(&format!("/v1/orgs/{org}/members/{setter}"), &owner, demote).await, StatusCode::OK).await;
    let dave = person("dave", "dave@auto.example.org");
    let waiting = expect_status(app.post(&join, &dave, json!({})).await, StatusCode::CREATED).await;
    assert_eq!(waiting["status"], "pending");
    expect_problem(app.get(&format!("/v1/orgs/{org}"), &dave).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn public_providers_domains_held_elsewhere_and_lapsed_claims_are_refused() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Acme").await;
    let domains = format!("/v1/orgs/{org}/domains");
    for public in ["gmail.com", "Outlook.com", "mail.yahoo.com", "co.uk", "github.io"] {
        let refused = expect_problem(
            app.post(&domains, &owner, json!({ "domain": public })).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        let code = refused["errors"][0]["code"].as_str().unwrap();
        assert!(["public_email_provider", "public_suffix"].contains(&code), "{public}: {refused}");
    }
    let claimed = claim(&app, &org, &owner, "held.example.net").await;
    expect_problem(
        app.post(&domains, &owner, json!({ "domain": "held.example.net" })).await,
        StatusCode::CONFLICT,
        "domain_already_claimed",
    )
    .await;

    // Another organization claims the same domain first-come; only a verification counts,
    // and only one organization can hold it verified.
    let rival_owner = app.token_with_mfa("rival");
    let rival = app.create_org(&rival_owner, "Rival").await;
    let rival_claim = claim(&app, &rival, &rival_owner, "held.example.net").await;
    publish(&app, &claimed);
    let id = claimed["id"].as_str().unwrap();
    expect_status(app.post(&format!("{domains}/{id}/verify"), &owner, json!({})).await, StatusCode::OK).await;
    publish(&app, &rival_claim);
    let rival_id = rival_claim["id"].as_str().unwrap();
    expect_problem(
        app.post(&format!("/v1/orgs/{rival}/domains/{rival_id}/verify"), &rival_owner, json!({})).await,
        StatusCode::CONFLICT,
        "domain_verified_elsewhere",
    )
    .await;
    expect_problem(
        app.post(&format!("/v1/orgs/{rival}/domains"), &rival_owner, json!({ "domain": "held.example.net" })).await,
        StatusCode::CONFLICT,
        "domain_verified_elsewhere",
    )
    .await;
    // Another organization's domain id is not found in this one.
    expect_problem(app.get(&format!("{domains}/{rival_id}"), &owner).await, StatusCode::NOT_FOUND, "not_found").await;

    // A claim not verified within 7 days lapses; claiming again renews it.
    let lapsing = claim(&app, &org, &owner, "lapsing.example.net").await;
    app.db
        .execute("UPDATE org_domains SET expires_at = now() - interval '1 minute' WHERE domain = 'lapsing.example.net'")
        .unwrap();
    publish(&app, &lapsing);
    let lapsing_id = lapsing["id"].as_str().unwrap();
    expect_problem(
        app.post(&format!("{domains}/{lapsing_id}/verify"), &owner, json!({})).await,
        StatusCode::GONE,
        "claim_expired",
    )
    .await;
    let listed = expect_status(app.get(&domains, &owner).await, StatusCode::OK).await;
    let status_of =
        |name: &str| listed["data"].as_array().unwrap().iter().find(|d| d["domain"] == name).unwrap()["status"].clone();
    assert_eq!(status_of("lapsing.example.net"), "expired");
    let renewed = claim(&app, &org, &owner, "lapsing.example.net").await;
    assert_eq!(renewed["id"], lapsing["id"]);
    assert_ne!(renewed["verification"]["value"], lapsing["verification"]["value"], "a new challenge");

    expect_status(app.delete(&format!("{domains}/{id}"), &owner).await, StatusCode::NO_CONTENT).await;
    let actions = app.audit_actions(&org);
    assert!(actions.iter().any(|a| a == "domain.released"), "{actions:?}");
    // Released: the rival may now verify it.
    expect_status(
        app.post(&format!("/v1/orgs/{rival}/domains/{rival_id}/verify"), &rival_owner, json!({})).await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_whose_email_moves_to_another_domain_is_no_longer_offered_or_admitted() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Acme").await;
    verified_domain(&app, &org, &owner, "moving.example.com", "suggest").await;
    let join = format!("/v1/orgs/{org}/join-requests");
    let before = person("erin", "erin@moving.example.com");
    let request = expect_status(app.post(&join, &before, json!({})).await, StatusCode::CREATED).await;

    let after = person("erin", "erin@new-employer.com");
    let suggested = expect_status(app.get("/v1/me/suggested-orgs", &after).await, StatusCode::OK).await;
    assert_eq!(suggested["data"], json!([]));
    let request_id = request["id"].as_str().unwrap();
    expect_problem(
        app.post(&format!("{join}/{request_id}/approve"), &owner, json!({})).await,
        StatusCode::CONFLICT,
        "not_eligible",
    )
    .await;
    let denied =
        expect_status(app.post(&format!("{join}/{request_id}/deny"), &owner, json!({})).await, StatusCode::OK).await;
    assert_eq!(denied["status"], "denied");
    let notices = expect_status(app.get("/v1/me/notifications", &after).await, StatusCode::OK).await;
    assert_eq!(notices["data"][0]["kind"], "join_request_denied");
    expect_problem(app.post(&join, &after, json!({})).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_domain_whose_record_disappears_is_unverified_by_the_daily_check_and_the_owners_told() {
    let app = TestApp::spawn_with(|config| config.domains.recheck_interval = Duration::from_millis(200)).await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Acme").await;
    let kept = verified_domain(&app, &org, &owner, "kept.example.com", "suggest").await;
    let lost = verified_domain(&app, &org, &owner, "lost.example.com", "suggest").await;
    app.dns.remove("_orgd-challenge.lost.example.com");
    app.db.execute("UPDATE org_domains SET last_checked_at = now() - interval '25 hours'").unwrap();
    let lost_path = format!("/v1/orgs/{org}/domains/{lost}");
    // Gone at the first look: marked, still verified, looked at again an hour later.
    let mut marked = Value::Null;
    for _ in 0..100 {
        marked = expect_status(app.get(&lost_path, &owner).await, StatusCode::OK).await;
        if marked["record_missing_since"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(marked["status"], "verified", "{marked}");
    assert!(marked["record_missing_since"].is_string(), "{marked}");
    app.db
        .execute(
            "UPDATE org_domains SET missing_since = now() - interval '2 hours', \
             last_checked_at = now() - interval '25 hours' WHERE missing_since IS NOT NULL",
        )
        .unwrap();
    let mut status = Value::Null;
    for _ in 0..100 {
        let domain = expect_status(app.get(&lost_path, &owner).await, StatusCode::OK).await;
        status = domain["status"].clone();
        if status == "unverified" {
            assert!(domain["expires_at"].is_string(), "a new 7-day window to publish the record again");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "unverified");
    let still = expect_status(app.get(&format!("/v1/orgs/{org}/domains/{kept}"), &owner).await, StatusCode::OK).await;
    assert_eq!(still["status"], "verified");
    let events = app.audit(&org);
    let lost_event = events.iter().find(|e| e.action == "domain.verification_lost").expect("audited");
    assert_eq!((lost_event.actor_type.as_str(), lost_event.actor_id.as_str()), ("system", "orgd"));
    let queued: i64 =
        app.db.count("SELECT count(*) FROM outbox_emails WHERE subject LIKE 'lost.example.com is no longer verified%'");
    assert_eq!(queued, 1, "one email to the one owner");
    // People of the domain are no longer offered the organization.
    let frank = person("frank", "frank@lost.example.com");
    assert_eq!(expect_status(app.get("/v1/me/suggested-orgs", &frank).await, StatusCode::OK).await["data"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_enforced_holds_the_domain_s_people_to_sso_and_nobody_else() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Acme").await;
    verified_domain(&app, &org, &owner, "sso.example.com", "suggest").await;
    let join = format!("/v1/orgs/{org}/join-requests");
    let mut sso = sso_config();
    sso["enforced"] = json!(true);
    let sso_path = format!("/v1/orgs/{org}/sso");
    expect_status(app.request(reqwest::Method::PUT, &sso_path, Some(&owner), Some(sso.clone())).await, StatusCode::OK)
        .await;

    // People of the domain come in through SSO; a password sign-in is refused, joining too.
    let by_password = person("gina", "gina@sso.example.com");
    expect_problem(app.post(&join, &by_password, json!({})).await, StatusCode::FORBIDDEN, "sso_required").await;
    let by_sso = claims_token("gina", json!({ "email": "gina@sso.example.com", "login_method": "sso" }));
    let request = expect_status(app.post(&join, &by_sso, json!({})).await, StatusCode::CREATED).await;
    let approve = format!("{join}/{}/approve", request["id"].as_str().unwrap());
    expect_status(app.post(&approve, &owner, json!({})).await, StatusCode::OK).await;
    expect_status(app.get(&format!("/v1/orgs/{org}"), &by_sso).await, StatusCode::OK).await;
    let refused =
        expect_problem(app.get(&format!("/v1/orgs/{org}"), &by_password).await, StatusCode::FORBIDDEN, "sso_required")
            .await;
    assert!(refused["detail"].as_str().unwrap().contains("sso.example.com"));
    // A contractor with an address elsewhere is not affected.
    expect_status(app.get(&format!("/v1/orgs/{org}"), &owner).await, StatusCode::OK).await;

    // Verifying the owner's own domain under enforcement would keep every owner out.
    let owners_domain = claim(&app, &org, &owner, "example.com").await;
    publish(&app, &owners_domain);
    let id = owners_domain["id"].as_str().unwrap();
    expect_problem(
        app.post(&format!("/v1/orgs/{org}/domains/{id}/verify?force=true"), &owner, json!({})).await,
        StatusCode::CONFLICT,
        "would_lock_out_every_owner",
    )
    .await;
    // Switching enforcement off and on again is previewed and guarded the same way.
    sso["enforced"] = json!(false);
    expect_status(app.request(reqwest::Method::PUT, &sso_path, Some(&owner), Some(sso.clone())).await, StatusCode::OK)
        .await;
    expect_status(app.post(&format!("/v1/orgs/{org}/domains/{id}/verify"), &owner, json!({})).await, StatusCode::OK)
        .await;
    sso["enforced"] = json!(true);
    let preview = expect_status(
        app.request(reqwest::Method::PUT, &format!("{sso_path}?dry_run=true"), Some(&owner), Some(sso.clone())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(preview["lockout"]["every_owner"], true, "{preview}");
    assert_eq!(preview["lockout"]["caller"]["code"], "sso_required");
    expect_problem(
        app.request(reqwest::Method::PUT, &sso_path, Some(&owner), Some(sso)).await,
        StatusCode::CONFLICT,
        "would_lock_out_every_owner",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_organization_releases_its_domains() {
    let app = TestApp::spawn().await;
    let owner = app.token_with_mfa("owner");
    let org = app.create_org(&owner, "Leaving").await;
    verified_domain(&app, &org, &owner, "leaving.example.com", "suggest").await;
    expect_status(app.delete(&format!("/v1/orgs/{org}"), &owner).await, StatusCode::NO_CONTENT).await;
    let deleted = app.audit(&org).into_iter().find(|e| e.action == "org.deleted").expect("audited");
    assert!(deleted.changes.to_string().contains("leaving.example.com"), "{}", deleted.changes);

    let next_owner = app.token_with_mfa("next");
    let next = app.create_org(&next_owner, "Arriving").await;
    let claimed = claim(&app, &next, &next_owner, "leaving.example.com").await;
    publish(&app, &claimed);
    let id = claimed["id"].as_str().unwrap();
    let verified = expect_status(
        app.post(&format!("/v1/orgs/{next}/domains/{id}/verify"), &next_owner, json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(verified["status"], "verified");
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_verifications_and_requests_settle_on_one_winner_without_errors() {
    let app = TestApp::spawn().await;
    let (a_owner, b_owner) = (app.token_with_mfa("a-owner"), app.token_with_mfa("b-owner"));
    let a = app.create_org(&a_owner, "Org A").await;
    let b = app.create_org(&b_owner, "Org B").await;
    let a_claim = claim(&app, &a, &a_owner, "contested.example.com").await;
    let b_claim = claim(&app, &b, &b_owner, "contested.example.com").await;
    let values: Vec<&str> = [&a_claim, &b_claim].iter().map(|c| c["verification"]["value"].as_str().unwrap()).collect();
    app.dns.set_txt("_orgd-challenge.contested.example.com", &values);
    let (a_id, b_id) = (a_claim["id"].as_str().unwrap(), b_claim["id"].as_str().unwrap());
    let (a_path, b_path) =
        (format!("/v1/orgs/{a}/domains/{a_id}/verify"), format!("/v1/orgs/{b}/domains/{b_id}/verify"));
    let (first, second) = tokio::join!(app.post(&a_path, &a_owner, json!({})), app.post(&b_path, &b_owner, json!({})));
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "exactly one organization holds the domain");

    // One person asking twice at once gets one request.
    let winner = if is_verified(&app, &a, &a_owner, a_id).await { (&a, &a_owner, a_id) } else { (&b, &b_owner, b_id) };
    let (org, owner, id) = winner;
    let opened = json!({ "join_policy": "suggest" });
    expect_status(app.patch(&format!("/v1/orgs/{org}/domains/{id}"), owner, opened).await, StatusCode::OK).await;
    let hana = person("hana", "hana@contested.example.com");
    let join = format!("/v1/orgs/{org}/join-requests");
    let (one, two) = tokio::join!(app.post(&join, &hana, json!({})), app.post(&join, &hana, json!({})));
    let mut statuses = [one.status(), two.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
}

async fn is_verified(app: &TestApp, org: &str, owner: &str, id: &str) -> bool {
    let domain = expect_status(app.get(&format!("/v1/orgs/{org}/domains/{id}"), owner).await, StatusCode::OK).await;
    domain["status"] == "verified"
}
