//! Group-to-role mappings: members of a mapped group get its role, the first mapping that
//! applies winning; leaving every mapped group takes a role so given back to `member`.
//! Owners are never touched: a group neither makes nor unmakes an owner. A mapping gives
//! its role only while whoever set it could still give it, as a domain's automatic join.

use chrono::{DateTime, Utc};

use super::{audit, ScimContext};
use crate::access::setter_may_assign;
use crate::audit::{AuditAction, Changes, Target};
use crate::authz::{RoleKey, SystemRole};
use crate::ids::{MemberId, OrgId};
use crate::scim::fault::ScimFault;
use crate::store::Tx;

/// Gives each of `members` the role its groups now map to.
pub(super) fn apply(
    tx: &mut dyn Tx,
    org: OrgId,
    ctx: &ScimContext,
    members: &[MemberId],
    now: DateTime<Utc>,
) -> Result<(), ScimFault> {
    let mappings = tx.find_scim_config(org)?.map(|c| c.policy.group_roles).unwrap_or_default();
    for member in members {
        let Some(membership) = tx.find_member(org, *member)?.map(|m| m.membership) else { continue };
        if membership.role.is_owner() {
            continue;
        }
        let mut mapped: Option<RoleKey> = None;
        for mapping in &mappings {
            // A mapping whose setter could no longer set it (demoted, suspended, gone), or
            // whose role was deleted since, applies no more.
            if tx.find_team_member(org, mapping.team, membership.id)?.is_some()
                && setter_may_assign(tx, org, mapping.set_by, &mapping.role)?
            {
                mapped = Some(mapping.role.clone());
                break;
            }
        }
        let (role, from_group) = match mapped {
            Some(role) => (role, true),
            None if membership.role_from_group => (SystemRole::Member.key(), false),
            None => continue,
        };
        if role == membership.role && from_group == membership.role_from_group {
            continue;
        }
        tx.set_member_role(org, membership.id, &role, from_group, now)?;
        let mut changes = Changes::new();
        changes.diff("role", &membership.role.to_string(), &role.to_string());
        changes.set("reason", if from_group { "group_role_mapping" } else { "left_mapped_groups" });
        audit(tx, org, ctx, AuditAction::MemberRoleChanged, Target::new("member", membership.id), changes, now)?;
    }
    Ok(())
}
