//! The platform staff's port over the in-memory state, with the database adapter's
//! semantics: deleted organizations visible, live names and slugs unique, an append-only
//! log numbered from 1.

use chrono::{DateTime, Utc};

use super::State;
use crate::audit::{AuditFilter, AuditRecord};
use crate::error::StoreError;
use crate::ids::OrgId;
use crate::org::{OrgName, OrgWriteError};
use crate::pagination::{Page, PageRequest};
use crate::platform::{AdminOrg, OrgSearch, PlatformAuditEvent, PlatformRepository};

impl State {
    fn admin_org(&self, id: OrgId) -> Option<AdminOrg> {
        self.orgs.get(&id).map(|(org, deleted_at)| AdminOrg { org: org.clone(), deleted_at: *deleted_at })
    }
}

impl PlatformRepository for State {
    fn search_orgs(&mut self, search: &OrgSearch, page: PageRequest) -> Result<Page<AdminOrg>, StoreError> {
        let rows: Vec<AdminOrg> = self
            .orgs
            .keys()
            .filter(|id| page.after.is_none_or(|after| id.as_uuid() > after))
            .filter_map(|id| self.admin_org(*id))
            .filter(|o| search.matches(o))
            .filter(|o| {
                search
                    .without_member
                    .is_none_or(|user| !self.memberships.values().any(|m| m.org_id == o.org.id && m.user_id == user))
            })
            .take(page.fetch_limit() as usize)
            .collect();
        Ok(Page::from_overfetch(rows, page, |o| o.org.id.as_uuid()))
    }

    fn find_any_org(&mut self, id: OrgId, _lock: bool) -> Result<Option<AdminOrg>, StoreError> {
        Ok(self.admin_org(id))
    }

    fn org_name_taken(&mut self, name: &OrgName) -> Result<bool, StoreError> {
        Ok(self.live_orgs().any(|o| o.name.as_str().to_lowercase() == name.as_str().to_lowercase()))
    }

    fn restore_org(&mut self, id: OrgId, at: DateTime<Utc>) -> Result<(), OrgWriteError> {
        let Some((org, _)) = self.orgs.get(&id).cloned() else { return Ok(()) };
        if let Some(err) = self.unique_violation(&org) {
            return Err(err);
        }
        let mut org = org;
        org.version += 1;
        org.updated_at = at;
        self.orgs.insert(id, (org, None));
        Ok(())
    }

    fn append_platform_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError> {
        let sealed = record.seal(0, crate::audit::chain::ZERO_HASH);
        self.platform_audit.push(PlatformAuditEvent {
            seq: self.platform_audit.len() as i64 + 1,
            id: sealed.id,
            actor_type: sealed.actor_type,
            actor_id: sealed.actor_id,
            action: sealed.action,
            org_id: Some(sealed.org_id),
            target_type: sealed.target_type,
            target_id: sealed.target_id,
            changes: sealed.changes,
            request_id: sealed.request_id,
            client_ip: sealed.client_ip,
            user_agent: sealed.user_agent,
            occurred_at: sealed.occurred_at,
        });
        Ok(())
    }

    fn list_platform_audit(
        &mut self,
        org: Option<OrgId>,
        filter: &AuditFilter,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PlatformAuditEvent>, StoreError> {
        Ok(self
            .platform_audit
            .iter()
            .rev()
            .filter(|e| org.is_none_or(|o| e.org_id == Some(o)) && before_seq.is_none_or(|b| e.seq < b))
            .filter(|e| {
                filter.action_prefix.as_ref().is_none_or(|p| e.action.starts_with(p.as_str()))
                    && filter.actor_id.as_ref().is_none_or(|a| &e.actor_id == a)
                    && filter.target_id.as_ref().is_none_or(|t| &e.target_id == t)
                    && filter.since.is_none_or(|s| e.occurred_at >= s)
                    && filter.until.is_none_or(|u| e.occurred_at < u)
            })
            .take(limit as usize)
            .cloned()
            .collect())
    }
}
