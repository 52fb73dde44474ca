//! Entering an organization with an organization API key.

use chrono::{DateTime, Duration, Utc};

use super::{
    cached_grant, find_member_grant, find_membership, find_org, CacheEntry, EntryCache, Epoch, Lock, OrgScope,
};
use crate::audit::Actor;
use crate::authz::{Access, Grant, PermissionSet, RoleKey, SystemRole};
use crate::context::{ApiKeyCredential, Caller};
use crate::error::{AccessError, StoreError};
use crate::ids::OrgId;
use crate::org::OrgRef;
use crate::store::Tx;

/// `last_used_at` of an API key is refreshed at most this often (or when it is used from
/// another address), so a busy key does not turn every request into a write.
const KEY_USE_RESOLUTION: Duration = Duration::seconds(60);

#[allow(clippy::too_many_arguments)]
pub(super) fn enter<E>(
    tx: &mut dyn Tx,
    credential: &ApiKeyCredential,
    caller: &Caller,
    org: &OrgRef,
    now: DateTime<Utc>,
    lock: Lock,
    epoch: Epoch,
) -> Result<OrgScope, E>
where
    E: From<AccessError> + From<StoreError>,
{
    let cached = if lock == Lock::None { tx.entry_cache().api_key(&credential.hashes.current) } else { None };
    let mut key = match cached {
        Some(key) => key,
        None => credential
            .hashes
            .find(tx, |tx, hash| tx.find_api_key_by_hash(hash), |tx, from, to| tx.rekey_api_key(from, to))?
            .ok_or(AccessError::Unauthenticated("unknown"))?,
    };
    if let Some(reason) = key.unusable_at(now) {
        return Err(AccessError::Unauthenticated(reason).into());
    }
    let org_id = org_of_key(org, &key).ok_or(AccessError::NotFound("organization"))?;
    if needs_touch(&key, caller, now) {
        tx.touch_api_key(key.org_id, key.id, now, caller.meta.client_ip)?;
        key.last_used_at = Some(now);
        key.last_used_ip = caller.meta.client_ip.or(key.last_used_ip);
    }
    tx.keep_after_commit(epoch, CacheEntry::ApiKey { hash: credential.hashes.current.clone(), key: key.clone() });
    let (org, policies) = find_org::<E>(tx, org_id, lock, epoch)?;
    let permissions = key.permissions.intersect(creator_permissions::<E>(tx, org.id, &key.created_by, lock, epoch)?);
    let grant = Grant { role: role(), permissions, access: Access::ApiKey };
    Ok(OrgScope { user: None, actor: Actor::ApiKey(key.id), org, grant, membership: None, policies, break_glass: None })
}

/// [`enter`] from the entry cache alone; `None` when anything is missing, the key is not
/// usable (the database path says why), or its use is due to be recorded.
pub(super) fn cached_entry(
    cache: &dyn EntryCache,
    credential: &ApiKeyCredential,
    caller: &Caller,
    org: &OrgRef,
    now: DateTime<Utc>,
) -> Option<OrgScope> {
    let key = cache.api_key(&credential.hashes.current)?;
    if key.unusable_at(now).is_some() || needs_touch(&key, caller, now) {
        return None;
    }
    let org_id = org_of_key(org, &key)?;
    let Actor::User(creator) = key.created_by else { return None };
    let creator = cache.membership(org_id, creator).filter(|m| !m.is_suspended())?;
    let creator_grant = cached_grant(cache, org_id, &creator.role)?;
    let (org, policies) = cache.org(org_id)?;
    let grant = Grant {
        role: role(),
        permissions: key.permissions.intersect(creator_grant.permissions),
        access: Access::ApiKey,
    };
    Some(OrgScope {
        user: None,
        actor: Actor::ApiKey(key.id),
        org,
        grant,
        membership: None,
        policies,
        break_glass: None,
    })
}

/// The organization a key may enter for `org`: its own, and no other.
fn org_of_key(org: &OrgRef, key: &crate::apikey::ApiKey) -> Option<OrgId> {
    match org {
        OrgRef::Me => Some(key.org_id),
        OrgRef::Id(id) if *id == key.org_id => Some(*id),
        OrgRef::Id(_) => None,
    }
}

/// Whether this use of the key is to be recorded: from another address, or the last
/// recorded use is older than [`KEY_USE_RESOLUTION`].
fn needs_touch(key: &crate::apikey::ApiKey, caller: &Caller, now: DateTime<Utc>) -> bool {
    let moved = caller.meta.client_ip.is_some() && caller.meta.client_ip != key.last_used_ip;
    moved || key.last_used_at.is_none_or(|used| now - used >= KEY_USE_RESOLUTION)
}

/// What a key's creator may do in the organization now. A key is capped by this on every
/// use, so demoting or removing a person takes their keys' power with it; a key whose
/// creator has left, or is suspended, authenticates no more.
fn creator_permissions<E>(
    tx: &mut dyn Tx,
    org: OrgId,
    creator: &Actor,
    lock: Lock,
    epoch: Epoch,
) -> Result<PermissionSet, E>
where
    E: From<AccessError> + From<StoreError>,
{
    let orphaned = || AccessError::Unauthenticated("orphaned");
    let Actor::User(user) = creator else { return Err(orphaned().into()) };
    let membership = find_membership(tx, org, *user, lock, epoch)?.ok_or_else(orphaned)?;
    if membership.is_suspended() {
        return Err(AccessError::Unauthenticated("suspended with its creator").into());
    }
    Ok(find_member_grant(tx, org, &membership.role, lock, epoch)?.permissions)
}

/// The role name API keys report.
fn role() -> RoleKey {
    RoleKey::parse("api_key").unwrap_or_else(|_| SystemRole::Member.key())
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_keys_report_a_role_of_their_own() {
        assert_eq!(super::role().as_str(), "api_key");
    }
}
