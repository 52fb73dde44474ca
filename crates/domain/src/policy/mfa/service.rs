//! Use cases of the 2FA dashboard and reminders.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::reminder::{render_mfa_reminder_email, MfaReminderText};
use super::{MfaDashboard, MfaError, MfaMember, MfaReminders};
use crate::access::{enter_org_to_administer_policies, Lock, OrgScope};
use crate::audit::{AuditAction, AuditRecord, Changes, Target};
use crate::authz::Permission;
use crate::context::Caller;
use crate::ids::NotificationId;
use crate::mail::OutgoingEmail;
use crate::notification::{Notification, NotificationKind};
use crate::org::OrgRef;
use crate::pagination::PageRequest;
use crate::policy::audit_break_glass;
use crate::store::{Store, Tx};
use crate::time::Clock;

/// Members reminded per round trip: reminders walk the organization in batches of this
/// many, so a large one is never held in memory at once.
const REMINDER_BATCH: u32 = 500;

/// Use cases of the 2FA dashboard and reminders.
#[derive(Clone)]
pub struct MfaService<S> {
    store: S,
    clock: Arc<dyn Clock>,
    /// Where people open the product; reminder emails link to it.
    app_url: String,
}

impl<S: Store> MfaService<S> {
    /// The service over `store`, reading time from `clock`; reminders link to `app_url`.
    pub fn new(store: S, clock: Arc<dyn Clock>, app_url: impl Into<String>) -> Self {
        Self { store, clock, app_url: app_url.into() }
    }

    /// Who has a second factor: the policy, totals on the first page, and a page of members
    /// in join order, optionally only those with (`enrolled`) or without one.
    pub fn dashboard(
        &self,
        caller: &Caller,
        org: &OrgRef,
        enrolled: Option<bool>,
        page: PageRequest,
    ) -> Result<MfaDashboard, MfaError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org_to_administer_policies::<MfaError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::SecurityRead)?;
            audit_break_glass(tx, &scope, caller, now)?;
            let totals = if page.after.is_none() { Some(tx.mfa_totals(scope.org.id)?) } else { None };
            let members = tx.list_mfa_members(scope.org.id, enrolled, page)?;
            Ok(MfaDashboard { policy: scope.policies.mfa, totals, members })
        })
    }

    /// Reminds every member without a second factor, in-app and by email, unless reminded
    /// within the last day. Notifications, emails (through the outbox) and the audit record
    /// land in one transaction; members are walked in batches.
    pub fn remind(&self, caller: &Caller, org: &OrgRef) -> Result<MfaReminders, MfaError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            // The organization row stays locked until the transaction ends, so two rounds at
            // once run one after the other and the second sees whom the first reminded.
            let scope = enter_org_to_administer_policies::<MfaError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize(Permission::SecurityUpdate)?;
            audit_break_glass(tx, &scope, caller, now)?;
            let text = MfaReminderText::new(scope.org.name.as_str(), &scope.policies.mfa.policy, now);
            let mut report = MfaReminders::default();
            let mut page = PageRequest { limit: REMINDER_BATCH, after: None };
            loop {
                let batch = tx.list_mfa_members(scope.org.id, Some(false), page)?;
                let (due, skipped): (Vec<MfaMember>, Vec<MfaMember>) =
                    batch.items.into_iter().partition(|m| m.due_for_reminder(now));
                report.skipped += skipped.len() as u64;
                report.reminded += due.len() as u64;
                report.emailed += self.send(tx, &scope, &text, &due, now)?;
                match batch.next_after {
                    Some(after) => page.after = Some(after),
                    None => break,
                }
            }
            let mut changes = Changes::new();
            changes.set("reminded", report.reminded);
            changes.set("emailed", report.emailed);
            changes.set("skipped", report.skipped);
            let target = Target::new("organization", scope.org.id);
            let record =
                AuditRecord::new(scope.org.id, &scope.actor, AuditAction::MfaRemindersSent, target, &caller.meta, now);
            tx.append_audit(&record.with_changes(changes))?;
            Ok(report)
        })
    }

    /// Notifies and emails `members` and records that they were reminded; returns how many
    /// were emailed.
    fn send(
        &self,
        tx: &mut dyn Tx,
        scope: &OrgScope,
        text: &MfaReminderText,
        members: &[MfaMember],
        now: DateTime<Utc>,
    ) -> Result<u64, MfaError> {
        if members.is_empty() {
            return Ok(0);
        }
        let notices: Vec<Notification> = members
            .iter()
            .map(|m| Notification {
                id: NotificationId::generate(),
                user_id: m.user_id,
                org_id: Some(scope.org.id),
                kind: NotificationKind::MfaReminder,
                title: text.title.clone(),
                body: text.body.clone(),
                created_at: now,
                read_at: None,
            })
            .collect();
        let content = render_mfa_reminder_email(text, &self.app_url);
        let emails: Vec<OutgoingEmail> = members
            .iter()
            .filter_map(MfaMember::reminder_address)
            .map(|to| OutgoingEmail::new(Some(scope.org.id), to.clone(), content.clone()))
            .collect();
        tx.insert_notifications(&notices)?;
        tx.enqueue_emails(&emails)?;
        let ids: Vec<_> = members.iter().map(|m| m.member_id).collect();
        tx.mark_mfa_reminded(scope.org.id, &ids, now)?;
        Ok(emails.len() as u64)
    }
}
