//! Webhooks: an organization's events pushed to endpoints it names, signed as the Standard
//! Webhooks specification says, at least once, in order per endpoint, retried for up to
//! three days. Deliveries are written with their event (so in the transaction of the
//! change); the adapter's worker sends them.

mod model;
mod repo;
mod schedule;
pub(crate) mod service;

pub use model::{
    Attempt, Delivery, DeliveryStatus, DestinationGuard, NewWebhook, Webhook, WebhookPatch, WebhookSecrets,
    MAX_WEBHOOKS_PER_ORG, SECRET_OVERLAP_MAX_HOURS,
};
pub use repo::{Claimed, WebhookRepository};
pub use schedule::{next_attempt, Outcome, Verdict, GIVE_UP_AFTER_HOURS};
pub use service::{
    reseal_webhook_secrets, CreatedWebhook, Dispatcher, Sent, WebhookError, WebhookService, WebhookTransport,
    LEASE_SECS, MAX_DESCRIPTION_CHARS, MAX_URL_CHARS,
};

#[cfg(test)]
mod tests;
