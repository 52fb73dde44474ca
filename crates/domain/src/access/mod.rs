//! Entering an organization: who the caller is there, with which rights, and whether the
//! organization's policies let them in. Every use case inside an organization starts here,
//! so a rule enforced here holds on every route.

mod api_key;
mod cache;
mod gate;
mod staff;

pub use cache::{CacheEntry, EntryCache, EntryCacheAccess, Epoch, NoCache};

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
    /// Who the audit log records as acting.
    pub actor: Actor,
    /// The organization entered.
    pub org: Organization,
    /// The caller's rights in it.
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
    /// Read without locking.
    None,
    /// Lock the organization row until the transaction ends, so concurrent writers take turns.
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

/// The organization and its policies: from the entry cache when the caller takes no lock,
/// else read (and locked) in this transaction.
fn find_org<E>(tx: &mut dyn Tx, id: OrgId, lock: Lock, epoch: Epoch) -> Result<(Organization, OrgPolicies), E>
where
    E: From<AccessError> + From<StoreError>,
{
    if lock == Lock::None {
        if let Some(found) = tx.entry_cache().org(id) {
            return Ok(found);
        }
    }
    let found = tx.find_org_for_entry(id, lock == Lock::Org)?.ok_or(AccessError::NotFound("organization"))?;
    tx.keep_after_commit(epoch, CacheEntry::Org(Box::new(found.clone())));
    Ok(found)
}

/// A person's membership of `org`, cached like [`find_org`]. Only memberships are kept:
/// an outsider is looked up every time, so a new membership needs no invalidation.
fn find_membership(
    tx: &mut dyn Tx,
    org: OrgId,
    user: UserId,
    lock: Lock,
    epoch: Epoch,
) -> Result<Option<Membership>, StoreError> {
    if lock == Lock::None {
        if let Some(found) = tx.entry_cache().membership(org, user) {
            return Ok(Some(found));
        }
    }
    let found = tx.find_membership_of_user(org, user)?;
    if let Some(membership) = &found {
        tx.keep_after_commit(epoch, CacheEntry::Membership(membership.clone()));
    }
    Ok(found)
}

/// [`member_grant`], cached like [`find_org`].
fn find_member_grant(
    tx: &mut dyn Tx,
    org: OrgId,
    role: &RoleKey,
    lock: Lock,
    epoch: Epoch,
) -> Result<Grant, StoreError> {
    let cached = if lock == Lock::None { tx.entry_cache().role_permissions(org, role) } else { None };
    let permissions = match cached {
        Some(permissions) => permissions,
        None => {
            let found = role_permissions(tx, org, role)?;
            if let Some(permissions) = found {
                tx.keep_after_commit(epoch, CacheEntry::RolePermissions { org, role: role.clone(), permissions });
            }
            found.unwrap_or(PermissionSet::EMPTY)
        }
    };
    Ok(Grant { role: role.clone(), permissions, access: Access::Direct })
}

/// The stored person behind `identity`: from the entry cache when the claims would change
/// nothing, else synchronised in this transaction.
fn find_user(
    tx: &mut dyn Tx,
    identity: &Identity,
    caller: &Caller,
    now: DateTime<Utc>,
    epoch: Epoch,
) -> Result<User, StoreError> {
    if let Some(cached) = tx.entry_cache().user(&identity.subject) {
        if cached.unchanged_by(identity, &caller.meta, now) {
            return Ok(cached);
        }
    }
    let user = sync_user(tx, identity, &caller.meta, now)?;
    tx.keep_after_commit(epoch, CacheEntry::User(user.clone()));
    Ok(user)
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
    // Before any row is read, so that a change racing this entry invalidates what it keeps.
    let epoch = tx.entry_cache().epoch();
    match &caller.principal {
        Principal::User(identity) => enter_as_user(tx, identity, caller, org, now, lock, epoch),
        Principal::ApiKey(credential) => api_key::enter(tx, credential, caller, org, now, lock, epoch),
    }
}

