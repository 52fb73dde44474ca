//! `Idempotency-Key` on every authenticated POST that has an effect
//! (draft-ietf-httpapi-idempotency-key): the
//! request runs in one database transaction that its use cases join, and its successful
//! response is kept in that same transaction, so the effect and what its retries get back
//! commit together or not at all. A retry gets the kept response byte for byte with
//! `Idempotent-Replayed: true`; the rules are [`orgd_domain::idempotency`]'s.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use infra::OuterTransaction;
use orgd_domain::idempotency::{
    Begun, Fingerprint, IdempotencyKey, IdempotencyScope, InvalidIdempotencyKey, Presented, StoredResponse,
};
use orgd_domain::token::{ApiKeyToken, ScimToken};
use orgd_domain::Principal;

use crate::auth::{authenticate, bearer_token};
use crate::error::ApiError;
use crate::routes::scim_v2::{ScimApiError, SCIM_ROOT};
use crate::state::AppState;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// POSTs without an effect to repeat, which take no key: searches and policy checks only
/// read, and verifying a domain again answers as the first time did.
const WITHOUT_EFFECT: [&str; 3] = ["/.search", "/llm-policy/check", "/verify"];

/// Whether a POST to `path` honours `Idempotency-Key`.
pub fn takes_key(path: &str) -> bool {
    !WITHOUT_EFFECT.iter().any(|suffix| path.ends_with(suffix))
}

fn is_scim(path: &str) -> bool {
    path == SCIM_ROOT || path.starts_with(&format!("{SCIM_ROOT}/"))
}

/// The largest body the route itself accepts, which is as much as is read to fingerprint.
fn body_limit(path: &str) -> usize {
    if is_scim(path) {
        crate::routes::scim_v2::MAX_BODY_BYTES
    } else {
        crate::startup::JSON_LIMIT_BYTES
    }
}

/// The response headers a replay repeats: what describes the body and the resource. The
/// rest (rate limits, request id) belong to the replaying request.
const KEPT_HEADERS: [HeaderName; 4] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG, header::CONTENT_LOCATION];

tokio::task_local! {
    /// The transaction the use cases of the request being handled join.
    static OUTER: OuterTransaction;
}

/// The transaction the current request's use cases must join, if it holds a key.
pub fn joined_transaction() -> Option<OuterTransaction> {
    OUTER.try_with(Clone::clone).ok()
}

/// Whose keys the request's key is among, and the credential it presented; `None` without a
/// credential that could authenticate, which the route refuses anyway.
fn scope_of(req: &HttpRequest, state: &AppState) -> Option<(IdempotencyScope, Presented)> {
    let token = bearer_token(req).ok()?;
    if ScimToken::is_claimed_by(token) {
        let parsed = ScimToken::parse(token).ok()?;
        let presented = Presented::ScimToken(parsed.lookup_hashes(state.hasher()));
        return Some((IdempotencyScope::of_secret("scim_token", token), presented));
    }
    if ApiKeyToken::is_claimed_by(token) {
        let parsed = ApiKeyToken::parse(token).ok()?;
        let presented = Presented::ApiKey(parsed.lookup_hashes(state.hasher()));
        return Some((IdempotencyScope::of_secret("api_key", token), presented));
    }
    match authenticate(req).ok()?.0.principal {
        Principal::User(identity) => Some((IdempotencyScope::of_user(&identity.subject), Presented::User)),
        Principal::ApiKey(_) => None,
    }
}

fn refuse(req: &HttpRequest, error: ApiError) -> HttpResponse {
    if !is_scim(req.path()) {
        return error.error_response();
    }
    let in_flight = error.code() == "idempotency_key_in_flight";
    let mut response = ScimApiError::from(error).error_response();
    if in_flight {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

fn replay(kept: StoredResponse) -> HttpResponse {
    let mut response = HttpResponse::build(StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK));
    for (name, value) in &kept.headers {
        response.append_header((name.as_str(), value.as_str()));
    }
    response.insert_header((IDEMPOTENT_REPLAYED, HeaderValue::from_static("true")));
    response.body(kept.body)
}

/// What the first step decided.
enum Start {
    /// Run the request in this transaction.
    Run(OuterTransaction),
    Replay(StoredResponse),
}

fn pass_through<B: MessageBody + 'static>(response: ServiceResponse<B>) -> ServiceResponse<EitherBody<BoxBody>> {
    response.map_into_boxed_body().map_into_left_body()
}

