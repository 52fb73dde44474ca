//! Managing webhooks (`webhooks:manage`), and the dispatcher that sends their deliveries.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::model::{
    Attempt, Delivery, DeliveryStatus, DestinationGuard, NewWebhook, Webhook, WebhookPatch, WebhookSecrets,
    MAX_WEBHOOKS_PER_ORG, SECRET_OVERLAP_MAX_HOURS,
};
use super::repo::Claimed;
use super::schedule::{next_attempt, Outcome, Verdict};
use crate::access::{enter_org, Lock, OrgScope};
use crate::apikey::SecretMinter;
use crate::audit::{Actor, AuditAction, AuditRecord, Changes, Target};
use crate::authz::Permission;
use crate::context::{Caller, RequestMeta};
use crate::error::{AccessError, Invalid, StoreError};
use crate::events::parse_subscription;
use crate::ids::{DeliveryId, WebhookId};
use crate::mail::{email_owners, html_page, one_line, EmailContent};
use crate::org::OrgRef;
use crate::pagination::{Page, PageRequest};
use crate::sso::{SealError, Sealed, SecretBox};
use crate::store::{Store, Tx};
use crate::time::Clock;

/// The longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 200;
/// The longest URL.
pub const MAX_URL_CHARS: usize = 2048;

/// Why a use case on webhooks failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The organization holds [`MAX_WEBHOOKS_PER_ORG`] webhooks already.
    #[error("an organization holds at most {MAX_WEBHOOKS_PER_ORG} webhooks: delete one first")]
    TooMany,
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the webhook is at version {current}, not {expected}")]
    VersionMismatch {
        /// The version the client expected.
        expected: i64,
        /// The webhook's version now.
        current: i64,
    },
    /// The delivery is being attempted right now.
    #[error("the delivery is being attempted right now; re-send it once the attempt ends")]
    DeliveryInFlight,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SealError> for WebhookError {
    fn from(err: SealError) -> Self {
        WebhookError::Store(err.into())
    }
}

/// A new webhook, or a rotated one, with its signing secret shown this once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedWebhook {
    /// The webhook as stored.
    pub webhook: Webhook,
    /// The signing secret (`whsec_…`); only its sealed form is kept.
    pub secret: String,
}

/// Use cases of an organization's webhooks. Every one needs `webhooks:manage` and
/// `events:read`: a webhook receives the event feed.
pub struct WebhookService<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    minter: Arc<dyn SecretMinter>,
    secrets: Arc<dyn SecretBox>,
    guard: Arc<dyn DestinationGuard>,
}

/// A URL as the audit log and the events show it: its origin only, since a path or query
/// may carry a credential of the receiver's (many hook URLs do).
fn shown(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| String::new(), |u| u.origin().ascii_serialization())
}

fn seal_context(id: WebhookId) -> Vec<u8> {
    format!("webhook-secret:{id}").into_bytes()
}

/// Opens the secrets a delivery is signed with: the current one, and the previous one until
/// it retires.
fn signing_secrets(secrets: &dyn SecretBox, webhook: &Webhook, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
    let open = |sealed: &Sealed| -> Result<String, StoreError> {
        let plain = secrets.open(sealed, &seal_context(webhook.id))?;
        String::from_utf8(plain).map_err(|e| StoreError::Internal(e.to_string()))
    };
    let mut all = vec![open(&webhook.secrets.current)?];
    if let Some((previous, until)) = &webhook.secrets.previous {
        if *until > now {
            all.push(open(previous)?);
        }
    }
    Ok(all)
}

