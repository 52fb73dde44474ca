//! Platform staff inside a customer's organization.

use chrono::{DateTime, Utc};

use crate::audit::{Actor, AuditAction, AuditFilter, AuditRecord, Changes, Target};
use crate::authz::{Access, Grant, Permission, PermissionSet, SystemRole};
use crate::context::RequestMeta;
use crate::error::StoreError;
use crate::ids::{OrgId, UserId};
use crate::store::Tx;

/// What platform staff without a membership may do in a customer organization: read, by
/// an explicit list, never change. A permission added to the catalogue later is not
/// granted to staff until it is named here.
const STAFF_READS: &[Permission] = &[
    Permission::OrgRead,
    Permission::MembersRead,
    Permission::RolesRead,
    Permission::InvitesRead,
    Permission::TeamsRead,
    Permission::SecurityRead,
    Permission::SsoRead,
    Permission::ScimRead,
    Permission::AuditRead,
    Permission::BillingRead,
    Permission::LlmRead,
];

pub(crate) fn grant() -> Grant {
    Grant { role: SystemRole::Member.key(), permissions: PermissionSet::of(STAFF_READS), access: Access::Staff }
}

/// Records that platform staff looked into `org`, in its audit log (actor `staff`, action
/// `staff.accessed`, the route in `changes`) and in the platform log: once per request,
/// however many transactions the request runs (an export reads in batches).
pub(crate) fn record_access(
    tx: &mut dyn Tx,
    user: UserId,
    org: OrgId,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !meta.request_id.is_empty() {
        let by_them = AuditFilter { actor_id: Some(user.to_string()), ..AuditFilter::default() };
        let last = tx.list_audit(org, &by_them, None, 1)?;
        if last.first().is_some_and(|e| {
            e.action == AuditAction::StaffAccessed.as_str() && e.request_id.as_deref() == Some(meta.request_id.as_str())
        }) {
            return Ok(());
        }
    }
    let mut changes = Changes::new();
    if let Some(route) = &meta.route {
        changes.set("route", route.as_str());
    }
    let record = AuditRecord::new(
        org,
        &Actor::Staff(user),
        AuditAction::StaffAccessed,
        Target::new("organization", org),
        meta,
        now,
    )
    .with_changes(changes);
    tx.append_audit(&record)?;
    tx.append_platform_audit(&record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_may_read_but_never_write() {
        let grant = grant();
        assert_eq!(grant.access, Access::Staff);
        assert!(grant.authorize(Permission::MembersRead).is_ok());
        assert!(grant.authorize(Permission::AuditRead).is_ok());
        for permission in Permission::ALL.iter().filter(|p| !p.as_str().ends_with(":read")) {
            assert!(grant.authorize(*permission).is_err(), "{permission}");
        }
        assert!(!grant.is_owner());
    }
}
