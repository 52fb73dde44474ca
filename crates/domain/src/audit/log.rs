//! Reading the audit log: the stored record, filters, and the port.

use std::net::IpAddr;
use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::{Invalid, StoreError, ValueError};
use crate::ids::{EventId, OrgId};

/// An audit record as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The record's place in its organization's chain, from 1 without gaps.
    pub seq: i64,
    /// The record's id, also its event's id.
    pub id: EventId,
    /// The organization whose log it belongs to.
    pub org_id: OrgId,
    /// Who made the change: `user`, `api_key`, `system`, `scim` or `staff`.
    pub actor_type: String,
    /// The actor's public id.
    pub actor_id: String,
    /// What happened, as a dotted name (see [`AuditAction`](super::AuditAction)).
    pub action: String,
    /// The target's type, e.g. `member`.
    pub target_type: String,
    /// The target's public id.
    pub target_id: String,
    /// What changed, field by field: `{"field": {"from": …, "to": …}}`.
    pub changes: Value,
    /// The id of the request that made the change, when it came through the API.
    pub request_id: Option<String>,
    /// The client's IP address, when known.
    pub client_ip: Option<IpAddr>,
    /// The client's user agent, when sent.
    pub user_agent: Option<String>,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
    /// The hash of the record before it (zeros for the first).
    pub prev_hash: [u8; 32],
    /// The SHA-256 hash of `prev_hash` and this record's canonical form.
    pub hash: [u8; 32],
}

/// The head of an organization's chain: its last record, and where verification starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// The last record's `seq`; 0 for an empty log.
    pub seq: i64,
    /// The last record's hash.
    pub hash: [u8; 32],
    /// The `seq` verification starts after: 0, or the last record a retention policy removed.
    pub base_seq: i64,
    /// The hash the chain continues from at `base_seq`: zeros, or that removed record's hash.
    pub base_hash: [u8; 32],
}

/// Which records a listing or an export wants; every field narrows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    /// Actions starting with this, e.g. `member.` or `org.updated`.
    pub action_prefix: Option<String>,
    /// The actor's id (`usr_…`, `key_…`).
    pub actor_id: Option<String>,
    /// The target's id (`org_…`, `mem_…`, `team_…`, …).
    pub target_id: Option<String>,
    /// Inclusive.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
}

/// A filter as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Keep actions starting with this, e.g. `member.`.
    pub action: Option<String>,
    /// Keep records by this actor id.
    pub actor: Option<String>,
    /// Keep records about this target id.
    pub target: Option<String>,
    /// Keep records at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Keep records before this instant.
    pub until: Option<DateTime<Utc>>,
}

fn token(value: &str, what: &str) -> Result<String, ValueError> {
    let value = value.trim();
    let ok =
        (1..=100).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(ValueError::new("invalid_filter", format!("{what} is 1 to 100 letters, digits, `.`, `_`, `-` or `:`")))
    }
}

impl AuditQuery {
    /// Validates the filter: ids and prefixes are 1 to 100 letters, digits, `.`, `_`, `-` or
    /// `:`, and `since` comes before `until`.
    pub fn parse(self) -> Result<AuditFilter, Invalid> {
        let mut invalid = Invalid::default();
        let action_prefix = self.action.as_deref().and_then(|a| invalid.check("action", token(a, "an action prefix")));
        let actor_id = self.actor.as_deref().and_then(|a| invalid.check("actor", token(a, "an actor id")));
        let target_id = self.target.as_deref().and_then(|t| invalid.check("target", token(t, "a target id")));
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if since >= until {
                invalid.0.push(crate::FieldError::new("until", "empty_range", "`until` must be after `since`"));
            }
        }
        invalid.into_result()?;
        Ok(AuditFilter { action_prefix, actor_id, target_id, since: self.since, until: self.until })
    }
}

/// The port the audit log is read through. Every read is scoped by organization.
pub trait AuditLog {
    /// Up to `limit` records matching `filter`, newest first, strictly before `before_seq`.
    fn list_audit(
        &mut self,
        org: OrgId,
        filter: &AuditFilter,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// Up to `limit` records matching `filter`, oldest first, strictly after `after_seq`.
    fn scan_audit(
        &mut self,
        org: OrgId,
        filter: &AuditFilter,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// Feeds up to `limit` records strictly after `after_seq`, oldest first and without a
    /// filter, to `visit` in batches, until `visit` breaks or the records run out: the
    /// records of [`AuditLog::scan_audit`] pages, without their round trips. Stores stream
    /// them in bounded memory, however large `limit` is.
    fn stream_audit(
        &mut self,
        org: OrgId,
        after_seq: i64,
        limit: i64,
        visit: &mut dyn FnMut(&[AuditEvent]) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let (mut after, mut left) = (after_seq, limit);
        while left > 0 {
            let batch = self.scan_audit(org, &AuditFilter::default(), after, left.min(super::AUDIT_BATCH))?;
            let Some(last) = batch.last() else { break };
            (after, left) = (last.seq, left - batch.len() as i64);
            if visit(&batch).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// The head of the organization's chain; `None` before its first record.
    fn audit_head(&mut self, org: OrgId) -> Result<Option<ChainHead>, StoreError>;

    /// The first and last `seq` of records in the time range, if any. Records are stamped
    /// before they take their place in the chain, so times are only nearly in `seq` order;
    /// an export covers the whole `seq` span to stay a contiguous, verifiable chain.
    fn audit_seq_span(
        &mut self,
        org: OrgId,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Option<(i64, i64)>, StoreError>;
}