/// Seals every webhook secret still under an earlier encryption key with the current one,
/// `batch` webhooks per transaction, and answers how many secrets it re-sealed. Run after
/// rotating the encryption key, so that the previous key can then be retired. No setting
/// changes (the version stays), so nothing is audited.
pub fn reseal_webhook_secrets<S: Store>(store: &S, secrets: &dyn SecretBox, batch: i64) -> Result<usize, StoreError> {
    let key = secrets.current_key_id().to_owned();
    crate::sso::reseal_in_batches(store, batch, |tx, limit| {
        let mut resealed = 0;
        for mut webhook in tx.webhooks_sealed_not_under(&key, limit)? {
            let context = seal_context(webhook.id);
            let mut reseal = |sealed: &mut Sealed| -> Result<(), StoreError> {
                if sealed.key_id != key {
                    *sealed = secrets.seal(&secrets.open(sealed, &context)?, &context)?;
                    resealed += 1;
                }
                Ok(())
            };
            reseal(&mut webhook.secrets.current)?;
            if let Some((previous, _)) = webhook.secrets.previous.as_mut() {
                reseal(previous)?;
            }
            tx.update_webhook(&webhook)?;
        }
        Ok(resealed)
    })
}

impl<S: Store> WebhookService<S> {
    /// The service over `store`: secrets minted by `minter` and sealed by `secrets`, endpoints
    /// admitted by `guard`, time read from `clock`.
    pub fn new(
        store: S,
        clock: Arc<dyn Clock>,
        minter: Arc<dyn SecretMinter>,
        secrets: Arc<dyn SecretBox>,
        guard: Arc<dyn DestinationGuard>,
    ) -> Self {
        Self { store, clock, minter, secrets, guard }
    }

    fn enter(
        tx: &mut dyn Tx,
        caller: &Caller,
        org: &OrgRef,
        now: DateTime<Utc>,
        lock: Lock,
    ) -> Result<OrgScope, WebhookError> {
        let scope = enter_org::<WebhookError>(tx, caller, org, now, lock)?;
        scope.grant.authorize(Permission::WebhooksManage)?;
        // A webhook receives the event feed: managing one takes reading it.
        scope.grant.authorize(Permission::EventsRead)?;
        Ok(scope)
    }

