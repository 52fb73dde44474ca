//! Entering an organization with an organization API key.

use chrono::{DateTime, Duration, Utc};

use super::{find_org, member_grant, Lock, OrgScope};
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

pub(super) fn enter<E>(
    tx: &mut dyn Tx,
    credential: &ApiKeyCredential,
    caller: &Caller,
    org: &OrgRef,
    now: DateTime<Utc>,
    lock: Lock,
) -> Result<OrgScope, E>
where
    E: From<AccessError> + From<StoreError>,
{
    let key = credential
        .hashes
        .find(tx, |tx, hash| tx.find_api_key_by_hash(hash), |tx, from, to| tx.rekey_api_key(from, to))?
        .ok_or(AccessError::Unauthenticated("unknown"))?;
    if let Some(reason) = key.unusable_at(now) {
        return Err(AccessError::Unauthenticated(reason).into());
    }
    let org_id = match org {
        OrgRef::Me => key.org_id,
        OrgRef::Id(id) if *id == key.org_id => *id,
        OrgRef::Id(_) => return Err(AccessError::NotFound("organization").into()),
    };
    let moved = caller.meta.client_ip.is_some() && caller.meta.client_ip != key.last_used_ip;
    if moved || key.last_used_at.is_none_or(|used| now - used >= KEY_USE_RESOLUTION) {
        tx.touch_api_key(key.org_id, key.id, now, caller.meta.client_ip)?;
    }
    let (org, policies) = find_org::<E>(tx, org_id, lock)?;
    let permissions = key.permissions.intersect(creator_permissions::<E>(tx, org.id, &key.created_by)?);
    let grant = Grant { role: role(), permissions, access: Access::ApiKey };
    Ok(OrgScope { user: None, actor: Actor::ApiKey(key.id), org, grant, membership: None, policies, break_glass: None })
}

/// What a key's creator may do in the organization now. A key is capped by this on every
/// use, so demoting or removing a person takes their keys' power with it; a key whose
/// creator has left, or is suspended, authenticates no more.
fn creator_permissions<E>(tx: &mut dyn Tx, org: OrgId, creator: &Actor) -> Result<PermissionSet, E>
where
    E: From<AccessError> + From<StoreError>,
{
    let orphaned = || AccessError::Unauthenticated("orphaned");
    let Actor::User(user) = creator else { return Err(orphaned().into()) };
    let membership = tx.find_membership_of_user(org, *user)?.ok_or_else(orphaned)?;
    if membership.is_suspended() {
        return Err(AccessError::Unauthenticated("suspended with its creator").into());
    }
    Ok(member_grant(tx, org, &membership.role)?.permissions)
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
