use chrono::{DateTime, Utc};

use super::State;
use crate::error::StoreError;
use crate::events::{type_matches, Event};
use crate::ids::{DeliveryId, OrgId, WebhookId};
use crate::pagination::{Page, PageRequest};
use crate::webhooks::{Attempt, Claimed, Delivery, DeliveryStatus, Webhook, WebhookRepository};

impl State {
    /// Queues the event for every enabled webhook of its organization that takes its type,
    /// as the database does when the event is written.
    pub(super) fn fan_out(&mut self, event: &Event) {
        let wanted = |w: &Webhook| {
            w.org_id == event.org_id
                && w.enabled
                && (w.event_types.is_empty() || w.event_types.iter().any(|t| type_matches(t, &event.event_type)))
        };
        let ids: Vec<WebhookId> = self.webhooks.values().filter(|w| wanted(w)).map(|w| w.id).collect();
        for webhook_id in ids {
            let id = DeliveryId::generate();
            self.deliveries.insert(
                id,
                Delivery {
                    id,
                    webhook_id,
                    org_id: event.org_id,
                    event_id: event.id,
                    event_type: event.event_type.clone(),
                    event_seq: event.seq,
                    status: DeliveryStatus::Pending,
                    attempts: Vec::new(),
                    next_attempt_at: Some(event.occurred_at),
                    retry_started_at: None,
                    retries: 0,
                    leased_until: None,
                    created_at: event.occurred_at,
                },
            );
        }
    }
}

impl WebhookRepository for State {
    fn insert_webhook(&mut self, webhook: &Webhook) -> Result<(), StoreError> {
        self.webhooks.insert(webhook.id, webhook.clone());
        Ok(())
    }

    fn update_webhook(&mut self, webhook: &Webhook) -> Result<(), StoreError> {
        self.webhooks.insert(webhook.id, webhook.clone());
        Ok(())
    }

    fn delete_webhook(&mut self, org: OrgId, id: WebhookId) -> Result<bool, StoreError> {
        if self.webhooks.get(&id).is_none_or(|w| w.org_id != org) {
            return Ok(false);
        }
        self.webhooks.remove(&id);
        self.deliveries.retain(|_, d| d.webhook_id != id);
        Ok(true)
    }

    fn webhooks_sealed_not_under(&mut self, key_id: &str, limit: i64) -> Result<Vec<Webhook>, StoreError> {
        let stale = |w: &&Webhook| {
            w.secrets.current.key_id != key_id || w.secrets.previous.as_ref().is_some_and(|(p, _)| p.key_id != key_id)
        };
        let limit = usize::try_from(limit).unwrap_or(0);
        Ok(self.webhooks.values().filter(stale).take(limit).cloned().collect())
    }

    fn find_webhook(&mut self, org: OrgId, id: WebhookId, _lock: bool) -> Result<Option<Webhook>, StoreError> {
        Ok(self.webhooks.get(&id).filter(|w| w.org_id == org).cloned())
    }

    fn list_webhooks(&mut self, org: OrgId) -> Result<Vec<Webhook>, StoreError> {
        Ok(self.webhooks.values().filter(|w| w.org_id == org).cloned().collect())
    }

    fn list_deliveries(
        &mut self,
        org: OrgId,
        webhook: WebhookId,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let mut rows: Vec<Delivery> =
            self.deliveries.values().filter(|d| d.org_id == org && d.webhook_id == webhook).cloned().collect();
        rows.sort_by_key(|d| std::cmp::Reverse(d.id.as_uuid()));
        let rows: Vec<Delivery> = rows
            .into_iter()
            .filter(|d| page.after.is_none_or(|after| d.id.as_uuid() < after))
            .take(page.limit as usize + 1)
            .collect();
        Ok(Page::from_overfetch(rows, page, |d| d.id.as_uuid()))
    }

    fn find_delivery(
        &mut self,
        org: OrgId,
        webhook: WebhookId,
        id: DeliveryId,
        _lock: bool,
    ) -> Result<Option<Delivery>, StoreError> {
        Ok(self.deliveries.get(&id).filter(|d| d.org_id == org && d.webhook_id == webhook).cloned())
    }

    fn schedule_delivery(&mut self, org: OrgId, id: DeliveryId, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(d) = self.deliveries.get_mut(&id).filter(|d| d.org_id == org) {
            d.status = DeliveryStatus::Pending;
            d.next_attempt_at = Some(at);
            d.retry_started_at = None;
            d.retries = 0;
            d.leased_until = None;
        }
        Ok(())
    }

    fn claim_deliveries(
        &mut self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError> {
        let pending: Vec<&Delivery> =
            self.deliveries.values().filter(|d| d.status == DeliveryStatus::Pending).collect();
        let first_in_line =
            |d: &Delivery| !pending.iter().any(|e| e.webhook_id == d.webhook_id && e.event_seq < d.event_seq);
        let mut due: Vec<Delivery> = pending
            .iter()
            .filter(|d| d.next_attempt_at.is_some_and(|at| at <= now) && first_in_line(d))
            .filter(|d| d.leased_until.is_none_or(|until| until < now))
            .filter(|d| self.webhooks.get(&d.webhook_id).is_some_and(|w| w.enabled))
            .map(|d| (*d).clone())
            .collect();
        due.sort_by_key(|d| d.event_seq);
        due.truncate(limit as usize);
        for d in &mut due {
            d.leased_until = Some(now + lease);
            self.deliveries.insert(d.id, d.clone());
        }
        Ok(due
            .into_iter()
            .filter_map(|delivery| {
                let webhook = self.webhooks.get(&delivery.webhook_id)?.clone();
                let event = self.events.iter().find(|e| e.id == delivery.event_id)?.clone();
                Some(Claimed { delivery, webhook, event })
            })
            .collect())
    }

    fn delete_ended_deliveries(&mut self, before: DateTime<Utc>, limit: u32) -> Result<usize, StoreError> {
        let ended: Vec<DeliveryId> = self
            .deliveries
            .values()
            .filter(|d| d.status != DeliveryStatus::Pending && d.created_at < before)
            .map(|d| d.id)
            .take(limit as usize)
            .collect();
        for id in &ended {
            self.deliveries.remove(id);
        }
        Ok(ended.len())
    }

    fn record_attempt(
        &mut self,
        org: OrgId,
        id: DeliveryId,
        lease: Option<DateTime<Utc>>,
        attempt: &Attempt,
        status: DeliveryStatus,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let Some(d) = self.deliveries.get_mut(&id).filter(|d| d.org_id == org) else { return Ok(false) };
        if lease.is_some() && d.leased_until != lease {
            return Ok(false);
        }
        d.attempts.push(attempt.clone());
        d.status = status;
        d.next_attempt_at = next_attempt_at;
        d.retry_started_at.get_or_insert(attempt.at);
        d.retries += 1;
        d.leased_until = None;
        Ok(true)
    }
}
