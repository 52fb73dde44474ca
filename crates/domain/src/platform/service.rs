use std::sync::Arc;

use super::model::{AdminOrg, OrgSearchInput, PlatformAuditPage, SetEntitlements};
use super::role::StaffRole;
use crate::audit::{Actor, AuditAction, AuditQuery, AuditRecord, Changes, Target};
use crate::context::{Caller, Principal};
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::{OrgId, UserId};
use crate::org::{OrgError, OrgWriteError, UpdateOrg};
use crate::pagination::{Page, PageRequest};
use crate::store::{Store, Tx};
use crate::time::Clock;
use crate::user::sync_user;

/// The most platform audit records one page holds.
pub const MAX_AUDIT_PAGE: i64 = 100;

/// Why a platform-staff use case failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The caller is not staff with the role this needs, or the organization does not exist.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Restoring would give the organization a name a live organization took meanwhile.
    #[error("a live organization has taken this organization's name since it was deleted; rename one of them first")]
    NameTaken,
    /// Restoring would give the organization a slug a live organization took meanwhile.
    #[error("a live organization has taken this organization's slug since it was deleted; change one of them first")]
    SlugTaken,
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the organization changed since version {expected}; it is now at version {current}")]
    VersionMismatch {
        /// The version the client expected.
        expected: i64,
        /// The organization's version now.
        current: i64,
    },
    /// Only a deleted organization is restored.
    #[error("the organization is not deleted")]
    NotDeleted,
    /// A deleted organization is restored before it is changed.
    #[error("the organization is deleted; restore it first")]
    Deleted,
}

impl From<OrgError> for PlatformError {
    fn from(err: OrgError) -> Self {
        match err {
            OrgError::Access(e) => PlatformError::Access(e),
            OrgError::Invalid(e) => PlatformError::Invalid(e),
            OrgError::NameTaken => PlatformError::NameTaken,
            OrgError::SlugTaken => PlatformError::SlugTaken,
            OrgError::VersionMismatch { expected, current } => PlatformError::VersionMismatch { expected, current },
            OrgError::Store(e) => PlatformError::Store(e),
        }
    }
}

impl From<OrgWriteError> for PlatformError {
    fn from(err: OrgWriteError) -> Self {
        PlatformError::from(OrgError::from(err))
    }
}

/// The staff role of the caller. Anyone else is told nothing exists here: `/v1/admin` is
/// invisible to people who are not staff, to API keys, and to tokens whose staff claim the
/// server does not trust.
fn staff_role(caller: &Caller) -> Result<StaffRole, AccessError> {
    match &caller.principal {
        Principal::User(identity) => identity.staff.ok_or(AccessError::NotFound("resource")),
        Principal::ApiKey(_) => Err(AccessError::NotFound("resource")),
    }
}

/// Refuses `staff_read` what only `staff_admin` may do.
fn require_admin(role: StaffRole) -> Result<(), AccessError> {
    if role.may_write() {
        Ok(())
    } else {
        Err(AccessError::NotAllowed("this needs the `staff_admin` staff role; `staff_read` may only read"))
    }
}