/// The caller's scope in `org` from the entry cache alone, admitted by the organization's
/// policies; `None` when something is not cached or entering would write (a profile to
/// refresh, a key's use to record, staff access to audit, a provisioned membership to
/// link): the caller then enters through [`enter_org`].
pub fn cached_entry(
    cache: &dyn EntryCache,
    caller: &Caller,
    org: &OrgRef,
    now: DateTime<Utc>,
) -> Option<Result<OrgScope, AccessError>> {
    let scope = match &caller.principal {
        Principal::User(identity) => {
            let OrgRef::Id(org_id) = org else { return None };
            let user = cache.user(&identity.subject).filter(|u| u.unchanged_by(identity, &caller.meta, now))?;
            let membership = cache.membership(*org_id, user.id).filter(|m| !m.is_suspended())?;
            let (org, policies) = cache.org(*org_id)?;
            let grant = cached_grant(cache, org.id, &membership.role)?;
            OrgScope {
                actor: Actor::User(user.id),
                user: Some(user),
                org,
                grant,
                membership: Some(membership),
                policies,
                break_glass: None,
            }
        }
        Principal::ApiKey(credential) => api_key::cached_entry(cache, credential, caller, org, now)?,
    };
    Some(gate::admit(&scope, caller, now).map(|()| scope))
}

fn cached_grant(cache: &dyn EntryCache, org: OrgId, role: &RoleKey) -> Option<Grant> {
    let permissions = if role.is_owner() { PermissionSet::all() } else { cache.role_permissions(org, role)? };
    Some(Grant { role: role.clone(), permissions, access: Access::Direct })
}

/// Answers read-only `work` inside `org` from memory alone, without a connection: `None`
/// when the caller's entry is not cached or `work` needs the store (it returns `None`
/// then), and the caller asks [`read_in_org`] instead. Refusals are the same as there.
pub fn read_cached<S, T, E>(
    store: &S,
    caller: &Caller,
    org: &OrgRef,
    now: DateTime<Utc>,
    work: impl FnOnce(&OrgScope) -> Option<Result<T, E>>,
) -> Option<Result<T, E>>
where
    S: crate::Store,
    E: From<AccessError>,
{
    match cached_entry(store.cached_entries(), caller, org, now)? {
        Ok(scope) => work(&scope),
        Err(refused) => Some(Err(refused.into())),
    }
}

/// Runs read-only `work` inside `org`: without a transaction when the caller's entry is
/// cached (one statement is then one round trip), else in one after [`enter_org`].
pub fn read_in_org<S, T, E>(
    store: &S,
    caller: &Caller,
    org: &OrgRef,
    now: DateTime<Utc>,
    work: impl Fn(&mut dyn Tx, &OrgScope) -> Result<T, E>,
) -> Result<T, E>
where
    S: crate::Store,
    E: From<AccessError> + From<StoreError>,
{
    let cached = store.read(|tx| match cached_entry(tx.entry_cache(), caller, org, now) {
        Some(Ok(scope)) => work(tx, &scope).map(Some),
        Some(Err(refused)) => Err(refused.into()),
        None => Ok(None),
    })?;
    match cached {
        Some(found) => Ok(found),
        None => store.transaction(|tx| {
            let scope = enter_org::<E>(tx, caller, org, now, Lock::None)?;
            work(tx, &scope)
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn enter_as_user<E>(
    tx: &mut dyn Tx,
    identity: &Identity,
    caller: &Caller,
    org: &OrgRef,
    now: DateTime<Utc>,
    lock: Lock,
    epoch: Epoch,
) -> Result<OrgScope, E>
where
    E: From<AccessError> + From<StoreError>,
{
    let not_found = || AccessError::NotFound("organization");
    let user = find_user(tx, identity, caller, now, epoch)?;
    let org_id = match org {
        OrgRef::Id(id) => *id,
        // Still a 404, but one that tells a newcomer what to do next.
        OrgRef::Me => tx.default_org_of_user(user.id)?.ok_or(AccessError::NotFound(
            "organization `me` (you belong to none yet: create one with POST /v1/orgs)",
        ))?,
    };
    let (org, policies) = find_org::<E>(tx, org_id, lock, epoch)?;
    let mut membership = find_membership(tx, org.id, user.id, lock, epoch)?;
    if membership.is_none() {
        // Provisioned here since this person's profile was last written: link now rather
        // than at the next refresh.
        let linked = crate::user::link_provisioned(tx, &user, &caller.meta, now)?;
        membership = linked.into_iter().find(|m| m.org_id == org.id);
    }
    let (grant, actor) = match &membership {
        Some(m) if m.is_suspended() => return Err(AccessError::MembershipSuspended.into()),
        Some(m) => (find_member_grant(tx, org.id, &m.role, lock, epoch)?, Actor::User(user.id)),
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