    fn check_url(&self, raw: &str) -> Result<String, Invalid> {
        let refuse = |message: String| Invalid::field("url", "invalid_url", message);
        let raw = raw.trim();
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(refuse(format!("at most {MAX_URL_CHARS} characters")));
        }
        let url = url::Url::parse(raw).map_err(|e| refuse(format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
            return Err(refuse("an http(s) URL with a host".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("credentials do not go in the URL; verify the signature instead".into()));
        }
        self.guard.admit(&url).map_err(|why| Invalid::field("url", "url_not_allowed", why))?;
        Ok(url.to_string())
    }

    fn check_description(description: Option<String>) -> Result<Option<String>, Invalid> {
        crate::text::description(description.as_deref(), MAX_DESCRIPTION_CHARS)
            .map_err(|e| Invalid::field("description", e.code, e.message))
    }

    fn audit(
        tx: &mut dyn Tx,
        scope: &OrgScope,
        meta: &RequestMeta,
        action: AuditAction,
        webhook: &Webhook,
        changes: Changes,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let record =
            AuditRecord::new(scope.org.id, &scope.actor, action, Target::new("webhook", webhook.id), meta, now);
        tx.append_audit(&record.with_changes(changes))
    }

    /// Registers an endpoint; its signing secret is in the answer, and nowhere else ever.
    pub fn create(&self, caller: &Caller, org: &OrgRef, input: NewWebhook) -> Result<CreatedWebhook, WebhookError> {
        let url = self.check_url(&input.url)?;
        let event_types = parse_subscription("event_types", &input.event_types)?;
        let description = Self::check_description(input.description)?;
        let now = self.clock.now();
        let id = WebhookId::generate();
        let secret = self.minter.mint_webhook_secret();
        let sealed = self.secrets.seal(secret.as_bytes(), &seal_context(id))?;
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, now, Lock::Org)?;
            if tx.list_webhooks(scope.org.id)?.len() >= MAX_WEBHOOKS_PER_ORG {
                return Err(WebhookError::TooMany);
            }
            let webhook = Webhook {
                id,
                org_id: scope.org.id,
                url,
                event_types,
                description,
                enabled: input.enabled.unwrap_or(true),
                disabled_reason: None,
                secrets: WebhookSecrets { current: sealed, previous: None },
                version: 1,
                created_at: now,
                updated_at: now,
            };
            tx.insert_webhook(&webhook)?;
            let mut changes = Changes::new();
            changes.set("url", shown(&webhook.url));
            changes.set("event_types", webhook.event_types.clone());
            changes.set("enabled", webhook.enabled);
            Self::audit(tx, &scope, &caller.meta, AuditAction::WebhookCreated, &webhook, changes, now)?;
            Ok(CreatedWebhook { webhook, secret })
        })
    }

    /// The organization's webhooks.
    pub fn list(&self, caller: &Caller, org: &OrgRef) -> Result<Vec<Webhook>, WebhookError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, now, Lock::None)?;
            Ok(tx.list_webhooks(scope.org.id)?)
        })
    }

    /// One webhook of the organization.
    pub fn get(&self, caller: &Caller, org: &OrgRef, id: WebhookId) -> Result<Webhook, WebhookError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, now, Lock::None)?;
            tx.find_webhook(scope.org.id, id, false)?.ok_or(WebhookError::Access(AccessError::NotFound("webhook")))
        })
    }

    /// Changes the URL, the event types, the description or whether it is enabled. Turning
    /// it back on clears why the service turned it off; deliveries that were given up stay
    /// so (re-send them one by one).
    pub fn update(
        &self,
        caller: &Caller,
        org: &OrgRef,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> Result<Webhook, WebhookError> {
        let url = patch.url.as_deref().map(|u| self.check_url(u)).transpose()?;
        let event_types = patch.event_types.as_deref().map(|t| parse_subscription("event_types", t)).transpose()?;
        let description = patch.description.map(Self::check_description).transpose()?;
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, now, Lock::Org)?;
            let current = tx
                .find_webhook(scope.org.id, id, true)?
                .ok_or(WebhookError::Access(AccessError::NotFound("webhook")))?;
            if let Some(expected) = patch.if_match.filter(|v| *v != current.version) {
                return Err(WebhookError::VersionMismatch { expected, current: current.version });
            }
            let mut next = current.clone();
            next.url = url.unwrap_or(next.url);
            next.event_types = event_types.unwrap_or(next.event_types);
            next.description = description.unwrap_or(next.description);
            if let Some(enabled) = patch.enabled {
                next.enabled = enabled;
                next.disabled_reason = None;
            }
            if next == current {
                return Ok(current);
            }
            next.updated_at = now;
            next.version = current.version + 1;
            tx.update_webhook(&next)?;
            let mut changes = Changes::new();
            changes.diff("url", &shown(&current.url), &shown(&next.url));
            changes.diff("event_types", &current.event_types, &next.event_types);
            changes.diff("description", &current.description, &next.description);
            changes.diff("enabled", &current.enabled, &next.enabled);
            Self::audit(tx, &scope, &caller.meta, AuditAction::WebhookUpdated, &next, changes, now)?;
            Ok(next)
        })
    }

    /// Deletes a webhook with its deliveries; nothing more is sent to it.
    pub fn delete(&self, caller: &Caller, org: &OrgRef, id: WebhookId) -> Result<(), WebhookError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, now, Lock::Org)?;
            let current = tx
                .find_webhook(scope.org.id, id, true)?
                .ok_or(WebhookError::Access(AccessError::NotFound("webhook")))?;
            tx.delete_webhook(scope.org.id, id)?;
            let mut changes = Changes::new();
            changes.set("url", shown(&current.url));
            Self::audit(tx, &scope, &caller.meta, AuditAction::WebhookDeleted, &current, changes, now)
                .map_err(WebhookError::from)
        })
    }

    /// A new signing secret, shown this once. Deliveries carry a signature with each of the
    /// new and the old secret for `overlap_hours` (0 retires the old one at once), so that
    /// the receiver can switch without refusing any.
    pub fn rotate_secret(
        &self,
        caller: &Caller,
        org: &OrgRef,
        id: WebhookId,
        overlap_hours: i64,
    ) -> Result<CreatedWebhook, WebhookError> {
        if !(0..=SECRET_OVERLAP_MAX_HOURS).contains(&overlap_hours) {
            return Err(Invalid::field(
                "overlap_hours",
                "out_of_range",
                format!("0 to {SECRET_OVERLAP_MAX_HOURS} hours"),
            )
            .into());
        }
        let now = self.clock.now();
        let secret = self.minter.mint_webhook_secret();
        let sealed = self.secrets.seal(secret.as_bytes(), &seal_context(id))?;
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, now, Lock::Org)?;
            let current = tx
                .find_webhook(scope.org.id, id, true)?
                .ok_or(WebhookError::Access(AccessError::NotFound("webhook")))?;
            let previous =
                (overlap_hours > 0).then(|| (current.secrets.current.clone(), now + Duration::hours(overlap_hours)));
            let next = Webhook {
                secrets: WebhookSecrets { current: sealed, previous },
                version: current.version + 1,
                updated_at: now,
                ..current
            };
            tx.update_webhook(&next)?;
            let mut changes = Changes::new();
            changes.set("overlap_hours", overlap_hours);
            Self::audit(tx, &scope, &caller.meta, AuditAction::WebhookSecretRotated, &next, changes, now)?;
            Ok(CreatedWebhook { webhook: next, secret })
        })
    }

    /// The webhook's deliveries, newest first, with their attempts.
    pub fn deliveries(
        &self,
        caller: &Caller,
        org: &OrgRef,
        id: WebhookId,
        page: PageRequest,
    ) -> Result<Page<Delivery>, WebhookError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, now, Lock::None)?;
            tx.find_webhook(scope.org.id, id, false)?.ok_or(WebhookError::Access(AccessError::NotFound("webhook")))?;
            Ok(tx.list_deliveries(scope.org.id, id, page)?)
        })
    }

    /// Sends a delivery again, at once, whatever became of it; the receiver sees the same
    /// `webhook-id`, so one that already processed it can tell.
    pub fn redeliver(
        &self,
        caller: &Caller,
        org: &OrgRef,
        webhook: WebhookId,
        id: DeliveryId,
    ) -> Result<Delivery, WebhookError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, now, Lock::None)?;
            let not_found = || WebhookError::Access(AccessError::NotFound("delivery"));
            let current = tx.find_delivery(scope.org.id, webhook, id, true)?.ok_or_else(not_found)?;
            if current.leased_until.is_some_and(|until| until > now) {
                return Err(WebhookError::DeliveryInFlight);
            }
            tx.schedule_delivery(scope.org.id, id, now)?;
            tx.find_delivery(scope.org.id, webhook, id, false)?.ok_or_else(not_found)
        })
    }
}

