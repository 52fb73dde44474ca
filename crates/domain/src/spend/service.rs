//! Use cases of spend: recording usage, reading the posture, setting limits.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::model::{format_amount, local_day, Posture, SpendLimits, SpendLimitsInput, WindowSpan};
use super::usage::{Recorded, UsageEvent, UsageInput};
use crate::access::{enter_org, Lock};
use crate::audit::{Actor, AuditAction, AuditRecord, Changes, Target};
use crate::authz::Permission;
use crate::authz::RoleKey;
use crate::context::{Caller, RequestMeta};
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::{NotificationId, UsageEventId};
use crate::mail::{email_owners, html_page, one_line, EmailContent};
use crate::notification::{Notification, NotificationKind};
use crate::org::{OrgRef, Organization};
use crate::policy::Versioned;
use crate::store::{Store, Tx};
use crate::time::Clock;

/// Why a use case of spend governance failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpendError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the limits are at version {current}, not {expected}")]
    VersionMismatch {
        /// The version the client expected.
        expected: i64,
        /// The limits' version now.
        current: i64,
    },
    /// The idempotency key was used before for another event.
    #[error("this idempotency key was used for another usage event")]
    IdempotencyKeyReused,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where an organization's spend stands in the current budget window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendStatus {
    /// The budget with its version.
    pub limits: Versioned<SpendLimits>,
    /// The current window, in local days.
    pub window: WindowSpan,
    /// When the window starts, in UTC.
    pub window_starts_at: DateTime<Utc>,
    /// When the window ends, in UTC.
    pub window_ends_at: DateTime<Utc>,
    /// Spend recorded in the window, in micro-units.
    pub spend_micros: i64,
    /// How the spend stands against the budget.
    pub posture: Posture,
}

impl SpendStatus {
    /// The budget left (negative once past it); `None` without a budget.
    pub fn remaining_micros(&self) -> Option<i64> {
        self.limits.policy.budget_micros.map(|b| b.saturating_sub(self.spend_micros))
    }

    /// What may still be spent before the posture is `blocked`; `None` without a budget.
    pub fn allowance_micros(&self) -> Option<i64> {
        let limits = &self.limits.policy;
        limits
            .budget_micros
            .map(|b| b.saturating_add(limits.max_overage_micros).saturating_sub(self.spend_micros).max(0))
    }
}

fn zone(org: &Organization) -> Tz {
    org.timezone.map_or(Tz::UTC, |tz| tz.zone())
}

/// The organization's spend in the window holding `now`, in its time zone.
pub fn current_status(tx: &mut dyn Tx, org: &Organization, now: DateTime<Utc>) -> Result<SpendStatus, StoreError> {
    let limits = tx.find_spend_limits(org.id)?.unwrap_or_default();
    status_under(tx, org, limits, now)
}

fn status_under(
    tx: &mut dyn Tx,
    org: &Organization,
    limits: Versioned<SpendLimits>,
    now: DateTime<Utc>,
) -> Result<SpendStatus, StoreError> {
    let zone = zone(org);
    let window = limits.policy.window.containing(local_day(now, zone));
    let spend_micros = tx.spend_between(org.id, window.start, window.end)?;
    Ok(SpendStatus {
        posture: limits.policy.posture(spend_micros),
        window_starts_at: window.starts_at(zone),
        window_ends_at: window.ends_at(zone),
        limits,
        window,
        spend_micros,
    })
}

/// Use cases of spend.
#[derive(Clone)]
pub struct SpendService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: Store> SpendService<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Records one metered event. A second event with the same idempotency key counts
    /// nothing and answers the first; one that differs from it is refused.
    pub fn record_usage(&self, caller: &Caller, org: &OrgRef, input: &UsageInput) -> Result<Recorded, SpendError> {
        let now = self.clock.now();
        input.validate(now)?;
        let (recorded, budgeted) = self.store.transaction(|tx| {
            // No lock on the organization: recorders of one organization run side by side.
            let scope = enter_org::<SpendError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::UsageWrite)?;
            let occurred_at = input.occurred_at.unwrap_or(now);
            let event = UsageEvent {
                id: UsageEventId::generate(),
                org_id: scope.org.id,
                idempotency_key: input.idempotency_key.clone(),
                amount_micros: input.amount_micros,
                model: input.model.clone(),
                feature: input.feature.clone(),
                occurred_at,
                local_day: local_day(occurred_at, zone(&scope.org)),
                recorded_at: now,
                recorded_by: scope.actor.clone(),
            };
            let recorded = match tx.record_usage(&event)? {
                Some(first) if input.is_retry_of(&first) => Recorded { event: first, replayed: true },
                Some(_) => return Err(SpendError::IdempotencyKeyReused),
                None => Recorded { event, replayed: false },
            };
            // Without a budget there is no posture to reach: no need to add up the window.
            let budget = tx.find_spend_limits(scope.org.id)?.and_then(|l| l.policy.budget_micros);
            Ok((recorded, budget.map(|_| (scope.org, scope.actor))))
        })?;
        // Judged once the event is committed, from what every recorder committed: of two
        // that cross a line together, the later sees the sum. A replay judges again, so a
        // retry after a failure here still announces.
        if let Some((org, actor)) = budgeted {
            self.store.transaction(|tx| {
                let status = current_status(tx, &org, now)?;
                announce_posture(tx, &org, &actor, &caller.meta, &status, now)
            })?;
        }
        Ok(recorded)
    }

    /// The spend posture of the current window. Never gated by plan.
    pub fn status(&self, caller: &Caller, org: &OrgRef) -> Result<SpendStatus, SpendError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<SpendError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::BillingRead)?;
            Ok(current_status(tx, &scope.org, now)?)
        })
    }

    /// Replaces the limits; `if_match` is the version the client read. A posture the new
    /// limits put the organization in is announced as usage would.
    pub fn put_limits(
        &self,
        caller: &Caller,
        org: &OrgRef,
        input: &SpendLimitsInput,
        if_match: Option<i64>,
    ) -> Result<SpendStatus, SpendError> {
        let limits = SpendLimits::parse(input)?;
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<SpendError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize(Permission::BillingUpdate)?;
            let current = tx.find_spend_limits(scope.org.id)?.unwrap_or_default();
            if let Some(expected) = if_match.filter(|v| *v != current.version) {
                return Err(SpendError::VersionMismatch { expected, current: current.version });
            }
            if current.policy != limits || current.version == 0 {
                let next = Versioned { policy: limits, version: current.version + 1, updated_at: Some(now) };
                tx.save_spend_limits(scope.org.id, &next)?;
                let mut changes = Changes::new();
                changes.diff("limits", &describe(&current.policy), &describe(&next.policy));
                changes.set("version", next.version);
                let target = Target::new("organization", scope.org.id);
                let record = AuditRecord::new(
                    scope.org.id,
                    &scope.actor,
                    AuditAction::SpendLimitsUpdated,
                    target,
                    &caller.meta,
                    now,
                );
                tx.append_audit(&record.with_changes(changes))?;
            }
            let status = current_status(tx, &scope.org, now)?;
            announce_posture(tx, &scope.org, &scope.actor, &caller.meta, &status, now)?;
            Ok(status)
        })
    }
}

