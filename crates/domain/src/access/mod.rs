//! Entering an organization: who the caller is there, with which rights, and whether the
//! organization's policies let them in. Every use case inside an organization starts here,
//! so a rule enforced here holds on every route.

mod api_key;
mod gate;
mod staff;

pub(crate) use staff::{grant as staff_grant, record_access};

use chrono::{DateTime, Utc};

pub use gate::BREAK_GLASS_WINDOW;

use crate::audit::Actor;
use crate::authz::{Access, Grant, Permission, PermissionSet, RoleKey, SystemRole};
use crate::context::{Caller, Identity, Principal};
use crate::error::{AccessError, StoreError};
use crate::ids::{OrgId, UserId};
use crate::member::Membership;
use crate::org::{OrgRef, Organization};
use crate::policy::{OrgPolicies, PolicyRefusal};
use crate::store::Tx;
use crate::user::{sync_user, User};

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
    /// The organization's policies, as the gate read them.
    pub policies: OrgPolicies,
    /// The policy an owner was let in despite, through the break-glass path
    /// ([`enter_org_to_administer_policies`]); the use case records it in the audit log.
    pub break_glass: Option<PolicyRefusal>,
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

/// What a standing rule that gives people `role` without anyone deciding each case (a
/// domain's automatic join, a SCIM group's role) takes of whoever sets it: the right to
/// change members' roles and every permission of the role. `unknown_role` is the error for
/// a role the organization does not have.
pub fn authorize_role_assignment<E>(
    tx: &mut dyn Tx,
    org: OrgId,
    grant: &Grant,
    role: &RoleKey,
    unknown_role: impl FnOnce() -> E,
) -> Result<(), E>
where
    E: From<AccessError> + From<StoreError>,
{
    grant.authorize(Permission::MembersUpdate)?;
    let Some(permissions) = role_permissions(tx, org, role)? else { return Err(unknown_role()) };
    grant.may_change_role(None, Some(&crate::authz::RoleGrant { key: role, permissions }))?;
    Ok(())
}

/// Whether the person who set such a rule could still set it now: an active member whose
/// rights pass [`authorize_role_assignment`]. A rule whose setter was demoted, suspended or
/// left gives nothing more.
pub fn setter_may_assign(tx: &mut dyn Tx, org: OrgId, set_by: UserId, role: &RoleKey) -> Result<bool, StoreError> {
    let Some(setter) = tx.find_membership_of_user(org, set_by)?.filter(|m| !m.is_suspended()) else {
        return Ok(false);
    };
    let grant = member_grant(tx, org, &setter.role)?;
    match authorize_role_assignment(tx, org, &grant, role, || SetterRefused::UnknownRole) {
        Ok(()) => Ok(true),
        Err(SetterRefused::Store(e)) => Err(e),
        Err(_) => Ok(false),
    }
}

/// Why [`setter_may_assign`] says no, before it becomes `false`.
enum SetterRefused {
    UnknownRole,
    Access,
    Store(StoreError),
}

impl From<AccessError> for SetterRefused {
    fn from(_: AccessError) -> Self {
        SetterRefused::Access
    }
}

impl From<StoreError> for SetterRefused {
    fn from(e: StoreError) -> Self {
        SetterRefused::Store(e)
    }
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

fn find_org<E>(tx: &mut dyn Tx, id: OrgId, lock: Lock) -> Result<(Organization, OrgPolicies), E>
where
    E: From<AccessError> + From<StoreError>,
{
    Ok(tx.find_org_for_entry(id, lock == Lock::Org)?.ok_or(AccessError::NotFound("organization"))?)
}

/// Resolves `org` for the caller and lets them in if its policies do. An organization
/// that does not exist, is deleted, or that the caller has no access to is the same
/// `NotFound`: existence never leaks across tenants. A member the policies keep out is
/// told which policy and why.
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
    let scope = resolve::<E>(tx, caller, org, now, lock)?;
    gate::admit(&scope, caller, now)?;
    Ok(scope)
}

/// [`enter_org`] for reading and changing the organization's own policies, with the
/// owners' way out of a lock-out: an owner who signed in with a second factor within
/// [`BREAK_GLASS_WINDOW`] is let in despite the IP allowlist, sign-in methods and session
/// age, and the scope says so (`break_glass`) for the use case to audit.
pub fn enter_org_to_administer_policies<E>(
    tx: &mut dyn Tx,
    caller: &Caller,
    org: &OrgRef,
    now: DateTime<Utc>,
    lock: Lock,
) -> Result<OrgScope, E>
where
    E: From<AccessError> + From<StoreError>,
{
    let mut scope = resolve::<E>(tx, caller, org, now, lock)?;
    scope.break_glass = gate::admit_or_break_glass(&scope, caller, now)?;
    Ok(scope)
}

fn resolve<E>(tx: &mut dyn Tx, caller: &Caller, org: &OrgRef, now: DateTime<Utc>, lock: Lock) -> Result<OrgScope, E>
where
    E: From<AccessError> + From<StoreError>,
{
    match &caller.principal {
        Principal::User(identity) => enter_as_user(tx, identity, caller, org, now, lock),
        Principal::ApiKey(credential) => api_key::enter(tx, credential, caller, org, now, lock),
    }
}

fn enter_as_user<E>(
    tx: &mut dyn Tx,
    identity: &Identity,
    caller: &Caller,
    org: &OrgRef,
    now: DateTime<Utc>,
    lock: Lock,
) -> Result<OrgScope, E>
where
    E: From<AccessError> + From<StoreError>,
{
    let not_found = || AccessError::NotFound("organization");
    let user = sync_user(tx, identity, &caller.meta, now)?;
    let org_id = match org {
        OrgRef::Id(id) => *id,
        // Still a 404, but one that tells a newcomer what to do next.
        OrgRef::Me => tx.default_org_of_user(user.id)?.ok_or(AccessError::NotFound(
            "organization `me` (you belong to none yet: create one with POST /v1/orgs)",
        ))?,
    };
    let (org, policies) = find_org::<E>(tx, org_id, lock)?;
    let mut membership = tx.find_membership_of_user(org.id, user.id)?;
    if membership.is_none() {
        // Provisioned here since this person's profile was last written: link now rather
        // than at the next refresh.
        let linked = crate::user::link_provisioned(tx, &user, &caller.meta, now)?;
        membership = linked.into_iter().find(|m| m.org_id == org.id);
    }
    let (grant, actor) = match &membership {
        Some(m) if m.is_suspended() => return Err(AccessError::MembershipSuspended.into()),
        Some(m) => (member_grant(tx, org.id, &m.role)?, Actor::User(user.id)),
        // Staff read, whatever their staff role: changes go through `/v1/admin`. Every look
        // is recorded in the organization's own log, in the transaction that reads.
        None if identity.staff.is_some() => {
            staff::record_access(tx, user.id, org.id, &caller.meta, now)?;
            (staff::grant(), Actor::Staff(user.id))
        }
        None => return Err(not_found().into()),
    };
    Ok(OrgScope { actor, user: Some(user), org, grant, membership, policies, break_glass: None })
}