/// What an endpoint answered to one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// `None` when no answer came (refused address, connection failure, timeout).
    pub status: Option<u16>,
    /// The endpoint's `Retry-After`, in seconds, when it sent one.
    pub retry_after_secs: Option<u64>,
    /// The start of the answer's body, or why there was none.
    pub detail: String,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: i64,
}

/// The port that sends one signed delivery: the request a Standard Webhooks receiver
/// verifies (`webhook-id`, `webhook-timestamp`, `webhook-signature` with one signature per
/// secret), after checking the destination again.
pub trait WebhookTransport: Send + Sync {
    /// Sends `body` to `url` as message `message_id`, signed at `timestamp` with each of
    /// `secrets`; never fails, a failure is in the answer.
    fn send(&self, url: &str, message_id: &str, timestamp: DateTime<Utc>, body: &[u8], secrets: &[String]) -> Sent;
}

/// Sends due deliveries. Several may run (one per server instance): a delivery is claimed
/// by one at a time, for a lease longer than an attempt takes.
pub struct Dispatcher<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretBox>,
    transport: Arc<dyn WebhookTransport>,
    /// Multiplies every retry wait: 1 in production.
    pub backoff_scale: f64,
}

/// How long a claimed delivery is held before another worker may take it.
pub const LEASE_SECS: i64 = 120;

impl<S: Store> Dispatcher<S> {
    /// A dispatcher over `store` sending through `transport` and unsealing secrets with
    /// `secrets`, with retry waits as in production.
    pub fn new(
        store: S,
        clock: Arc<dyn Clock>,
        secrets: Arc<dyn SecretBox>,
        transport: Arc<dyn WebhookTransport>,
    ) -> Self {
        Self { store, clock, secrets, transport, backoff_scale: 1.0 }
    }

