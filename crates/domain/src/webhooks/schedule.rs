//! When a failed delivery is tried again, and when it is given up.

use chrono::{DateTime, Duration, Utc};

/// A delivery failing for this long is given up, and its webhook turned off.
pub const GIVE_UP_AFTER_HOURS: i64 = 72;

/// The waits after each failed attempt (the first attempt is at once); the last repeats.
const BACKOFF_SECS: [i64; 8] = [5, 60, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600];
/// The most `Retry-After` may push an attempt back.
const MAX_RETRY_AFTER_SECS: i64 = 3600;

/// What the endpoint said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Accepted,
    /// 410: the endpoint is gone for good.
    Gone,
    /// Anything else: another status (with its `Retry-After`, in seconds), a timeout, a
    /// refused address.
    Failed {
        /// The endpoint's `Retry-After`, in seconds, when it sent one.
        retry_after_secs: Option<u64>,
    },
}

/// What becomes of the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The endpoint accepted it.
    Delivered,
    /// Try again at this instant.
    RetryAt(DateTime<Utc>),
    /// Given up; the webhook is turned off with this reason.
    GiveUp(&'static str),
}

/// The verdict on attempt number `attempts` (1 for the first) of a delivery first tried at
/// `first_at`, with every wait multiplied by `scale` (1 in production; tests shrink it). `jitter` in [0, 1) spreads retries of many deliveries over ±20 % of the wait,
/// so that an endpoint coming back is not hit by all of them at once.
pub fn next_attempt(
    outcome: Outcome,
    attempts: usize,
    first_at: DateTime<Utc>,
    now: DateTime<Utc>,
    scale: f64,
    jitter: f64,
) -> Verdict {
    let retry_after_secs = match outcome {
        Outcome::Accepted => return Verdict::Delivered,
        Outcome::Gone => return Verdict::GiveUp("gone"),
        Outcome::Failed { retry_after_secs } => retry_after_secs,
    };
    let base = BACKOFF_SECS[attempts.saturating_sub(1).min(BACKOFF_SECS.len() - 1)] as f64;
    let wait = base * scale * (0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    let asked = retry_after_secs.map_or(0.0, |s| s.min(MAX_RETRY_AFTER_SECS as u64) as f64 * scale);
    let wait_ms = (wait.max(asked) * 1000.0).round() as i64;
    let at = now + Duration::milliseconds(wait_ms.max(1));
    let give_up_ms = (Duration::hours(GIVE_UP_AFTER_HOURS).num_milliseconds() as f64 * scale) as i64;
    if (at - first_at).num_milliseconds() > give_up_ms {
        Verdict::GiveUp("failing")
    } else {
        Verdict::RetryAt(at)
    }
}
