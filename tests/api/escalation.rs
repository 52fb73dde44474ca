//! Privilege escalation, tried as an attacker would: owners made or unmade by anyone but an
//! owner who is a person, and invites that outlive their inviter's rights.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect_problem, expect_status, TestApp};

/// Who tries to make or unmake an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Challenger {
    Owner,
    Admin,
    /// A member whose custom role holds every permission in the catalogue.
    EveryPermissionRole,
    /// An API key holding every permission in the catalogue, minted by an owner.
    EveryPermissionKey,
}

const CHALLENGERS: [Challenger; 4] =
    [Challenger::Owner, Challenger::Admin, Challenger::EveryPermissionRole, Challenger::EveryPermissionKey];

/// An organization with a second owner, a plain member, a custom role `held` that the
/// plain member holds, and a challenger's credential.
struct Stage {
    org: String,
    owner: String,
    challenger: String,
    second_owner: String,
    plain: String,
    held_role: String,
}

pub(crate) async fn every_permission(app: &TestApp) -> Vec<String> {
    let catalogue = expect_status(app.request(Method::GET, "/v1/permissions", None, None).await, StatusCode::OK).await;
    catalogue["data"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
}

async fn member_id(app: &TestApp, org: &str, owner: &str, name: &str) -> String {
    let found = expect_status(app.get(&format!("/v1/orgs/{org}/members?q={name}"), owner).await, StatusCode::OK).await;
    found["data"][0]["id"].as_str().unwrap().to_owned()
}

async fn stage(app: &TestApp, case: &str, who: Challenger) -> Stage {
    let owner = app.token(&format!("{case}-owner"));
    let org = app.create_org(&owner, &format!("Escalation {case}")).await;
    app.seed_members(&org, &format!("{case}-second"), 1, "owner");
    app.seed_members(&org, &format!("{case}-admin"), 1, "admin");
    app.seed_members(&org, &format!("{case}-plain"), 1, "member");
    let all = every_permission(app).await;
    let held = json!({ "key": "held", "name": "Held", "permissions": ["org:read"] });
    let held = expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, held).await, StatusCode::CREATED).await;
    let plain = member_id(app, &org, &owner, &format!("{case}-plain")).await;
    let hold = json!({ "role": "held" });
    expect_status(app.patch(&format!("/v1/orgs/{org}/members/{plain}"), &owner, hold).await, StatusCode::OK).await;
    let challenger = match who {
        Challenger::Owner => owner.clone(),
        Challenger::Admin => app.token(&format!("{case}-admin-1")),
        Challenger::EveryPermissionRole => {
            let root = json!({ "key": "root", "name": "Root", "permissions": all });
            expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, root).await, StatusCode::CREATED).await;
            app.seed_members(&org, &format!("{case}-root"), 1, "root");
            app.token(&format!("{case}-root-1"))
        }
        Challenger::EveryPermissionKey => {
            let key = json!({ "name": "everything", "permissions": all });
            let key =
                expect_status(app.post(&format!("/v1/orgs/{org}/api-keys"), &owner, key).await, StatusCode::CREATED)
                    .await;
            key["secret"].as_str().unwrap().to_owned()
        }
    };
    Stage {
        second_owner: member_id(app, &org, &owner, &format!("{case}-second")).await,
        held_role: held["id"].as_str().unwrap().to_owned(),
        plain,
        challenger,
        owner,
        org,
    }
}

