use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect_problem, expect_status, TestApp};

struct Org {
    id: String,
    owner: String,
}

async fn org_with_people(app: &TestApp, people: &[&str]) -> Org {
    let owner = app.token("owner");
    let id = app.create_org(&owner, "Acme").await;
    for person in people {
        app.seed_members(&id, person, 1, "member");
    }
    Org { id, owner }
}

async fn member_id(app: &TestApp, org: &Org, name: &str) -> String {
    let found =
        expect_status(app.get(&format!("/v1/orgs/{}/members?q={name}", org.id), &org.owner).await, StatusCode::OK)
            .await;
    found["data"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lifecycle_of_a_team() {
    let app = TestApp::spawn().await;
    let org = org_with_people(&app, &["dev", "lead"]).await;
    let teams = format!("/v1/orgs/{}/teams", org.id);
    let created = expect_status(
        app.post(&teams, &org.owner, json!({ "name": "Platform", "description": "Runs the platform" })).await,
        StatusCode::CREATED,
    )
    .await;
    let team = created["id"].as_str().unwrap().to_owned();
    assert!(team.starts_with("team_"));
    assert_eq!((created["member_count"].as_u64(), created["external_id"].is_null()), (Some(0), true));
    let path = format!("{teams}/{team}");

    let dev = member_id(&app, &org, "dev-1").await;
    let lead = member_id(&app, &org, "lead-1").await;
    let added = expect_status(
        app.post(&format!("{path}/members"), &org.owner, json!({ "member_id": dev })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (added["id"].as_str(), added["is_manager"].as_bool(), added["email"].as_str()),
        (Some(dev.as_str()), Some(false), Some("dev-1@example.com"))
    );
    expect_status(
        app.post(&format!("{path}/members"), &org.owner, json!({ "member_id": lead, "is_manager": true })).await,
        StatusCode::CREATED,
    )
    .await;
    expect_problem(
        app.post(&format!("{path}/members"), &org.owner, json!({ "member_id": dev })).await,
        StatusCode::CONFLICT,
        "already_in_team",
    )
    .await;

    let detail = expect_status(app.get(&path, &org.owner).await, StatusCode::OK).await;
    assert_eq!(detail["member_count"], 2);
    let managers: Vec<&str> = detail["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["is_manager"] == true)
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(managers, vec!["lead-1"]);
    assert_eq!(detail["members"][0]["role"], "member", "each member shows their org role");

    let listed = expect_status(app.get(&teams, &org.owner).await, StatusCode::OK).await;
    assert_eq!(listed["data"][0]["member_count"], 2);

    let demoted = expect_status(
        app.request(
            reqwest::Method::PUT,
            &format!("{path}/members/{lead}/manager"),
            Some(&org.owner),
            Some(json!({ "is_manager": false })),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(demoted["is_manager"], false);
    let renamed = expect_status(
        app.patch(&path, &org.owner, json!({ "name": "Platform Eng", "description": null })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((renamed["name"].as_str(), renamed["description"].is_null()), (Some("Platform Eng"), true));
    expect_status(app.delete(&format!("{path}/members/{dev}"), &org.owner).await, StatusCode::NO_CONTENT).await;
    expect_problem(app.delete(&format!("{path}/members/{dev}"), &org.owner).await, StatusCode::NOT_FOUND, "not_found")
        .await;

    expect_status(app.delete(&path, &org.owner).await, StatusCode::NO_CONTENT).await;
    expect_problem(app.get(&path, &org.owner).await, StatusCode::NOT_FOUND, "not_found").await;
    let members =
        expect_status(app.get(&format!("/v1/orgs/{}/members", org.id), &org.owner).await, StatusCode::OK).await;
    assert_eq!(members["data"].as_array().unwrap().len(), 3, "deleting a team keeps the org's members");

    assert_eq!(
        app.audit_actions(&org.id),
        vec![
            "org.created",
            "team.created",
            "team.member_added",
            "team.member_added",
            "team.manager_changed",
            "team.updated",
            "team.member_removed",
            "team.deleted"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn team_managers_act_on_their_own_team_only() {
    let app = TestApp::spawn().await;
    let org = org_with_people(&app, &["lead", "dev", "new", "peer"]).await;
    let teams = format!("/v1/orgs/{}/teams", org.id);
    let core = expect_status(app.post(&teams, &org.owner, json!({ "name": "Core" })).await, StatusCode::CREATED).await
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let web = expect_status(app.post(&teams, &org.owner, json!({ "name": "Web" })).await, StatusCode::CREATED).await
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (lead, dev, new, peer) = (
        member_id(&app, &org, "lead-1").await,
        member_id(&app, &org, "dev-1").await,
        member_id(&app, &org, "new-1").await,
        member_id(&app, &org, "peer-1").await,
    );
    for (member, manager) in [(&lead, true), (&dev, false), (&peer, true)] {
        expect_status(
            app.post(
                &format!("{teams}/{core}/members"),
                &org.owner,
                json!({ "member_id": member, "is_manager": manager }),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let lead_token = app.token("lead-1");

    expect_status(
        app.post(&format!("{teams}/{core}/members"), &lead_token, json!({ "member_id": new })).await,
        StatusCode::CREATED,
    )
    .await;
    expect_status(app.delete(&format!("{teams}/{core}/members/{dev}"), &lead_token).await, StatusCode::NO_CONTENT)
        .await;

    let refused = [
        app.post(&format!("{teams}/{web}/members"), &lead_token, json!({ "member_id": dev })).await,
        app.post(&format!("{teams}/{core}/members"), &lead_token, json!({ "member_id": dev, "is_manager": true }))
            .await,
        app.delete(&format!("{teams}/{core}/members/{peer}"), &lead_token).await,
        app.request(
            reqwest::Method::PUT,
            &format!("{teams}/{core}/members/{new}/manager"),
            Some(&lead_token),
            Some(json!({ "is_manager": true })),
        )
        .await,
        app.patch(&format!("{teams}/{core}"), &lead_token, json!({ "name": "Lead's" })).await,
        app.delete(&format!("{teams}/{core}"), &lead_token).await,
    ];
    for response in refused {
        expect_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let plain = app.token("new-1");
    expect_problem(
        app.post(&format!("{teams}/{core}/members"), &plain, json!({ "member_id": dev })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn teams_hold_only_members_of_their_org() {
    let app = TestApp::spawn().await;
    let org = org_with_people(&app, &["dev"]).await;
    let bob = app.token("bob");
    let other = app.create_org(&bob, "Globex").await;
    let others = expect_status(app.get(&format!("/v1/orgs/{other}/members"), &bob).await, StatusCode::OK).await;
    let stranger = others["data"][0]["id"].as_str().unwrap().to_owned();
    let teams = format!("/v1/orgs/{}/teams", org.id);
    let team = expect_status(app.post(&teams, &org.owner, json!({ "name": "Core" })).await, StatusCode::CREATED).await
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_problem(
        app.post(&format!("{teams}/{team}/members"), &org.owner, json!({ "member_id": stranger })).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.post(&format!("{teams}/{team}/members"), &org.owner, json!({ "member_id": "garbage" })).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let bobs_team = expect_status(
        app.post(&format!("/v1/orgs/{other}/teams"), &bob, json!({ "name": "Core" })).await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect_problem(app.get(&format!("{teams}/{bobs_team}"), &org.owner).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    expect_problem(
        app.post(&teams, &org.owner, json!({ "name": "CORE" })).await,
        StatusCode::CONFLICT,
        "team_name_taken",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn leaving_or_removal_from_the_org_empties_team_seats() {
    let app = TestApp::spawn().await;
    let org = org_with_people(&app, &["dev", "ops"]).await;
    let teams = format!("/v1/orgs/{}/teams", org.id);
    let team = expect_status(app.post(&teams, &org.owner, json!({ "name": "Core" })).await, StatusCode::CREATED).await
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (dev, ops) = (member_id(&app, &org, "dev-1").await, member_id(&app, &org, "ops-1").await);
    for member in [&dev, &ops] {
        expect_status(
            app.post(&format!("{teams}/{team}/members"), &org.owner, json!({ "member_id": member })).await,
            StatusCode::CREATED,
        )
        .await;
    }
    expect_status(
        app.post(&format!("/v1/orgs/{}/leave", org.id), &app.token("dev-1"), json!({})).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    expect_status(app.delete(&format!("/v1/orgs/{}/members/{ops}", org.id), &org.owner).await, StatusCode::NO_CONTENT)
        .await;
    let detail = expect_status(app.get(&format!("{teams}/{team}"), &org.owner).await, StatusCode::OK).await;
    assert_eq!(detail["member_count"], 0);
    assert_eq!(detail["members"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn team_members_page_without_gaps() {
    let app = TestApp::spawn().await;
    let org = org_with_people(&app, &[]).await;
    app.seed_members(&org.id, "m", 12, "member");
    let teams = format!("/v1/orgs/{}/teams", org.id);
    let team = expect_status(app.post(&teams, &org.owner, json!({ "name": "All" })).await, StatusCode::CREATED).await
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let members = expect_status(
        app.get(&format!("/v1/orgs/{}/members?limit=100&q=m-", org.id), &org.owner).await,
        StatusCode::OK,
    )
    .await;
    for m in members["data"].as_array().unwrap() {
        expect_status(
            app.post(&format!("{teams}/{team}/members"), &org.owner, json!({ "member_id": m["id"] })).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut url = format!("{teams}/{team}/members?limit=5");
    loop {
        let page = expect_status(app.get(&url, &org.owner).await, StatusCode::OK).await;
        seen.extend(page["data"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("{teams}/{team}/members?limit=5&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<String> = (1..=12).map(|n| format!("m-{n}")).collect();
    assert_eq!(seen, expected);
}