fn describe(limits: &SpendLimits) -> serde_json::Value {
    serde_json::json!({
        "currency": limits.currency.as_str(),
        "window": limits.window.as_str(),
        "budget_micros": limits.budget_micros,
        "warning_percent": limits.warning_percent,
        "max_overage_micros": limits.max_overage_micros,
    })
}

/// When the posture reached a level not yet announced in this window: one audit record,
/// and an in-app notice and an email to each owner, for the worst level reached. Levels
/// jumped over are marked announced too, so each level is announced at most once per window.
fn announce_posture(
    tx: &mut dyn Tx,
    org: &Organization,
    actor: &Actor,
    meta: &RequestMeta,
    status: &SpendStatus,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let levels: Vec<Posture> = status.posture.levels_up_to().collect();
    if levels.is_empty() {
        return Ok(());
    }
    let Some(reached) = tx.announce_levels(org.id, &status.window, &levels, now)?.into_iter().max() else {
        return Ok(());
    };
    let limits = &status.limits.policy;
    let mut changes = Changes::new();
    changes.set("posture", reached.as_str());
    changes.set("spend_micros", status.spend_micros);
    changes.set("budget_micros", limits.budget_micros);
    changes.set("max_overage_micros", limits.max_overage_micros);
    changes.set("window_start", status.window_starts_at.to_rfc3339());
    let target = Target::new("organization", org.id);
    let record = AuditRecord::new(org.id, actor, AuditAction::SpendPostureChanged, target, meta, now);
    tx.append_audit(&record.with_changes(changes))?;
    let email = posture_email(org, status, reached);
    let owners = tx.member_access_facts(org.id, Some(&RoleKey::owner()), None, i64::MAX)?;
    let notices: Vec<Notification> = owners
        .iter()
        .map(|owner| Notification {
            id: NotificationId::generate(),
            user_id: owner.user_id,
            org_id: Some(org.id),
            kind: NotificationKind::SpendPosture,
            title: email.subject.clone(),
            body: email.text.clone(),
            created_at: now,
            read_at: None,
        })
        .collect();
    tx.insert_notifications(&notices)?;
    email_owners(tx, org.id, &email)
}

fn posture_email(org: &Organization, status: &SpendStatus, reached: Posture) -> EmailContent {
    let name = one_line(org.name.as_str(), 200);
    let limits = &status.limits.policy;
    let money = |micros: i64| format_amount(micros, limits.currency);
    let budget = limits.budget_micros.map(money).unwrap_or_default();
    let (headline, consequence) = match reached {
        Posture::Ok | Posture::Warning => {
            (format!("{name} has used {}% of its budget", limits.warning_percent), "Nothing is blocked yet.".to_owned())
        }
        Posture::OverBudget => (
            format!("{name} is over its budget"),
            format!("Spend may go {} past the budget before it is blocked.", money(limits.max_overage_micros)),
        ),
        Posture::Blocked => (
            format!("{name} is past its budget and overage"),
            "Usage is now reported as blocked to the services that check the budget.".to_owned(),
        ),
    };
    let window = format!(
        "{} to {}",
        status.window_starts_at.format("%Y-%m-%d %H:%M UTC"),
        status.window_ends_at.format("%Y-%m-%d %H:%M UTC")
    );
    let spent = money(status.spend_micros);
    let text = format!(
        "{headline}.\n\nSpend this {kind} window ({window}): {spent} of a budget of {budget}.\n{consequence}\n",
        kind = limits.window.as_str(),
    );
    let escape = |s: &str| html_escape::encode_text(s).into_owned();
    let html = html_page(&format!(
        "<p><b>{}</b>.</p><p>Spend this {} window ({}): {} of a budget of {}.</p><p>{}</p>",
        escape(&headline),
        limits.window.as_str(),
        escape(&window),
        escape(&spent),
        escape(&budget),
        escape(&consequence),
    ));
    EmailContent { subject: one_line(&format!("{headline} ({spent})"), 250), text, html }
}