/// Use cases of platform staff: every organization, deleted ones too.
#[derive(Clone)]
pub struct PlatformService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: Store> PlatformService<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The staff member behind `caller`, provisioned like any person.
    fn enter(&self, tx: &mut dyn Tx, caller: &Caller, write: bool) -> Result<UserId, PlatformError> {
        let role = staff_role(caller)?;
        if write {
            require_admin(role)?;
        }
        Ok(sync_user(tx, caller.identity()?, &caller.meta, self.clock.now())?.id)
    }

    fn find(tx: &mut dyn Tx, id: OrgId, lock: bool) -> Result<AdminOrg, PlatformError> {
        Ok(tx.find_any_org(id, lock)?.ok_or(AccessError::NotFound("organization"))?)
    }

    /// Records a staff change in the organization's log (done by the use case it reuses, or
    /// here) and in the platform log, in the same transaction.
    fn record(tx: &mut dyn Tx, record: &AuditRecord, in_org_log: bool) -> Result<(), StoreError> {
        if in_org_log {
            tx.append_audit(record)?;
        }
        tx.append_platform_audit(record)
    }

    /// Every organization matching the search, in creation order. A listing of names and
    /// plans, not a look into any one organization: recorded nowhere.
    pub fn list_orgs(
        &self,
        caller: &Caller,
        input: OrgSearchInput,
        page: PageRequest,
    ) -> Result<Page<AdminOrg>, PlatformError> {
        staff_role(caller)?;
        let search = input.parse()?;
        self.store.transaction(|tx| {
            self.enter(tx, caller, false)?;
            Ok(tx.search_orgs(&search, page)?)
        })
    }

    /// One organization, deleted or not; the look is recorded in its audit log.
    pub fn get_org(&self, caller: &Caller, id: OrgId) -> Result<AdminOrg, PlatformError> {
        staff_role(caller)?;
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let user = self.enter(tx, caller, false)?;
            let org = Self::find(tx, id, false)?;
            crate::access::record_access(tx, user, id, &caller.meta, now)?;
            Ok(org)
        })
    }

    /// The update `PATCH /v1/orgs/{org}` makes, by staff, on a live organization.
    pub fn update_org(
        &self,
        caller: &Caller,
        id: OrgId,
        input: UpdateOrg,
        if_match: Option<i64>,
    ) -> Result<AdminOrg, PlatformError> {
        require_admin(staff_role(caller)?)?;
        let changes = crate::org::parse_update(input)?;
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let user = self.enter(tx, caller, true)?;
            let before = Self::find(tx, id, true)?;
            if before.deleted_at.is_some() {
                return Err(PlatformError::Deleted);
            }
            let actor = Actor::Staff(user);
            let (org, record) = crate::org::apply_update(tx, before.org, changes, if_match, &actor, &caller.meta, now)?;
            if let Some(record) = record {
                Self::record(tx, &record, false)?;
            }
            Ok(AdminOrg { org, deleted_at: None })
        })
    }

    /// Soft-deletes a live organization, as its owner would.
    pub fn delete_org(&self, caller: &Caller, id: OrgId) -> Result<(), PlatformError> {
        require_admin(staff_role(caller)?)?;
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let user = self.enter(tx, caller, true)?;
            if Self::find(tx, id, true)?.deleted_at.is_some() {
                return Err(PlatformError::Deleted);
            }
            let record = crate::org::soft_delete(tx, id, &Actor::Staff(user), &caller.meta, now)?;
            Self::record(tx, &record, false)?;
            Ok(())
        })
    }

    /// Undoes a soft delete. Refused when the organization is live, or when a live
    /// organization took its name or slug meanwhile. Its released domains stay released.
    pub fn restore_org(&self, caller: &Caller, id: OrgId) -> Result<AdminOrg, PlatformError> {
        require_admin(staff_role(caller)?)?;
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let user = self.enter(tx, caller, true)?;
            let deleted = Self::find(tx, id, true)?;
            let Some(deleted_at) = deleted.deleted_at else { return Err(PlatformError::NotDeleted) };
            if tx.org_name_taken(&deleted.org.name)? {
                return Err(PlatformError::NameTaken);
            }
            if tx.org_slug_taken(&deleted.org.slug)? {
                return Err(PlatformError::SlugTaken);
            }
            // The unique indexes decide a race with a concurrent create or rename.
            tx.restore_org(id, now)?;
            let mut changes = Changes::new();
            changes.set("deleted_at", deleted_at.to_rfc3339());
            let record = AuditRecord::new(
                id,
                &Actor::Staff(user),
                AuditAction::OrgRestored,
                Target::new("organization", id),
                &caller.meta,
                now,
            )
            .with_changes(changes);
            Self::record(tx, &record, true)?;
            Self::find(tx, id, false)
        })
    }

    /// Replaces the plan and entitlement overrides of a live organization: what its feature
    /// gates allow from the next request on.
    pub fn set_entitlements(
        &self,
        caller: &Caller,
        id: OrgId,
        input: SetEntitlements,
        if_match: Option<i64>,
    ) -> Result<AdminOrg, PlatformError> {
        require_admin(staff_role(caller)?)?;
        let entitlements = input.parse()?;
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let user = self.enter(tx, caller, true)?;
            let current = Self::find(tx, id, true)?;
            if current.deleted_at.is_some() {
                return Err(PlatformError::Deleted);
            }
            let before = current.org;
            if let Some(expected) = if_match.filter(|v| *v != before.version) {
                return Err(PlatformError::VersionMismatch { expected, current: before.version });
            }
            if before.entitlements == entitlements {
                return Ok(AdminOrg { org: before, deleted_at: None });
            }
            let mut after = before.clone();
            after.entitlements = entitlements;
            after.version += 1;
            after.updated_at = now;
            tx.update_org(&after)?;
            let features = |e: &crate::policy::Entitlements| -> Vec<&'static str> {
                e.features().iter().map(|f| f.as_str()).collect()
            };
            let overrides = |e: &crate::policy::Entitlements| -> serde_json::Value {
                e.overrides.iter().map(|(f, on)| (f.as_str().to_owned(), serde_json::Value::Bool(*on))).collect()
            };
            let mut changes = Changes::new();
            changes.diff("plan", &before.entitlements.plan.as_str(), &after.entitlements.plan.as_str());
            changes.diff("overrides", &overrides(&before.entitlements), &overrides(&after.entitlements));
            changes.diff("features", &features(&before.entitlements), &features(&after.entitlements));
            let record = AuditRecord::new(
                id,
                &Actor::Staff(user),
                AuditAction::OrgPlanChanged,
                Target::new("organization", id),
                &caller.meta,
                now,
            )
            .with_changes(changes);
            Self::record(tx, &record, true)?;
            Ok(AdminOrg { org: after, deleted_at: None })
        })
    }

    /// The platform audit log, newest first; `org` narrows it to one organization.
    pub fn list_audit(
        &self,
        caller: &Caller,
        org: Option<OrgId>,
        query: AuditQuery,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<PlatformAuditPage, PlatformError> {
        staff_role(caller)?;
        let filter = query.parse()?;
        let limit = limit.clamp(1, MAX_AUDIT_PAGE);
        self.store.transaction(|tx| {
            self.enter(tx, caller, false)?;
            let mut events = tx.list_platform_audit(org, &filter, before_seq, limit + 1)?;
            let next_before = if events.len() as i64 > limit {
                events.truncate(limit as usize);
                events.last().map(|e| e.seq)
            } else {
                None
            };
            Ok(PlatformAuditPage { events, next_before })
        })
    }
}
