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
    policy: Policy,
    counters: Keyed<K>,
}

/// A limit as the `RateLimit` headers name it.
#[derive(Debug, Clone, Copy)]
struct Policy {
    name: &'static str,
    rate: Rate,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(name: &'static str, rate: Option<Rate>) -> Option<Self> {
        let rate = rate?;
        let quota = Quota::per_minute(rate.per_minute).allow_burst(rate.burst);
        let counters = RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>();
        Some(Self { policy: Policy { name, rate }, counters })
    }

    fn check(&self, key: &K) -> Verdict {
        match self.counters.check_key(key) {
            Ok(state) => Verdict::Allowed { policy: self.policy, remaining: state.remaining_burst_capacity() },
            Err(refused) => Verdict::Refused {
                policy: self.policy,
                retry_after: refused.wait_time_from(DefaultClock::default().now()),
            },
        }
    }
}

/// Marks a response as a limit's refusal, for the metrics; `scope` is the limit's name as
/// `RateLimit-Policy` gives it: `ip`, `credential`, `invites` or `scim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub scope: &'static str,
}

enum Verdict {
    Allowed { policy: Policy, remaining: u32 },
    Refused { policy: Policy, retry_after: Duration },
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

/// What a client address is counted as: an IPv6 client by its /64 (one subscriber holds a
/// whole /64), and clients whose address is unknown (no usable `X-Forwarded-For` behind a
/// trusted proxy) all together.
fn client_key(ip: Option<IpAddr>) -> IpAddr {
    match ip {
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(prefix))
        }
        Some(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        Some(v4) => v4,
        None => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
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
            per_ip: Limiter::new("ip", limits.per_ip),
            per_credential: Limiter::new("credential", limits.per_credential),
            invites: Limiter::new("invites", limits.invites),
            scim: Limiter::new("scim", limits.scim),
            seed: std::collections::hash_map::RandomState::new(),
            checks: AtomicU64::new(0),
            trust_forwarded_for,
        }
    }

    /// The credential as authentication reads it: one credential is one count, however its
    /// header is spelled. A header that is no bearer credential counts as itself.
    fn credential_key(&self, req: &ServiceRequest) -> Option<u64> {
        match crate::auth::bearer_token(req.request()) {
            Ok(token) => Some(self.seed.hash_one(token.as_bytes())),
            Err(_) => req.headers().get(header::AUTHORIZATION).map(|v| self.seed.hash_one(v.as_bytes())),
        }
    }

    /// Every limit the request falls under, tightest verdict first: the first refusal, else
    /// the allowance with the least left.
    fn judge(&self, req: &ServiceRequest) -> Option<Verdict> {
        // The path as the router reads it, percent-decoded: `/v%31/orgs` is `/v1/orgs`.
        let class = classify(req.match_info().as_str());
        if class == Class::Exempt {
            return None;
        }
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
        let client = client_key(crate::auth::client_ip(req.request(), self.trust_forwarded_for));
        let mut verdicts = Vec::with_capacity(3);
        if let Some(limiter) = &self.per_ip {
            verdicts.push(limiter.check(&client));
        }
        if let (Class::Invite, Some(limiter)) = (class, &self.invites) {
            verdicts.push(limiter.check(&client));
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

/// `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers) for a limit:
/// `q` requests at once, refilled over `w` seconds (the burst, at the per-minute rate).
fn rate_limit_headers(policy: Policy, remaining: u32, reset: Duration) -> [(HeaderName, String); 2] {
    let Policy { name, rate } = policy;
    let window = (u64::from(rate.burst.get()) * 60).div_ceil(u64::from(rate.per_minute.get())).max(1);
    [
        (HeaderName::from_static("ratelimit-policy"), format!("\"{name}\";q={};w={window}", rate.burst)),
        (
            HeaderName::from_static("ratelimit"),
            format!("\"{name}\";r={remaining};t={}", reset.as_secs_f64().ceil() as u64),
        ),
    ]
}

fn refusal(req: &ServiceRequest, policy: Policy, retry_after: Duration) -> HttpResponse {
    let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let detail = format!("too many requests; retry after {seconds} s");
    let mut response = if classify(req.match_info().as_str()) == Class::Scim {
        ScimApiError::new(StatusCode::TOO_MANY_REQUESTS, None, detail).error_response()
    } else {
        ApiError::rate_limited(detail).error_response()
    };
    response.extensions_mut().insert(Refused { scope: policy.name });
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        headers.insert(header::RETRY_AFTER, value);
    }
    for (name, value) in rate_limit_headers(policy, 0, retry_after) {
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
        Some(Verdict::Refused { policy, retry_after }) => {
            let response = refusal(&req, policy, retry_after);
            Ok(req.into_response(response).map_into_right_body())
        }
        Some(Verdict::Allowed { policy, remaining }) => {
            let mut response = next.call(req).await?;
            let interval = Duration::from_secs(60) / policy.rate.per_minute.get();
            let reset = interval * (policy.rate.burst.get().saturating_sub(remaining));
            for (name, value) in rate_limit_headers(policy, remaining, reset) {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
            Ok(response.map_into_left_body())
        }
    }
}
