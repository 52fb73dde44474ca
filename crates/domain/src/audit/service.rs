use std::ops::ControlFlow;
use std::sync::Arc;

use super::chain::{BreakKind, ChainBreak, ChainVerifier};
use super::log::{AuditEvent, AuditFilter, AuditQuery, ChainHead};
use crate::access::{enter_org, Lock};
use crate::authz::Permission;
use crate::context::Caller;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::OrgId;
use crate::org::OrgRef;
use crate::policy::Feature;
use crate::store::{Store, Tx};
use crate::time::Clock;

/// Records read per round trip while exporting (and by stores that do not stream
/// verification): large enough to amortise the query, small enough to keep memory flat
/// however long the log.
pub const AUDIT_BATCH: i64 = 2_000;
pub const MAX_PAGE: i64 = 100;

/// Why reading, verifying or exporting the audit log failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The filter or range breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The records, newest first.
    pub events: Vec<AuditEvent>,
    /// Pass as `before_seq` for the next (older) page.
    pub next_before: Option<i64>,
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many records were checked.
    pub verified: u64,
    /// The first record that does not link to the one before, if any: the log was changed.
    pub first_break: Option<ChainBreak>,
    /// The chain's head when verification ran; store it elsewhere to anchor later checks.
    pub head_seq: i64,
    /// The head's hash when verification ran.
    pub head_hash: [u8; 32],
    /// The call reached its limit before the end of the range: verify again from this
    /// record (the last one checked, so its link to the next is checked too).
    pub resume_from_seq: Option<i64>,
}

/// The most records one verification call checks: about a second of work, so that a few
/// parallel calls on a huge log cannot starve the connection pool for every tenant.
pub const MAX_VERIFY_PER_CALL: i64 = 100_000;

/// Which part of the chain to verify; the whole chain when both ends are absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerifyRange {
    /// The first record to check; the chain's start when absent.
    pub from_seq: Option<i64>,
    /// The last record to check; the chain's head when absent.
    pub to_seq: Option<i64>,
    /// The most records to check in this call; [`MAX_VERIFY_PER_CALL`] when absent.
    pub limit: Option<i64>,
}

impl VerifyRange {
    /// The number of records this call may check, once the range is known to be sound.
    fn validate(&self) -> Result<i64, Invalid> {
        let mut invalid = Invalid::default();
        for (field, seq) in [("from_seq", self.from_seq), ("to_seq", self.to_seq)] {
            if seq.is_some_and(|s| s < 1) {
                invalid.0.push(crate::FieldError::new(field, "out_of_range", "records are numbered from 1"));
            }
        }
        if let (Some(from), Some(to)) = (self.from_seq, self.to_seq) {
            if from > to {
                invalid.0.push(crate::FieldError::new(
                    "to_seq",
                    "out_of_range",
                    "`to_seq` must not be before `from_seq`",
                ));
            }
        }
        if self.limit.is_some_and(|l| !(1..=MAX_VERIFY_PER_CALL).contains(&l)) {
            let message = format!("1 to {MAX_VERIFY_PER_CALL}");
            invalid.0.push(crate::FieldError::new("limit", "out_of_range", message));
        }
        invalid.into_result()?;
        Ok(self.limit.unwrap_or(MAX_VERIFY_PER_CALL))
    }
}

