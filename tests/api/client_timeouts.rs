//! A slow client is answered 408 and let go, within the client timeout, instead of being
//! kept: one that trickles its body, and one that never finishes its request's head.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

/// Sends `start` and then nothing, and reads what the server answers until it hangs up.
async fn stall(app: &TestApp, start: String) -> (String, Duration) {
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    stream.write_all(start.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut answer))
        .await
        .expect("the server lets a stalled client go")
        .unwrap();
    (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_are_answered_408_and_let_go() {
    let app = TestApp::spawn_with(|config| config.client_timeout = Duration::from_secs(1)).await;
    let owner = app.token("owner");

    let head = format!(
        "POST /v1/orgs HTTP/1.1\r\nHost: orgd\r\nAuthorization: Bearer {owner}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\": \"Slo"
    );
    let (answer, waited) = stall(&app, head).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(waited < Duration::from_secs(5), "let go after {waited:?}");
    assert_eq!(app.db.count("SELECT count(*) FROM organizations"), 0);

    // The same with an Idempotency-Key, whose body is read before the route's.
    let keyed = format!(
        "POST /v1/orgs HTTP/1.1\r\nHost: orgd\r\nAuthorization: Bearer {owner}\r\nIdempotency-Key: k\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    let (answer, _) = stall(&app, keyed).await;
    assert!(answer.starts_with("HTTP/1.1 408") && answer.contains("request_timeout"), "{answer}");

    let (answer, waited) = stall(&app, "GET /healthz HTTP/1.1\r\nHost: orgd\r\n".to_owned()).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(waited < Duration::from_secs(5), "let go after {waited:?}");
}