fn answer(req: ServiceRequest, response: HttpResponse) -> ServiceResponse<EitherBody<BoxBody>> {
    req.into_response(response).map_into_right_body()
}

fn refusal(req: ServiceRequest, error: ApiError) -> ServiceResponse<EitherBody<BoxBody>> {
    let response = refuse(req.request(), error);
    answer(req, response)
}

/// The middleware. A POST without the header, or whose credential does not authenticate,
/// passes through untouched.
pub async fn replay_or_keep(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, actix_web::Error> {
    let header = req.headers().get(IDEMPOTENCY_KEY).cloned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let keyed = req.method() == Method::POST && takes_key(req.path());
    let (Some(header), Some(state), true) = (header, state, keyed) else {
        return next.call(req).await.map(pass_through);
    };
    let key = match header.to_str().map_err(|_| InvalidIdempotencyKey).and_then(IdempotencyKey::parse) {
        Ok(key) => key,
        Err(invalid) => return Ok(refusal(req, invalid.into())),
    };
    let Some((scope, presented)) = scope_of(req.request(), &state) else {
        return next.call(req).await.map(pass_through);
    };
    let body = match read_body(&mut req).await {
        Ok(body) => body,
        Err(error) => return Ok(refusal(req, error)),
    };
    let target = req.uri().path_and_query().map_or_else(|| req.path().to_owned(), ToString::to_string);
    let fingerprint = Fingerprint::of(req.method().as_str(), &target, &body);
    req.set_payload(Payload::from(body));

    let start = {
        let (scope, key, fingerprint) = (scope.clone(), key.clone(), fingerprint.clone());
        state.blocking(move |services| -> Result<Start, ApiError> {
            let outer = services.store.begin_outer()?;
            let begun = outer.join(|| services.idempotency.begin(&scope, &key, &fingerprint, &presented));
            if !matches!(begun, Ok(Begun::Fresh)) {
                // Read only; a failure to end it leaves the pool to discard the connection.
                let _ = outer.clone().rollback();
            }
            match begun? {
                Begun::Fresh => Ok(Start::Run(outer)),
                Begun::Replay(kept) => Ok(Start::Replay(kept)),
            }
        })
    };
    let outer = match start.await.and_then(|started| started) {
        Ok(Start::Run(outer)) => outer,
        Ok(Start::Replay(kept)) => return Ok(answer(req, replay(kept))),
        Err(error) => return Ok(refusal(req, error)),
    };

    let response = match OUTER.scope(outer.clone(), next.call(req)).await {
        Ok(response) if response.status().is_success() => response,
        failed => {
            roll_back(&state, outer).await;
            return failed.map(pass_through);
        }
    };
    let (http_req, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let failed =
        |error: ApiError| ServiceResponse::new(http_req.clone(), refuse(&http_req, error)).map_into_right_body();
    let Ok(bytes) = actix_web::body::to_bytes(body).await else {
        roll_back(&state, outer).await;
        return Ok(failed(ApiError::internal("the response body could not be read to keep it")));
    };
    let kept = StoredResponse {
        status: head.status().as_u16(),
        headers: KEPT_HEADERS
            .iter()
            .flat_map(|name| head.headers().get_all(name).map(move |value| (name, value)))
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect(),
        body: bytes.to_vec(),
    };
    let committed = state
        .blocking(move |services| -> Result<(), ApiError> {
            outer.join(|| services.idempotency.keep(&scope, &key, &fingerprint, &kept))?;
            Ok(outer.commit()?)
        })
        .await
        .and_then(|committed| committed);
    match committed {
        Ok(()) => Ok(ServiceResponse::new(http_req.clone(), head.set_body(BoxBody::new(bytes))).map_into_right_body()),
        // Nothing of the request took effect: its retry runs it again.
        Err(error) => Ok(failed(error)),
    }
}

/// Ends a request that had no effect, off the async executor; a failure leaves the pool to
/// discard the connection, which ends the transaction on the server.
async fn roll_back(state: &AppState, outer: OuterTransaction) {
    match state.blocking(move |_| outer.rollback()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "rolling back an idempotent request failed"),
        Err(error) => tracing::warn!(error = %error.detail(), "rolling back an idempotent request failed"),
    }
}

async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, ApiError> {
    let limit = body_limit(req.path());
    use actix_web::HttpMessage;
    use futures_util::StreamExt;
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match crate::client_timeout::timed_out(&e) {
            true => ApiError::request_timeout(),
            false => ApiError::bad_request("malformed_request", format!("the body cannot be read: {e}")),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
                format!("the body exceeds {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