/// Every way a role can change hands over HTTP: (what, method, path, body, success status).
fn role_changing_paths(s: &Stage) -> Vec<(&'static str, Method, String, Option<Value>, StatusCode)> {
    let org = &s.org;
    vec![
        (
            "promote a member to owner",
            Method::PATCH,
            format!("/v1/orgs/{org}/members/{}", s.plain),
            Some(json!({ "role": "owner" })),
            StatusCode::OK,
        ),
        (
            "demote an owner",
            Method::PATCH,
            format!("/v1/orgs/{org}/members/{}", s.second_owner),
            Some(json!({ "role": "member" })),
            StatusCode::OK,
        ),
        (
            "remove an owner",
            Method::DELETE,
            format!("/v1/orgs/{org}/members/{}", s.second_owner),
            None,
            StatusCode::NO_CONTENT,
        ),
        (
            "transfer ownership",
            Method::POST,
            format!("/v1/orgs/{org}/transfer-ownership"),
            Some(json!({ "member_id": s.plain })),
            StatusCode::OK,
        ),
        (
            "delete a role, reassigning its holders to owner",
            Method::DELETE,
            format!("/v1/orgs/{org}/roles/{}?reassign_to=owner", s.held_role),
            None,
            StatusCode::NO_CONTENT,
        ),
    ]
}