    /// Attempts up to `batch` due deliveries; answers how many.
    pub fn run_round(&self, batch: u32) -> Result<usize, StoreError> {
        let claimed = self.claim(batch)?;
        let count = claimed.len();
        for delivery in claimed {
            self.attempt(delivery)?;
        }
        Ok(count)
    }

    /// Claims up to `batch` due deliveries for [`LEASE_SECS`]; attempt them (at once, each
    /// well within the lease) with [`attempt`](Self::attempt).
    pub fn claim(&self, batch: u32) -> Result<Vec<Claimed>, StoreError> {
        let now = self.clock.now();
        self.store.transaction(|tx| tx.claim_deliveries(now, Duration::seconds(LEASE_SECS), batch))
    }

    /// Sends one claimed delivery and records the outcome, unless its lease ran out
    /// meanwhile (another worker holds it then).
    pub fn attempt(&self, claimed: Claimed) -> Result<(), StoreError> {
        let Claimed { delivery, webhook, event } = claimed;
        let now = self.clock.now();
        let body = json!({ "type": event.event_type, "timestamp": event.occurred_at, "data": event.data }).to_string();
        let secrets = signing_secrets(self.secrets.as_ref(), &webhook, now)?;
        let sent = self.transport.send(&webhook.url, &event.id.to_string(), now, body.as_bytes(), &secrets);
        let outcome = match sent.status {
            Some(status) if (200..300).contains(&status) => Outcome::Accepted,
            Some(410) => Outcome::Gone,
            _ => Outcome::Failed { retry_after_secs: sent.retry_after_secs },
        };
        let attempts = delivery.retries as usize + 1;
        let first_at = delivery.retry_started_at.unwrap_or(now);
        let jitter = f64::from(delivery.id.as_uuid().as_bytes()[15]) / 256.0;
        let verdict = next_attempt(outcome, attempts, first_at, now, self.backoff_scale, jitter);
        let attempt = Attempt { at: now, status: sent.status, detail: sent.detail, duration_ms: sent.duration_ms };
        let lease = delivery.leased_until;
        self.store.transaction(|tx| match verdict {
            Verdict::Delivered => tx
                .record_attempt(delivery.org_id, delivery.id, lease, &attempt, DeliveryStatus::Delivered, None)
                .map(drop),
            Verdict::RetryAt(at) => tx
                .record_attempt(delivery.org_id, delivery.id, lease, &attempt, DeliveryStatus::Pending, Some(at))
                .map(drop),
            Verdict::GiveUp(reason) => {
                if tx.record_attempt(delivery.org_id, delivery.id, lease, &attempt, DeliveryStatus::Failed, None)? {
                    turn_off(tx, webhook.id, &webhook, reason, now)?;
                }
                Ok(())
            }
        })
    }
}

/// Turns a webhook off for `reason`, audited by the system, and tells the owners.
fn turn_off(
    tx: &mut dyn Tx,
    id: WebhookId,
    seen: &Webhook,
    reason: &'static str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(current) = tx.find_webhook(seen.org_id, id, true)? else { return Ok(()) };
    if !current.enabled {
        return Ok(());
    }
    let next = Webhook {
        enabled: false,
        disabled_reason: Some(reason.to_owned()),
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    };
    tx.update_webhook(&next)?;
    let mut changes = Changes::new();
    changes.diff("enabled", &true, &false);
    changes.set("reason", reason);
    let record = AuditRecord::new(
        current.org_id,
        &Actor::System,
        AuditAction::WebhookDisabled,
        Target::new("webhook", id),
        &RequestMeta::default(),
        now,
    );
    tx.append_audit(&record.with_changes(changes))?;
    let url = one_line(&shown(&current.url), 300);
    let why = match reason {
        "gone" => "it answered 410 Gone",
        _ => "its deliveries have failed for three days",
    };
    let text = format!(
        "The webhook to {url} was turned off because {why}.\n\nNothing is queued for it while it is off. Fix the endpoint and turn the webhook back on; \
         what happened meanwhile is in the organization's event feed for 30 days.\n"
    );
    let content = EmailContent { subject: "A webhook was turned off".into(), html: html_page(&text), text };
    email_owners(tx, current.org_id, &content)
}
