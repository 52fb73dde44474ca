//! Entering an organization: who the caller is there, and with which rights.

use chrono::{DateTime, Utc};

use crate::audit::Actor;
use crate::authz::{Access, Grant, Permission, PermissionSet, RoleKey, SystemRole};
use crate::context::Caller;
use crate::error::{AccessError, StoreError};
use crate::member::Membership;
use crate::org::{OrgRef, Organization};
use crate::store::Tx;
use crate::user::{sync_user, User};

/// The caller inside one live organization.
#[derive(Debug, Clone)]
pub struct OrgScope {
    pub user: User,
    pub actor: Actor,
    pub org: Organization,
    pub grant: Grant,
    /// `None` when the caller reaches the organization as staff.
    pub membership: Option<Membership>,
}

/// Whether entering also locks the organization row for the rest of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    Org,
}

/// The rights a role key carries in an organization.
pub fn grant_for_role(role: &RoleKey) -> Grant {
    let permissions = role.system_role().map_or(PermissionSet::EMPTY, SystemRole::permissions);
    Grant { role: role.clone(), permissions, access: Access::Direct }
}

/// Platform staff without a membership may read, never change, a customer organization
/// through the tenant API.
fn staff_grant() -> Grant {
    let reads = Permission::ALL.iter().copied().filter(|p| p.as_str().ends_with(":read"));
    Grant { role: SystemRole::Member.key(), permissions: reads.collect(), access: Access::Staff }
}

/// Resolves `org` for the caller. An organization that does not exist, is deleted, or that
/// the caller has no access to is the same `NotFound`: existence never leaks across tenants.
pub fn enter_org<E>(
    tx: &mut dyn Tx,
    caller: &Caller,
    org: &OrgRef,
    now: DateTime<Utc>,
    lock: Lock,
) -> Result<OrgScope, E>
where
    E: From<AccessError> + From<StoreError>,
{
    let not_found = || AccessError::NotFound("organization");
    let user = sync_user(tx, &caller.identity, now)?;
    let org_id = match org {
        OrgRef::Id(id) => *id,
        OrgRef::Me => tx.default_org_of_user(user.id)?.ok_or_else(not_found)?,
    };
    let org = match lock {
        Lock::None => tx.find_org(org_id)?,
        Lock::Org => tx.lock_org(org_id)?,
    }
    .ok_or_else(not_found)?;
    let membership = tx.find_membership_of_user(org.id, user.id)?;
    let grant = match &membership {
        Some(m) => grant_for_role(&m.role),
        None if caller.identity.staff => staff_grant(),
        None => return Err(not_found().into()),
    };
    Ok(OrgScope { actor: Actor::User(user.id), user, org, grant, membership })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_may_read_but_never_write() {
        let grant = staff_grant();
        assert_eq!(grant.access, Access::Staff);
        assert!(grant.authorize(Permission::MembersRead).is_ok());
        assert!(grant.authorize(Permission::AuditRead).is_ok());
        assert!(grant.authorize(Permission::OrgUpdate).is_err());
        assert!(!grant.is_owner());
    }

    #[test]
    fn an_unknown_role_grants_nothing() {
        let grant = grant_for_role(&RoleKey::parse("ghost").unwrap());
        assert_eq!(grant.permissions, PermissionSet::EMPTY);
    }
}