async fn owner_count(app: &TestApp, s: &Stage) -> usize {
    let owners =
        expect_status(app.get(&format!("/v1/orgs/{}/members?role=owner", s.org), &s.owner).await, StatusCode::OK).await;
    owners["data"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn only_an_owner_who_is_a_person_makes_unmakes_removes_or_transfers_an_owner() {
    let app = TestApp::spawn().await;
    let mut failures = Vec::new();
    for (index, who) in CHALLENGERS.into_iter().enumerate() {
        let paths = role_changing_paths(&stage(&app, &format!("probe{index}"), who).await).len();
        for path in 0..paths {
            let s = stage(&app, &format!("c{index}p{path}"), who).await;
            let (what, method, url, body, success) = role_changing_paths(&s).swap_remove(path);
            let response = app.request(method, &url, Some(&s.challenger), body).await;
            let status = response.status();
            let problem: Value = response.json().await.unwrap_or(Value::Null);
            let owners = owner_count(&app, &s).await;
            let ok = if who == Challenger::Owner {
                status == success
            } else {
                status == StatusCode::FORBIDDEN && problem["code"] == "owner_required" && owners == 2
            };
            if !ok {
                failures.push(format!("{who:?} tried to {what}: {status} {problem}, {owners} owner(s) after"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn no_invite_makes_an_owner_whoever_sends_it() {
    let app = TestApp::spawn().await;
    for (index, who) in CHALLENGERS.into_iter().enumerate() {
        let s = stage(&app, &format!("inv{index}"), who).await;
        let invite = json!({ "role": "owner", "max_uses": 5 });
        let response = app.post(&format!("/v1/orgs/{}/invites", s.org), &s.challenger, invite).await;
        expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "owner_not_invitable").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_with_every_permission_cannot_take_over_the_org() {
    let app = TestApp::spawn().await;
    let s = stage(&app, "takeover", Challenger::EveryPermissionKey).await;
    let first_owner = member_id(&app, &s.org, &s.owner, "takeover-owner").await;
    let promote = format!("/v1/orgs/{}/members/{}", s.org, s.plain);
    let promote = app.patch(&promote, &s.challenger, json!({ "role": "owner" })).await;
    expect_problem(promote, StatusCode::FORBIDDEN, "owner_required").await;
    let demote = format!("/v1/orgs/{}/members/{first_owner}", s.org);
    let demote = app.patch(&demote, &s.challenger, json!({ "role": "member" })).await;
    expect_problem(demote, StatusCode::FORBIDDEN, "owner_required").await;
    expect_problem(app.delete(&format!("/v1/orgs/{}", s.org), &s.challenger).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
    expect_status(app.get(&format!("/v1/orgs/{}", s.org), &s.owner).await, StatusCode::OK).await;
}

/// An org whose `recruiter` (custom role: invites, reads, no team rights) manages a team
/// and has made a 10-use link invite into that team.
struct Recruited {
    org: String,
    owner: String,
    recruiter: String,
    recruiter_role: String,
    team: String,
    invite_token: String,
}

async fn recruited(app: &TestApp, case: &str, inviter_role: &str, team_invite: bool) -> Recruited {
    let owner = app.token(&format!("{case}-owner"));
    let org = app.create_org(&owner, &format!("Recruiting {case}")).await;
    let permissions = ["org:read", "members:read", "teams:read", "llm:read", "invites:create", "invites:read"];
    let role = json!({ "key": "recruiter", "name": "Recruiter", "permissions": permissions });
    let role = expect_status(app.post(&format!("/v1/orgs/{org}/roles"), &owner, role).await, StatusCode::CREATED).await;
    app.seed_members(&org, &format!("{case}-inviter"), 1, inviter_role);
    let recruiter = member_id(app, &org, &owner, &format!("{case}-inviter")).await;
    let team = json!({ "name": "Hires" });
    let team = expect_status(app.post(&format!("/v1/orgs/{org}/teams"), &owner, team).await, StatusCode::CREATED).await;
    let team = team["id"].as_str().unwrap().to_owned();
    let seat = json!({ "member_id": recruiter, "is_manager": true });
    expect_status(app.post(&format!("/v1/orgs/{org}/teams/{team}/members"), &owner, seat).await, StatusCode::CREATED)
        .await;
    let mut invite = json!({ "role": "member", "max_uses": 10 });
    if team_invite {
        invite["team_id"] = json!(team);
    }
    let inviter = app.token(&format!("{case}-inviter-1"));
    let invite =
        expect_status(app.post(&format!("/v1/orgs/{org}/invites"), &inviter, invite).await, StatusCode::CREATED).await;
    Recruited {
        invite_token: invite["token"].as_str().unwrap().to_owned(),
        recruiter_role: role["id"].as_str().unwrap().to_owned(),
        recruiter,
        team,
        owner,
        org,
    }
}

async fn accept(app: &TestApp, token: &str, who: &str) -> reqwest::Response {
    app.post(&format!("/v1/invites/{token}/accept"), &app.token(who), json!({})).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invite_stops_working_when_its_inviter_loses_the_rights_it_hands_out() {
    let app = TestApp::spawn().await;
    type Loss = fn(&Recruited) -> (Method, String, Option<Value>);
    let losses: &[(&str, &str, bool, Loss)] = &[
        ("an admin demoted to member", "admin", false, |r| {
            (Method::PATCH, format!("/v1/orgs/{}/members/{}", r.org, r.recruiter), Some(json!({ "role": "member" })))
        }),
        ("the inviter's custom role loses invites:create", "recruiter", false, |r| {
            let reads = ["org:read", "members:read", "teams:read", "llm:read", "invites:read"];
            let path = format!("/v1/orgs/{}/roles/{}", r.org, r.recruiter_role);
            (Method::PATCH, path, Some(json!({ "permissions": reads })))
        }),
        ("the inviter's team-manager flag is taken away", "recruiter", true, |r| {
            let path = format!("/v1/orgs/{}/teams/{}/members/{}/manager", r.org, r.team, r.recruiter);
            (Method::PUT, path, Some(json!({ "is_manager": false })))
        }),
        ("the inviter is removed", "recruiter", false, |r| {
            (Method::DELETE, format!("/v1/orgs/{}/members/{}", r.org, r.recruiter), None)
        }),
    ];
    for (index, (loss, inviter_role, team_invite, take_away)) in losses.iter().enumerate() {
        let case = format!("loss{index}");
        let r = recruited(&app, &case, inviter_role, *team_invite).await;
        let joined = expect_status(accept(&app, &r.invite_token, &format!("{case}-early")).await, StatusCode::OK).await;
        assert_eq!(joined["role"], "member", "{loss}: the invite works while its inviter may");
        let (method, path, body) = take_away(&r);
        let response = app.request(method, &path, Some(&r.owner), body).await;
        assert!(response.status().is_success(), "{loss}: {}", response.text().await.unwrap());
        let late = accept(&app, &r.invite_token, &format!("{case}-late")).await;
        expect_problem(late, StatusCode::GONE, "invite_invalid").await;
        let late_member = app.get(&format!("/v1/orgs/{}", r.org), &app.token(&format!("{case}-late"))).await;
        assert_eq!(late_member.status(), StatusCode::NOT_FOUND, "{loss}: nobody was admitted");
    }
}
