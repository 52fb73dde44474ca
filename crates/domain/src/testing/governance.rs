//! LLM policies, spend and the dashboard over the in-memory state, with the semantics of
//! the database adapter: one event per idempotency key, each level announced once per
//! window, counts that match the rows.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::State;
use crate::authz::RoleKey;
use crate::dashboard::{DashboardCounts, DashboardRepository, RoleFigures};
use crate::error::StoreError;
use crate::ids::OrgId;
use crate::invite::InviteStatus;
use crate::llm::{LlmPolicy, LlmPolicyRepository};
use crate::policy::Versioned;
use crate::spend::{Posture, SpendLimits, SpendRepository, UsageEvent, WindowSpan};

impl LlmPolicyRepository for State {
    fn find_llm_policy(&mut self, org: OrgId) -> Result<Option<Versioned<LlmPolicy>>, StoreError> {
        Ok(self.llm_policies.get(&org).cloned())
    }

    fn save_llm_policy(&mut self, org: OrgId, policy: &Versioned<LlmPolicy>) -> Result<(), StoreError> {
        self.llm_policies.insert(org, policy.clone());
        Ok(())
    }
}

impl SpendRepository for State {
    fn find_spend_limits(&mut self, org: OrgId) -> Result<Option<Versioned<SpendLimits>>, StoreError> {
        Ok(self.spend_limits.get(&org).cloned())
    }

    fn save_spend_limits(&mut self, org: OrgId, limits: &Versioned<SpendLimits>) -> Result<(), StoreError> {
        self.spend_limits.insert(org, limits.clone());
        Ok(())
    }

    fn record_usage(&mut self, event: &UsageEvent) -> Result<Option<UsageEvent>, StoreError> {
        let same_key = |e: &&UsageEvent| e.org_id == event.org_id && e.idempotency_key == event.idempotency_key;
        if let Some(first) = self.usage.iter().find(same_key) {
            return Ok(Some(first.clone()));
        }
        self.usage.push(event.clone());
        Ok(None)
    }

    fn spend_between(&mut self, org: OrgId, from: NaiveDate, to: NaiveDate) -> Result<i64, StoreError> {
        let in_window = |e: &&UsageEvent| e.org_id == org && e.local_day >= from && e.local_day < to;
        Ok(self.usage.iter().filter(in_window).fold(0i64, |sum, e| sum.saturating_add(e.amount_micros)))
    }

    fn announce_levels(
        &mut self,
        org: OrgId,
        window: &WindowSpan,
        levels: &[Posture],
        _now: DateTime<Utc>,
    ) -> Result<Vec<Posture>, StoreError> {
        Ok(levels
            .iter()
            .copied()
            .filter(|level| self.spend_alerts.insert((org, window.kind.as_str(), window.start, *level)))
            .collect())
    }
}

impl DashboardRepository for State {
    fn dashboard_counts(
        &mut self,
        org: OrgId,
        now: DateTime<Utc>,
        expiring_before: DateTime<Utc>,
        audit_since: DateTime<Utc>,
    ) -> Result<DashboardCounts, StoreError> {
        let mut by_role: BTreeMap<RoleKey, RoleFigures> = BTreeMap::new();
        for m in self.memberships.values().filter(|m| m.org_id == org) {
            let figures = by_role.entry(m.role.clone()).or_insert_with(|| RoleFigures {
                role: m.role.clone(),
                members: 0,
                suspended: 0,
                mfa_enrolled: 0,
            });
            figures.members += 1;
            figures.suspended += i64::from(m.is_suspended());
            figures.mfa_enrolled += i64::from(self.users.get(&m.user_id).is_some_and(|u| u.mfa_enrolled));
        }
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let keys: Vec<_> = self
            .api_keys
            .values()
            .map(|(k, _)| k)
            .filter(|k| k.org_id == org && k.revoked_at.is_none() && k.expires_at.is_none_or(|at| at > now))
            .collect();
        Ok(DashboardCounts {
            by_role: by_role.into_values().collect(),
            pending_invites: count(
                self.invites
                    .values()
                    .filter(|(i, _)| i.org_id == org && i.status(now) == InviteStatus::Pending)
                    .count(),
            ),
            teams: count(self.teams.values().filter(|t| t.org_id == org).count()),
            active_api_keys: count(keys.len()),
            expiring_api_keys: count(
                keys.iter().filter(|k| k.expires_at.is_some_and(|at| at < expiring_before)).count(),
            ),
            audit_events_since: count(
                self.audit.iter().filter(|r| r.org_id == org && r.occurred_at >= audit_since).count(),
            ),
        })
    }
}
