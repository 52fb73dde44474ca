//! Load is shed, not suffered: every request counts against its client address and its
//! credential, with tighter limits on invite links (guessable by volume) and on SCIM (an
//! identity provider in a loop). The counting is `governor`'s GCRA; this module only says
//! what is counted against what, and answers 429 with `Retry-After` and `RateLimit` headers.

use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::error::ApiError;
use crate::routes::scim_v2::{ScimApiError, SCIM_ROOT};

/// One limit: so many requests a minute, of which `burst` may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Rate {
    /// `per_minute` requests a minute, a quarter of them at once; `None` for 0 (no limit).
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_minute)?;
        Some(Self { per_minute: rate, burst: NonZeroU32::new(per_minute / 4).unwrap_or(NonZeroU32::MIN) })
    }
}

/// The limits in force; `None` turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client address, every route but the probes.
    pub per_ip: Option<Rate>,
    /// Per bearer credential (a person's token, an API key), every `/v1` route.
    pub per_credential: Option<Rate>,
    /// Per client address, on invite links (`/v1/invites/…`): tokens are not guessable, and
    /// this keeps anyone from trying.
    pub invites: Option<Rate>,
    /// Per SCIM token, on `/scim/v2`.
    pub scim: Option<Rate>,
}

impl RateLimits {
    pub const DEFAULT_PER_IP: u32 = 120_000;
    pub const DEFAULT_PER_CREDENTIAL: u32 = 60_000;
    pub const DEFAULT_INVITES: u32 = 60;
    pub const DEFAULT_SCIM: u32 = 6_000;

    pub fn off() -> Self {
        Self { per_ip: None, per_credential: None, invites: None, scim: None }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_ip: Rate::per_minute(Self::DEFAULT_PER_IP),
            per_credential: Rate::per_minute(Self::DEFAULT_PER_CREDENTIAL),
            invites: Rate::per_minute(Self::DEFAULT_INVITES),
            scim: Rate::per_minute(Self::DEFAULT_SCIM),
        }
    }
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// One limit with its counters.
struct Limiter<K: Hash + Eq + Clone> {
    rate: Rate,
    counters: Keyed<K>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(rate: Option<Rate>) -> Option<Self> {
        let rate = rate?;
        let quota = Quota::per_minute(rate.per_minute).allow_burst(rate.burst);
        Some(Self { rate, counters: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>() })
    }

    fn check(&self, key: &K) -> Verdict {
        match self.counters.check_key(key) {
            Ok(state) => Verdict::Allowed { limit: self.rate, remaining: state.remaining_burst_capacity() },
            Err(refused) => Verdict::Refused {
                limit: self.rate,
                retry_after: refused.wait_time_from(DefaultClock::default().now()),
            },
        }
    }
}

enum Verdict {
    Allowed { limit: Rate, remaining: u32 },
    Refused { limit: Rate, retry_after: Duration },
}

/// What a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Probes, the document and its UI: never limited.
    Exempt,
    Invite,
    Scim,
    Api,
}

fn classify(path: &str) -> Class {
    if path.starts_with("/v1/invites/") {
        Class::Invite
    } else if path == SCIM_ROOT || path.starts_with(&format!("{SCIM_ROOT}/")) {
        Class::Scim
    } else if path.starts_with("/v1/") {
        Class::Api
    } else {
        Class::Exempt
    }
}

/// Every limit's counters; shared by the workers of one server.
pub struct RateLimiters {
    per_ip: Option<Limiter<IpAddr>>,
    per_credential: Option<Limiter<u64>>,
    invites: Option<Limiter<IpAddr>>,
    scim: Option<Limiter<u64>>,
    /// Keys credentials by a hash seeded at start-up, so the counters hold no credential
    /// and nobody can aim two credentials at one counter.
    seed: std::collections::hash_map::RandomState,
    checks: AtomicU64,
    trust_forwarded_for: bool,
}

/// Counters of keys not seen for a while are dropped this often (in checks).
const PRUNE_EVERY: u64 = 1 << 14;

