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
    /// The webhook's public id.
    pub id: WebhookId,
    /// The organization whose events it receives.
    pub org_id: OrgId,
    /// The endpoint, an `https` URL (or `http` where the operator allows it).
    pub url: String,
    /// Event types or `prefix.*` patterns; every event when empty.
    pub event_types: Vec<String>,
    /// What the endpoint is for, as its owners describe it.
    pub description: Option<String>,
    /// False while turned off: no new deliveries are made for it.
    pub enabled: bool,
    /// Why the service turned it off (`gone`, `failing`); `None` when enabled or turned off
    /// by a person.
    pub disabled_reason: Option<String>,
    /// Its signing secrets.
    pub secrets: WebhookSecrets,
    /// Bumped by every change; the webhook's ETag.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The signing secrets, sealed: the current one, and the rotated-away one until it retires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSecrets {
    /// The secret every delivery is signed with.
    pub current: Sealed,
    /// The rotated-away secret and until when it also signs, so receivers can switch over.
    pub previous: Option<(Sealed, DateTime<Utc>)>,
}

/// A webhook as a client asks for it.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    /// The endpoint.
    pub url: String,
    /// Event types or `prefix.*` patterns; every event when empty.
    pub event_types: Vec<String>,
    /// What the endpoint is for.
    pub description: Option<String>,
    /// Whether it starts enabled; `true` when `None`.
    pub enabled: Option<bool>,
}

/// A change of a webhook; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    /// The new endpoint.
    pub url: Option<String>,
    /// The new event types or patterns.
    pub event_types: Option<Vec<String>>,
    /// The new description, or `Some(None)` to clear it.
    pub description: Option<Option<String>>,
    /// Turn it on or off.
    pub enabled: Option<bool>,
    /// The version the client read (`If-Match`); a change over a newer one is refused.
    pub if_match: Option<i64>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered with a 2xx status.
    Delivered,
    /// Given up: three days of failures, or the endpoint is gone.
    Failed,
}

impl DeliveryStatus {
    /// The name the HTTP API gives the status, e.g. `pending`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Reads back a name [`DeliveryStatus::as_str`] gives; `None` for any other text.
    pub fn parse(raw: &str) -> Option<Self> {
        [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The endpoint's status, `None` when none came (refused address, timeout, no route).
    pub status: Option<u16>,
    /// The start of the endpoint's answer, or why there was none.
    pub detail: String,
    /// How long the endpoint took to answer, in milliseconds.
    pub duration_ms: i64,
}

/// One event's delivery to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The delivery's public id.
    pub id: DeliveryId,
    /// The webhook it goes to.
    pub webhook_id: WebhookId,
    /// The organization of the event.
    pub org_id: OrgId,
    /// Also the `webhook-id` header: the same on every attempt and re-delivery.
    pub event_id: EventId,
    /// The event's type, e.g. `member.removed`.
    pub event_type: String,
    /// The event's position in its organization's feed; deliveries to one endpoint go in this
    /// order.
    pub event_seq: i64,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Every attempt so far, oldest first.
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due; `None` once delivered or given up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The current run of attempts (a re-send starts a new one): since when, and how many.
    pub retry_started_at: Option<DateTime<Utc>>,
    /// Attempts made in the current run, beyond the first.
    pub retries: u32,
    /// While a worker attempts it: until when it holds it.
    pub leased_until: Option<DateTime<Utc>>,
    /// When the delivery was created, with its event.
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
