//! Entering an organization: who the caller is there, and with which rights.

use chrono::{DateTime, Duration, Utc};

use crate::audit::Actor;
use crate::authz::{Access, Grant, Permission, PermissionSet, RoleKey, SystemRole};
use crate::context::{Caller, Identity, Principal};
use crate::error::{AccessError, StoreError};
use crate::ids::OrgId;
use crate::member::Membership;
use crate::org::{OrgRef, Organization};
use crate::store::Tx;
use crate::user::{sync_user, User};

/// `last_used_at` of an API key is refreshed at most this often, so a busy key does not
/// turn every request into a write.
const KEY_USE_RESOLUTION: Duration = Duration::seconds(60);

/// The caller inside one live organization.
#[derive(Debug, Clone)]
pub struct OrgScope {
    /// The person calling; `None` for an API key.
    pub user: Option<User>,
    pub actor: Actor,
    pub org: Organization,
    pub grant: Grant,
    /// The caller's own membership; `None` for staff and API keys.
    pub membership: Option<Membership>,
}

/// Whether entering also locks the organization row for the rest of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    Org,
}

/// The permissions a role key carries in an organization: its custom role if it has one
/// (shadowing a system role of the same key), else the system role; `None` if neither.
/// `owner` always carries everything.
pub fn role_permissions(tx: &mut dyn Tx, org: OrgId, role: &RoleKey) -> Result<Option<PermissionSet>, StoreError> {
    if role.is_owner() {
        return Ok(Some(PermissionSet::all()));
    }
    if let Some(custom) = tx.find_role_by_key(org, role)? {
        return Ok(Some(custom.permissions));
    }
    Ok(role.system_role().map(SystemRole::permissions))
}

/// The rights a member holding `role` has in `org`.
pub fn member_grant(tx: &mut dyn Tx, org: OrgId, role: &RoleKey) -> Result<Grant, StoreError> {
    let permissions = role_permissions(tx, org, role)?.unwrap_or(PermissionSet::EMPTY);
    Ok(Grant { role: role.clone(), permissions, access: Access::Direct })
}

/// Authorizes changing one team's membership: `teams:update` organization-wide, or being
/// one of that team's managers (the scoped half of the decision lives in
/// [`Grant::authorize_on`]).
///
/// `membership` is the caller's own, if they are a member: only members manage teams.
pub fn authorize_team_membership_change<E>(
    tx: &mut dyn Tx,
    org: OrgId,
    grant: &Grant,
    membership: Option<&Membership>,
    team: crate::ids::TeamId,
) -> Result<(), E>
where
    E: From<AccessError> + From<StoreError>,
{
    let caller_manages = match membership {
        Some(own) => tx.find_team_member(org, team, own.id)?.is_some_and(|m| m.is_manager),
        None => false,
    };
    grant.authorize_on(Permission::TeamsUpdate, &crate::authz::Resource::TeamMembership { caller_manages })?;
    Ok(())
}

/// Platform staff without a membership may read, never change, a customer organization
/// through the tenant API.
fn staff_grant() -> Grant {
    let reads = Permission::ALL.iter().copied().filter(|p| p.as_str().ends_with(":read"));
    Grant { role: SystemRole::Member.key(), permissions: reads.collect(), access: Access::Staff }
}

fn find_org<E>(tx: &mut dyn Tx, id: OrgId, lock: Lock) -> Result<Organization, E>
where
    E: From<AccessError> + From<StoreError>,
{
    let org = match lock {
        Lock::None => tx.find_org(id)?,
        Lock::Org => tx.lock_org(id)?,
    };
    Ok(org.ok_or(AccessError::NotFound("organization"))?)
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
    match &caller.principal {
        Principal::User(identity) => enter_as_user(tx, identity, org, now, lock),
        Principal::ApiKey(credential) => {
            let key =
                tx.find_api_key_by_hash(&credential.lookup_hash)?.ok_or(AccessError::Unauthenticated("unknown"))?;
            if let Some(reason) = key.unusable_at(now) {
                return Err(AccessError::Unauthenticated(reason).into());
            }
            let org_id = match org {
                OrgRef::Me => key.org_id,
                OrgRef::Id(id) if *id == key.org_id => *id,
                OrgRef::Id(_) => return Err(AccessError::NotFound("organization").into()),
            };
            if key.last_used_at.is_none_or(|used| now - used >= KEY_USE_RESOLUTION) {
                tx.touch_api_key(key.id, now)?;
            }
            let org = find_org::<E>(tx, org_id, lock)?;
            let permissions = key.permissions.intersect(creator_permissions::<E>(tx, org.id, &key.created_by)?);
            let grant = Grant { role: api_key_role(), permissions, access: Access::ApiKey };
            Ok(OrgScope { user: None, actor: Actor::ApiKey(key.id), org, grant, membership: None })
        }
    }
}

/// What a key's creator may do in the organization now. A key is capped by this on every
/// use, so demoting or removing a person takes their keys' power with it; a key whose
/// creator has left authenticates no more.
fn creator_permissions<E>(tx: &mut dyn Tx, org: OrgId, creator: &Actor) -> Result<PermissionSet, E>
where
    E: From<AccessError> + From<StoreError>,
{
    let orphaned = || AccessError::Unauthenticated("orphaned");
    let Actor::User(user) = creator else { return Err(orphaned().into()) };
    let membership = tx.find_membership_of_user(org, *user)?.ok_or_else(orphaned)?;
    Ok(member_grant(tx, org, &membership.role)?.permissions)
}

/// The role name API keys report.
fn api_key_role() -> RoleKey {
    RoleKey::parse("api_key").unwrap_or_else(|_| SystemRole::Member.key())
}

fn enter_as_user<E>(
    tx: &mut dyn Tx,
    identity: &Identity,
    org: &OrgRef,
    now: DateTime<Utc>,
    lock: Lock,
) -> Result<OrgScope, E>
where
    E: From<AccessError> + From<StoreError>,
{
    let not_found = || AccessError::NotFound("organization");
    let user = sync_user(tx, identity, now)?;
    let org_id = match org {
        OrgRef::Id(id) => *id,
        OrgRef::Me => tx.default_org_of_user(user.id)?.ok_or_else(not_found)?,
    };
    let org = find_org::<E>(tx, org_id, lock)?;
    let membership = tx.find_membership_of_user(org.id, user.id)?;
    let grant = match &membership {
        Some(m) => member_grant(tx, org.id, &m.role)?,
        None if identity.staff => staff_grant(),
        None => return Err(not_found().into()),
    };
    Ok(OrgScope { actor: Actor::User(user.id), user: Some(user), org, grant, membership })
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
    fn api_keys_report_a_role_of_their_own() {
        assert_eq!(api_key_role().as_str(), "api_key");
    }
}