impl RateLimiters {
    pub fn new(limits: RateLimits, trust_forwarded_for: bool) -> Self {
        Self {
            per_ip: Limiter::new(limits.per_ip),
            per_credential: Limiter::new(limits.per_credential),
            invites: Limiter::new(limits.invites),
            scim: Limiter::new(limits.scim),
            seed: std::collections::hash_map::RandomState::new(),
            checks: AtomicU64::new(0),
            trust_forwarded_for,
        }
    }

    fn credential_key(&self, req: &ServiceRequest) -> Option<u64> {
        let value = req.headers().get(header::AUTHORIZATION)?;
        Some(self.seed.hash_one(value.as_bytes()))
    }

    /// Every limit the request falls under, tightest verdict first: the first refusal, else
    /// the allowance with the least left.
    fn judge(&self, req: &ServiceRequest) -> Option<Verdict> {
        let class = classify(req.path());
        if class == Class::Exempt {
            return None;
        }
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
        let client_ip = crate::auth::client_ip(req.request(), self.trust_forwarded_for);
        let mut verdicts = Vec::with_capacity(3);
        if let (Some(limiter), Some(ip)) = (&self.per_ip, client_ip) {
            verdicts.push(limiter.check(&ip));
        }
        if let (Class::Invite, Some(limiter), Some(ip)) = (class, &self.invites, client_ip) {
            verdicts.push(limiter.check(&ip));
        }
        let credential_limiter = if class == Class::Scim { &self.scim } else { &self.per_credential };
        if let (Some(limiter), Some(key)) = (credential_limiter, self.credential_key(req)) {
            verdicts.push(limiter.check(&key));
        }
        verdicts.into_iter().min_by_key(|v| match v {
            Verdict::Refused { .. } => (0, 0),
            Verdict::Allowed { remaining, .. } => (1, *remaining),
        })
    }

    fn prune(&self) {
        for limiter in [&self.per_ip, &self.invites].into_iter().flatten() {
            limiter.counters.retain_recent();
        }
        for limiter in [&self.per_credential, &self.scim].into_iter().flatten() {
            limiter.counters.retain_recent();
        }
    }
}

/// `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers) for a limit.
fn rate_limit_headers(limit: Rate, remaining: u32, reset: Duration) -> [(HeaderName, String); 2] {
    [
        (HeaderName::from_static("ratelimit-policy"), format!("\"default\";q={};w=60", limit.per_minute)),
        (
            HeaderName::from_static("ratelimit"),
            format!("\"default\";r={remaining};t={}", reset.as_secs_f64().ceil() as u64),
        ),
    ]
}

fn refusal(req: &ServiceRequest, limit: Rate, retry_after: Duration) -> HttpResponse {
    let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let detail = format!("too many requests; retry after {seconds} s");
    let mut response = if classify(req.path()) == Class::Scim {
        ScimApiError::new(StatusCode::TOO_MANY_REQUESTS, None, detail).error_response()
    } else {
        ApiError::rate_limited(detail).error_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        headers.insert(header::RETRY_AFTER, value);
    }
    for (name, value) in rate_limit_headers(limit, 0, retry_after) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// The middleware: counts the request, refuses it with 429 past a limit, and tells every
/// answer how much of the tightest limit is left.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(limiters) = req.app_data::<web::Data<RateLimiters>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    };
    match limiters.judge(&req) {
        None => next.call(req).await.map(ServiceResponse::map_into_left_body),
        Some(Verdict::Refused { limit, retry_after }) => {
            let response = refusal(&req, limit, retry_after);
            Ok(req.into_response(response).map_into_right_body())
        }
        Some(Verdict::Allowed { limit, remaining }) => {
            let mut response = next.call(req).await?;
            let window = Duration::from_secs(60) / limit.per_minute.get();
            let reset = window * (limit.burst.get().saturating_sub(remaining));
            for (name, value) in rate_limit_headers(limit, remaining, reset) {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
            Ok(response.map_into_left_body())
        }
    }
}