/// Use cases of the audit log.
#[derive(Clone)]
pub struct AuditService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: Store> AuditService<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// A page of the organization's log matching `query`, newest first, strictly before
    /// `before_seq`, of at most `limit` (1 to 100) records; needs `audit:read`.
    pub fn list(
        &self,
        caller: &Caller,
        org: &OrgRef,
        query: AuditQuery,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<AuditPage, AuditError> {
        let filter = query.parse()?;
        let limit = limit.clamp(1, MAX_PAGE);
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<AuditError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::AuditRead)?;
            let mut events = tx.list_audit(scope.org.id, &filter, before_seq, limit + 1)?;
            let next_before = if events.len() as i64 > limit {
                events.truncate(limit as usize);
                events.last().map(|e| e.seq)
            } else {
                None
            };
            Ok(AuditPage { events, next_before })
        })
    }

    /// Recomputes the chain and reports the first break. Access is checked in one
    /// transaction (entering may write: a profile refresh, a staff visit's record); the head
    /// and the records are then read in one read-only snapshot, so the walk sees the chain
    /// as it stood at one instant while writers go on appending. The store streams the
    /// records in bounded memory. One call checks at most `range.limit` (capped at
    /// [`MAX_VERIFY_PER_CALL`]) records; when it stops short, `resume_from_seq` says where
    /// the next call starts.
    pub fn verify(&self, caller: &Caller, org: &OrgRef, range: VerifyRange) -> Result<VerifyReport, AuditError> {
        let budget = range.validate()?;
        let now = self.clock.now();
        let org_id = self.store.transaction(|tx| {
            let scope = enter_org::<AuditError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::AuditRead)?;
            Ok::<_, AuditError>(scope.org.id)
        })?;
        self.store.read_snapshot(|tx| {
            let Some(head) = tx.audit_head(org_id)? else {
                return Ok(VerifyReport {
                    verified: 0,
                    first_break: None,
                    head_seq: 0,
                    head_hash: super::chain::ZERO_HASH,
                    resume_from_seq: None,
                });
            };
            Ok(walk(tx, org_id, &head, range, budget)?)
        })
    }

    /// Where an export of a time range starts and ends: the organization (resolved once,
    /// so `me` cannot change meaning mid-export) and the contiguous `seq` span to stream.
    pub fn export_plan(&self, caller: &Caller, org: &OrgRef, query: AuditQuery) -> Result<ExportPlan, AuditError> {
        let filter = query.parse()?;
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<AuditError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::AuditRead)?;
            scope.org.entitlements.require(Feature::AuditExport)?;
            let span = tx.audit_seq_span(scope.org.id, filter.since, filter.until)?;
            Ok(ExportPlan { org: OrgRef::Id(scope.org.id), span })
        })
    }

    /// The next records of an export, oldest first: after `after_seq`, up to `last_seq`.
    pub fn export_batch(
        &self,
        caller: &Caller,
        plan: &ExportPlan,
        after_seq: i64,
    ) -> Result<Vec<AuditEvent>, AuditError> {
        let Some((_, last)) = plan.span else { return Ok(Vec::new()) };
        if after_seq >= last {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org::<AuditError>(tx, caller, &plan.org, now, Lock::None)?;
            scope.grant.authorize(Permission::AuditRead)?;
            Ok(tx.scan_audit(scope.org.id, &AuditFilter::default(), after_seq, AUDIT_BATCH.min(last - after_seq))?)
        })
    }
}

