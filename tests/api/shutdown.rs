//! SIGTERM: the server stops taking connections, finishes what is in flight and exits 0.

use std::time::Duration;

use diesel::{Connection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{claims_token, org_uuid, LoggedServer, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_0() {
    let app = TestApp::spawn().await;
    let url = app.db.url().to_owned();
    let mut server = tokio::task::spawn_blocking(move || LoggedServer::start(&url, "text")).await.unwrap();
    let client = reqwest::Client::new();
    let owner = claims_token("owner", json!({}));
    let created: Value = client
        .post(format!("{}/v1/orgs", server.base))
        .bearer_auth(&owner)
        .json(&json!({ "name": "Draining" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let org = created["id"].as_str().unwrap().to_owned();

    // A transaction elsewhere holds the organization's row, so the rename below waits in
    // flight until it lets go.
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let db_url = app.db.url().to_owned();
    let uuid = org_uuid(&org);
    let holder = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&db_url).unwrap();
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::sql_query(format!("SELECT 1 FROM organizations WHERE id = '{uuid}' FOR UPDATE")).execute(conn)?;
            held_tx.send(()).unwrap();
            hold_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    held_rx.recv().unwrap();
    let rename = tokio::spawn({
        let (client, base, owner, org) = (client.clone(), server.base.clone(), owner.clone(), org.clone());
        async move {
            client
                .patch(format!("{base}/v1/orgs/{org}"))
                .bearer_auth(&owner)
                .json(&json!({ "name": "Drained" }))
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    // No new connection is taken once the signal arrived.
    let fresh = reqwest::Client::new().get(format!("{}/healthz", server.base)).send().await;
    assert!(fresh.is_err(), "a new request after SIGTERM must not be served: {fresh:?}");
    hold_tx.send(()).unwrap();
    holder.join().unwrap();
    let renamed = rename.await.unwrap().expect("the request in flight is answered");
    assert_eq!(renamed.status(), StatusCode::OK);
    let exit = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                break (status, server);
            }
            assert!(started.elapsed() < Duration::from_secs(30), "orgd did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    assert!(exit.0.success(), "exit status {:?}; log:\n{}", exit.0, exit.1.log());
    let name = app.db.count(&format!("SELECT count(*) FROM organizations WHERE id = '{uuid}' AND name = 'Drained'"));
    assert_eq!(name, 1, "the drained request's change is committed");
}
