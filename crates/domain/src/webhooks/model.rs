use chrono::{DateTime, Utc};

use crate::ids::{DeliveryId, EventId, OrgId, WebhookId};
use crate::sso::Sealed;

/// The most webhooks an organization holds.
pub const MAX_WEBHOOKS_PER_ORG: usize = 20;
/// The longest a rotated-away secret keeps signing beside the new one.
pub const SECRET_OVERLAP_MAX_HOURS: i64 = 72;

/// An endpoint and what it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub org_id: OrgId,
    pub url: String,
    /// Event types or `prefix.*` patterns; every event when empty.
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Why the service turned it off (`gone`, `failing`); `None` when enabled or turned off
    /// by a person.
    pub disabled_reason: Option<String>,
    pub secrets: WebhookSecrets,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The signing secrets, sealed: the current one, and the rotated-away one until it retires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSecrets {
    pub current: Sealed,
    pub previous: Option<(Sealed, DateTime<Utc>)>,
}

/// A webhook as a client asks for it.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// A change of a webhook; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub if_match: Option<i64>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    Delivered,
    /// Given up: three days of failures, or the endpoint is gone.
    Failed,
}

impl DeliveryStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The endpoint's status, `None` when none came (refused address, timeout, no route).
    pub status: Option<u16>,
    /// The start of the endpoint's answer, or why there was none.
    pub detail: String,
    pub duration_ms: i64,
}

/// One event's delivery to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub org_id: OrgId,
    /// Also the `webhook-id` header: the same on every attempt and re-delivery.
    pub event_id: EventId,
    pub event_type: String,
    pub event_seq: i64,
    pub status: DeliveryStatus,
    pub attempts: Vec<Attempt>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The current run of attempts (a re-send starts a new one): since when, and how many.
    pub retry_started_at: Option<DateTime<Utc>>,
    pub retries: u32,
    /// While a worker attempts it: until when it holds it.
    pub leased_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The port that tells whether an endpoint may be called: an address on the public
/// internet, not one inside the platform's network (loopback, private, link-local, cloud
/// metadata), unless the operator allows those. Asked when a URL is saved and again before
/// every attempt, since what a name resolves to changes.
pub trait DestinationGuard: Send + Sync {
    /// `Err` says why the URL is refused.
    fn admit(&self, url: &url::Url) -> Result<(), String>;
}
