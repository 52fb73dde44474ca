//! Use cases of the SCIM provisioning settings, and authenticating a SCIM token.

use std::sync::Arc;

use super::model::{GroupRole, ScimConfig, StoredScimToken, MAX_GROUP_ROLES};
use crate::access::{authorize_role_assignment, enter_org_to_administer_policies, Lock, OrgScope};
use crate::apikey::SecretMinter;
use crate::audit::{AuditAction, AuditRecord, Changes, Target};
use crate::authz::{Permission, RoleKey};
use crate::context::Caller;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::{OrgId, TeamId};
use crate::org::OrgRef;
use crate::policy::{audit_break_glass, Feature, Versioned};
use crate::store::{Store, Tx};
use crate::time::Clock;
use crate::token::ScimToken;

/// Why reading or writing the SCIM settings failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the SCIM configuration is at version {current}, not {expected}")]
    VersionMismatch {
        /// The version the client expected.
        expected: i64,
        /// The configuration's version now.
        current: i64,
    },
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A group-to-role mapping as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRoleInput {
    /// The team's id (`team_…`).
    pub team: String,
    /// The role its identity-provider group grants; never `owner`.
    pub role: String,
}

fn parse_group_roles(tx: &mut dyn Tx, scope: &OrgScope, input: &[GroupRoleInput]) -> Result<Vec<GroupRole>, ScimError> {
    let set_by = scope.user.as_ref().ok_or(AccessError::UserRequired)?.id;
    if input.len() > MAX_GROUP_ROLES {
        return Err(Invalid::field("group_roles", "too_many", format!("at most {MAX_GROUP_ROLES} mappings")).into());
    }
    let mut out: Vec<GroupRole> = Vec::with_capacity(input.len());
    for (i, mapping) in input.iter().enumerate() {
        let field = |name: &str| format!("group_roles[{i}].{name}");
        let team: TeamId = mapping
            .team
            .parse()
            .map_err(|_| Invalid::field(field("team_id"), "unknown_team", "no such team in this organization"))?;
        if tx.find_team(scope.org.id, team)?.is_none() {
            return Err(Invalid::field(field("team_id"), "unknown_team", "no such team in this organization").into());
        }
        if out.iter().any(|g| g.team == team) {
            return Err(Invalid::field(field("team_id"), "duplicate_team", "each team is mapped once").into());
        }
        let role = RoleKey::parse(&mapping.role).map_err(|e| Invalid::field(field("role"), e.code, e.message))?;
        if role.is_owner() {
            return Err(Invalid::field(
                field("role"),
                "owner_not_provisioned",
                "a group never makes an owner: only an owner makes one",
            )
            .into());
        }
        authorize_role_assignment(tx, scope.org.id, &scope.grant, &role, || {
            ScimError::from(Invalid::field(field("role"), "unknown_role", "no such role in this organization"))
        })?;
        out.push(GroupRole { team, role, set_by });
    }
    Ok(out)
}

/// The outcome of writing the SCIM settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimWrite {
    /// The settings saved, with their version.
    pub config: Versioned<ScimConfig>,
    /// The token this write issued. It is shown this once: only its hash is kept.
    pub token: Option<String>,
}

/// Use cases of the SCIM provisioning settings.
#[derive(Clone)]
pub struct ScimService<S> {
    store: S,
    clock: Arc<dyn Clock>,
    minter: Arc<dyn SecretMinter>,
}

