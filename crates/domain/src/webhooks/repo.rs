//! The port webhooks and their deliveries are stored through.

use chrono::{DateTime, Utc};

use super::model::{Attempt, Delivery, DeliveryStatus, Webhook};
use crate::error::StoreError;
use crate::ids::{DeliveryId, OrgId, WebhookId};
use crate::pagination::{Page, PageRequest};

/// A delivery claimed for an attempt, with what sending it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The delivery, leased to the claimer.
    pub delivery: Delivery,
    /// The webhook it goes to.
    pub webhook: Webhook,
    /// The event it carries.
    pub event: crate::events::Event,
}

/// The port webhooks and their deliveries are stored through. Every read of one
/// organization's webhooks is scoped by it.
pub trait WebhookRepository {
    /// Stores a new webhook.
    fn insert_webhook(&mut self, webhook: &Webhook) -> Result<(), StoreError>;

    /// Saves every field; the store bumps the version.
    fn update_webhook(&mut self, webhook: &Webhook) -> Result<(), StoreError>;

    /// Deletes it with its deliveries; `false` when the organization has no such webhook.
    fn delete_webhook(&mut self, org: OrgId, id: WebhookId) -> Result<bool, StoreError>;

    /// Up to `limit` webhooks, of any organization, with a secret (current or previous)
    /// sealed under another key than `key_id`; locked until the transaction ends.
    fn webhooks_sealed_not_under(&mut self, key_id: &str, limit: i64) -> Result<Vec<Webhook>, StoreError>;

    /// The webhook `id` of `org`; with `lock`, locked until the transaction ends.
    fn find_webhook(&mut self, org: OrgId, id: WebhookId, lock: bool) -> Result<Option<Webhook>, StoreError>;

    /// Every webhook of `org`, oldest first.
    fn list_webhooks(&mut self, org: OrgId) -> Result<Vec<Webhook>, StoreError>;

    /// The webhook's deliveries, newest first.
    fn list_deliveries(
        &mut self,
        org: OrgId,
        webhook: WebhookId,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError>;

    /// One delivery of the webhook; with `lock`, locked until the transaction ends.
    fn find_delivery(
        &mut self,
        org: OrgId,
        webhook: WebhookId,
        id: DeliveryId,
        lock: bool,
    ) -> Result<Option<Delivery>, StoreError>;

    /// Makes the delivery pending again, due at `at`, starting a new run of attempts.
    fn schedule_delivery(&mut self, org: OrgId, id: DeliveryId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Claims up to `limit` deliveries due at `now` for `lease`, skipping those another
    /// worker holds and any behind an earlier pending delivery of the same webhook (each
    /// endpoint gets its events in order).
    fn claim_deliveries(
        &mut self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError>;

    /// Forgets at most `limit` deliveries that ended (delivered or failed) before `before`;
    /// answers how many.
    fn delete_ended_deliveries(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StoreError>;

    /// Records an attempt and where the delivery now stands (`next_attempt_at` when pending),
    /// if the delivery is still held under `lease` (`None`: whatever holds it): a worker whose
    /// lease ran out writes nothing. Answers whether it wrote.
    fn record_attempt(
        &mut self,
        org: OrgId,
        id: DeliveryId,
        lease: Option<DateTime<Utc>>,
        attempt: &Attempt,
        status: DeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError>;
}