/// Checks the records of `range` against `head`, at most `budget` of them.
fn walk(
    tx: &mut dyn Tx,
    org_id: OrgId,
    head: &ChainHead,
    range: VerifyRange,
    budget: i64,
) -> Result<VerifyReport, StoreError> {
    let mut verifier = match range.from_seq {
        Some(from) if from > head.base_seq + 1 => ChainVerifier::from(from),
        _ => ChainVerifier::after(head.base_seq, head.base_hash),
    };
    let report = |verifier: &ChainVerifier, first_break, resume_from_seq| VerifyReport {
        verified: verifier.verified(),
        first_break,
        head_seq: head.seq,
        head_hash: head.hash,
        resume_from_seq,
    };
    let last = range.to_seq.map_or(head.seq, |to| to.min(head.seq));
    let (first, _) = verifier.position();
    if first <= last {
        let mut found = None;
        tx.stream_audit(org_id, first - 1, budget.min(last - first + 1), &mut |batch| {
            if let Err(broken) = batch.iter().try_for_each(|event| verifier.check(event)) {
                found = Some(broken);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        if found.is_some() {
            return Ok(report(&verifier, found, None));
        }
    }
    let (next, last_hash) = verifier.position();
    if next <= last {
        if verifier.verified() as i64 >= budget {
            // The record just verified is checked again by the next call, which then checks
            // its link to the one after: no link goes unchecked between calls.
            return Ok(report(&verifier, None, Some(next - 1)));
        }
        let kind = BreakKind::Truncated { head_seq: head.seq };
        return Ok(report(&verifier, Some(ChainBreak { seq: next, event_id: None, kind }), None));
    }
    if last == head.seq && last_hash.is_some_and(|h| h != head.hash) && head.seq > head.base_seq {
        let kind = BreakKind::Truncated { head_seq: head.seq };
        return Ok(report(&verifier, Some(ChainBreak { seq: head.seq, event_id: None, kind }), None));
    }
    Ok(report(&verifier, None, None))
}

/// What an export streams: one organization's records from `span.0` to `span.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportPlan {
    /// The organization exported.
    pub org: OrgRef,
    /// The first and last `seq` of the records to stream; `None` when none match.
    pub span: Option<(i64, i64)>,
}

impl ExportPlan {
    /// The `after_seq` of the first batch.
    pub fn start_after(&self) -> i64 {
        self.span.map_or(0, |(first, _)| first - 1)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::org::{CreateOrg, OrgService, Patch, UpdateOrg};
    use crate::testing::{caller, InMemoryStore};
    use crate::time::SystemClock;

    fn setup(updates: usize) -> (InMemoryStore, AuditService<InMemoryStore>, OrgRef) {
        let store = InMemoryStore::default();
        let clock = Arc::new(SystemClock);
        let orgs = OrgService::new(store.clone(), clock.clone());
        let org = OrgRef::Id(
            orgs.create(&caller("ada"), CreateOrg { name: "Acme".into(), ..Default::default() }).unwrap().org.id,
        );
        for n in 0..updates {
            orgs.update(
                &caller("ada"),
                &org,
                UpdateOrg { name: Patch::Set(format!("Acme {n}")), ..Default::default() },
                None,
            )
            .unwrap();
        }
        (store.clone(), AuditService::new(store, clock), org)
    }

    #[test]
    fn pages_run_newest_first_without_gaps() {
        let (_, audit, org) = setup(6);
        let first = audit.list(&caller("ada"), &org, AuditQuery::default(), None, 4).unwrap();
        let seqs: Vec<i64> = first.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![7, 6, 5, 4]);
        let second = audit.list(&caller("ada"), &org, AuditQuery::default(), first.next_before, 4).unwrap();
        assert_eq!(second.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 2, 1]);
        assert_eq!(second.next_before, None);
    }

    #[test]
    fn verification_passes_then_finds_tampering() {
        let (store, audit, org) = setup(3);
        let report = audit.verify(&caller("ada"), &org, VerifyRange::default()).unwrap();
        assert_eq!((report.verified, report.first_break.is_none(), report.head_seq), (4, true, 4));
        store.tamper_audit(2, |e| e.changes = serde_json::json!({ "forged": true }));
        let report = audit.verify(&caller("ada"), &org, VerifyRange::default()).unwrap();
        let broken = report.first_break.unwrap();
        assert_eq!((broken.seq, broken.kind), (3, BreakKind::HashMismatch));
    }

    #[test]
    fn a_capped_call_says_where_to_resume_and_resuming_checks_every_link() {
        let (store, audit, org) = setup(9);
        let first = VerifyRange { limit: Some(4), ..Default::default() };
        let report = audit.verify(&caller("ada"), &org, first).unwrap();
        assert_eq!((report.verified, report.first_break, report.resume_from_seq), (4, None, Some(4)));
        let rest = VerifyRange { from_seq: report.resume_from_seq, limit: Some(100), ..Default::default() };
        let report = audit.verify(&caller("ada"), &org, rest).unwrap();
        assert_eq!((report.verified, report.first_break, report.resume_from_seq), (7, None, None));

        // A record re-linked right after a resume point is still caught.
        store.tamper_audit(4, |e| e.prev_hash = [7; 32]);
        let report = audit.verify(&caller("ada"), &org, rest).unwrap();
        assert_eq!(report.first_break.map(|b| (b.seq, b.kind)), Some((5, BreakKind::PrevHashMismatch)));
    }

    #[test]
    fn a_range_that_cannot_exist_is_refused_by_field() {
        let (_, audit, org) = setup(0);
        let bad = VerifyRange { from_seq: Some(5), to_seq: Some(2), limit: Some(0) };
        let AuditError::Invalid(invalid) = audit.verify(&caller("ada"), &org, bad).unwrap_err() else { panic!() };
        let fields: Vec<_> = invalid.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["to_seq", "limit"]);
    }

    #[test]
    fn outsiders_and_members_without_audit_read_are_refused() {
        let (_, audit, org) = setup(0);
        assert!(matches!(
            audit.list(&caller("eve"), &org, AuditQuery::default(), None, 10),
            Err(AuditError::Access(AccessError::NotFound(_)))
        ));
    }
}