impl<S: Store> ScimService<S> {
    /// The service over `store`, minting tokens with `minter` and reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>, minter: Arc<dyn SecretMinter>) -> Self {
        Self { store, clock, minter }
    }

    /// The settings; never written: disabled, no token, version 0. Reading is never gated
    /// by plan.
    pub fn get(&self, caller: &Caller, org: &OrgRef) -> Result<Versioned<ScimConfig>, ScimError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org_to_administer_policies::<ScimError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::ScimRead)?;
            audit_break_glass(tx, &scope, caller, now)?;
            Ok(tx.find_scim_config(scope.org.id)?.unwrap_or_default())
        })
    }

    /// Enables or disables provisioning, and issues a new token with `rotate_token` (or
    /// when enabling without one). Disabling or rotating kills the previous token at once.
    /// `group_roles`, when given, replaces the group-to-role mappings: each names a team of
    /// the organization and a role that is not `owner` and that the caller could give.
    pub fn put(
        &self,
        caller: &Caller,
        org: &OrgRef,
        enabled: bool,
        rotate_token: bool,
        group_roles: Option<Vec<GroupRoleInput>>,
        if_match: Option<i64>,
    ) -> Result<ScimWrite, ScimError> {
        if rotate_token && !enabled {
            return Err(Invalid::field(
                "rotate_token",
                "requires_enabled",
                "a token is issued only with `enabled: true`",
            )
            .into());
        }
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org_to_administer_policies::<ScimError>(tx, caller, org, now, Lock::Org)?;
            caller.identity()?;
            scope.grant.authorize(Permission::ScimWrite)?;
            // Switching provisioning off (and killing its token) stays possible on any plan.
            if enabled {
                scope.org.entitlements.require(Feature::Scim)?;
            }
            let current = tx.find_scim_config(scope.org.id)?.unwrap_or_default();
            if let Some(expected) = if_match.filter(|v| *v != current.version) {
                return Err(ScimError::VersionMismatch { expected, current: current.version });
            }
            audit_break_glass(tx, &scope, caller, now)?;
            let minted =
                (enabled && (rotate_token || current.policy.token.is_none())).then(|| self.minter.mint_scim_token());
            let token = match &minted {
                _ if !enabled => None,
                Some(m) => {
                    Some(StoredScimToken { lookup_hash: m.lookup_hash.clone(), hint: m.hint.clone(), created_at: now })
                }
                None => current.policy.token.clone(),
            };
            let group_roles = match &group_roles {
                Some(input) => parse_group_roles(tx, &scope, input)?,
                None => current.policy.group_roles.clone(),
            };
            let next = ScimConfig { enabled, token, group_roles };
            if next == current.policy {
                return Ok(ScimWrite { config: current, token: None });
            }
            let next = Versioned { policy: next, version: current.version + 1, updated_at: Some(now) };
            tx.save_scim_config(scope.org.id, &next)?;
            let mut changes = Changes::new();
            changes.diff("enabled", &current.policy.enabled, &enabled);
            let describe = |roles: &[GroupRole]| -> Vec<String> {
                roles.iter().map(|g| format!("{}={}", g.team, g.role)).collect()
            };
            changes.diff("group_roles", &describe(&current.policy.group_roles), &describe(&next.policy.group_roles));
            let token_change = match (&current.policy.token, &next.policy.token) {
                (None, Some(_)) => Some("issued"),
                (Some(_), Some(_)) if minted.is_some() => Some("rotated"),
                (Some(_), None) => Some("revoked"),
                _ => None,
            };
            if let Some(change) = token_change {
                changes.set("token", change);
            }
            changes.set("version", next.version);
            // One record per write, named after its main change: turning provisioning on
            // or off, else replacing the token.
            let action = if current.policy.enabled == enabled {
                AuditAction::ScimTokenRotated
            } else {
                AuditAction::ScimConfigUpdated
            };
            let target = Target::new("organization", scope.org.id);
            let record = AuditRecord::new(scope.org.id, &scope.actor, action, target, &caller.meta, now);
            tx.append_audit(&record.with_changes(changes))?;
            Ok(ScimWrite { config: next, token: minted.map(|m| m.token) })
        })
    }

    /// The organization a SCIM request presenting `token` acts for: one whose provisioning
    /// is enabled with exactly this token. A disabled or rotated-away token names none.
    pub fn authenticate_scim(&self, token: &ScimToken) -> Result<OrgId, ScimError> {
        let hashes = token.lookup_hashes(self.minter.as_ref());
        self.store.transaction(|tx| {
            Ok(super::provisioning::find_org(tx, &hashes)?.ok_or(AccessError::Unauthenticated("unknown"))?)
        })
    }
}
