use std::future::{ready, Ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use orgd_domain::token::{ApiKeyToken, ScimToken};
use orgd_domain::{ApiKeyCredential, Caller, Principal, RequestMeta};
use tracing_actix_web::RequestId;

use super::jwt::TokenError;
use crate::error::ApiError;
use crate::state::AppState;

const MAX_USER_AGENT_CHARS: usize = 512;

/// The caller of a request: a verified user token, or an API key to be checked in the use
/// case's transaction. Extracting it refuses the request with 401 when the bearer token is
/// missing, malformed or not accepted.
pub struct Authenticated(pub Caller);

/// The request facts recorded with every audit event.
pub fn request_meta(req: &HttpRequest, trust_forwarded_for: bool) -> RequestMeta {
    let request_id = req.extensions().get::<RequestId>().map(ToString::to_string).unwrap_or_default();
    let client_ip = client_ip(req, trust_forwarded_for);
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect());
    let route = req.match_pattern().map(|pattern| format!("{} {pattern}", req.method()));
    RequestMeta { request_id, client_ip, user_agent, route }
}

/// The client's address: the peer's, or behind a trusted proxy the one it saw. Behind the
/// proxy the peer is the proxy itself: without a usable forwarded entry the client is
/// unknown (which an IP allowlist refuses), never the proxy's own address.
pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        forwarded_client(req)
    } else {
        req.peer_addr().map(|a| a.ip())
    }
}

/// The address the trusted proxy saw: the *last* `X-Forwarded-For` entry, which that proxy
/// appended. Earlier entries come from the client and can be forged.
fn forwarded_client(req: &HttpRequest) -> Option<IpAddr> {
    let header = req.headers().get_all("x-forwarded-for").last()?.to_str().ok()?;
    let last = header.rsplit(',').next()?.trim();
    last.parse::<IpAddr>().ok().or_else(|| last.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

/// The credential of `Authorization: Bearer <credential>`, however the scheme is cased and
/// spaced.
pub(crate) fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthenticated("unauthenticated", "send `Authorization: Bearer <token>`"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthenticated("invalid_token", "the Authorization header is not ASCII"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::unauthenticated("unauthenticated", "send `Authorization: Bearer <token>`")),
    }
}

pub(crate) fn authenticate(req: &HttpRequest) -> Result<Authenticated, ApiError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| ApiError::internal("application state missing"))?;
    let token = bearer_token(req)?;
    let principal = if ApiKeyToken::is_claimed_by(token) {
        // A malformed key is refused here, before any database work.
        let key = ApiKeyToken::parse(token)
            .map_err(|_| ApiError::unauthenticated("invalid_token", "the API key is malformed"))?;
        Principal::ApiKey(ApiKeyCredential { hashes: key.lookup_hashes(state.hasher()) })
    } else if ScimToken::is_claimed_by(token) {
        return Err(ApiError::unauthenticated(
            "invalid_token",
            "a SCIM token authenticates the SCIM endpoints only; send a user's token or an API key",
        ));
    } else {
        let identity = state.verifier().verify(token).map_err(|e| {
            let code = match e {
                TokenError::Expired => "token_expired",
                _ => "invalid_token",
            };
            ApiError::unauthenticated(code, e.to_string())
        })?;
        Principal::User(identity)
    };
    crate::telemetry::record_principal(req, &principal);
    Ok(Authenticated(Caller { principal, meta: request_meta(req, state.trust_forwarded_for()) }))
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}
