//! A slow client is let go rather than kept: the head of a request must arrive within the
//! client timeout (actix-web's `client_request_timeout`, answered 408 by the server), and its
//! body within the same time again, else the route reading it answers 408 `request_timeout`.
//! No worker ever waits on a client (they are asynchronous); this bounds how long a
//! connection and its buffered bytes are held.

use std::io;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use futures_util::StreamExt;

/// How long a request's body may take to arrive, counted from when the route is reached.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub Duration);

/// Whether reading a body failed because the client was too slow.
pub fn timed_out(err: &PayloadError) -> bool {
    matches!(err, PayloadError::Io(e) if e.kind() == io::ErrorKind::TimedOut)
}

/// The middleware: reading the body past the deadline fails as timed out.
pub async fn bound_body(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(limit) = req.app_data::<web::Data<BodyDeadline>>().map(|d| d.0) {
        let payload = req.take_payload();
        req.set_payload(with_deadline(payload, tokio::time::Instant::now() + limit));
    }
    next.call(req).await
}

fn with_deadline(payload: Payload, deadline: tokio::time::Instant) -> Payload {
    let chunks = futures_util::stream::unfold(Some(payload), move |payload| async move {
        let mut payload = payload?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(payload))),
            Ok(None) => None,
            Err(_) => {
                let late = io::Error::new(io::ErrorKind::TimedOut, "the body did not arrive within the client timeout");
                Some((Err(PayloadError::Io(late)), None))
            }
        }
    });
    let chunks: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<web::Bytes, PayloadError>>>> =
        Box::pin(chunks);
    Payload::from(chunks)
}
