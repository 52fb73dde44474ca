//! Use cases of the SSO federation configuration.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::model::{ClientSecret, Connection, OidcConnection, ProposedConnection, SecretText, SsoConfig, SsoInput};
use super::sealing::SecretBox;
use crate::access::{enter_org_to_administer_policies, Lock, OrgScope};
use crate::audit::{AuditAction, AuditRecord, Changes, Target};
use crate::authz::Permission;
use crate::context::Caller;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::OrgId;
use crate::org::{OrgRef, Patch};
use crate::policy::{
    audit_break_glass, guard_lockout, preview_lockout, Feature, LockoutRefusal, OrgPolicies, PolicyWrite, Versioned,
    WriteMode,
};
use crate::store::{Store, Tx};
use crate::time::Clock;

/// Why reading or writing the SSO configuration failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsoError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the SSO configuration is at version {current}, not {expected}")]
    VersionMismatch {
        /// The version the client expected.
        expected: i64,
        /// The configuration's version now.
        current: i64,
    },
    /// The change would keep people out (the no-lock-out rules of every policy write).
    #[error(transparent)]
    Lockout(#[from] LockoutRefusal),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The policies as they would be with SSO enforced or not: enforcement holds the people
/// of every verified domain to SSO.
fn with_enforcement(tx: &mut dyn Tx, scope: &OrgScope, enforced: bool) -> Result<OrgPolicies, StoreError> {
    let mut proposed = scope.policies.clone();
    proposed.sso_domains = if enforced {
        tx.list_domains(scope.org.id)?.into_iter().filter(|d| d.is_verified()).map(|d| d.name).collect()
    } else {
        Default::default()
    };
    Ok(proposed)
}

/// What an OIDC client secret is bound to when sealed: its organization, so that a
/// ciphertext moved to another organization's row does not open.
fn secret_context(org: OrgId) -> Vec<u8> {
    format!("sso.oidc.client_secret:{org}").into_bytes()
}

/// Use cases of the SSO federation configuration.
#[derive(Clone)]
pub struct SsoService<S> {
    store: S,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretBox>,
}

impl<S: Store> SsoService<S> {
    /// The service over `store`, sealing client secrets with `secrets` and reading time from
    /// `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>, secrets: Arc<dyn SecretBox>) -> Self {
        Self { store, clock, secrets }
    }

    /// The configuration; never written: disabled, no connection, version 0. Reading is
    /// never gated by plan.
    pub fn get(&self, caller: &Caller, org: &OrgRef) -> Result<Versioned<SsoConfig>, SsoError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org_to_administer_policies::<SsoError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::SsoRead)?;
            audit_break_glass(tx, &scope, caller, now)?;
            Ok(tx.find_sso_config(scope.org.id)?.unwrap_or_default())
        })
    }

    /// Replaces the configuration. An OIDC client secret left out is kept (so a form can
    /// be saved again without it) unless the issuer or client id changed: a secret is
    /// never carried over to another provider.
    pub fn put(
        &self,
        caller: &Caller,
        org: &OrgRef,
        input: SsoInput,
        mode: WriteMode,
    ) -> Result<PolicyWrite<SsoConfig>, SsoError> {
        let now = self.clock.now();
        let proposed = input.parse(now)?;
        self.store.transaction(|tx| {
            let scope = enter_org_to_administer_policies::<SsoError>(tx, caller, org, now, Lock::Org)?;
            caller.identity()?;
            scope.grant.authorize(Permission::SsoWrite)?;
            // Switching SSO off stays possible on any plan.
            if proposed.enabled {
                scope.org.entitlements.require(Feature::Sso)?;
            }
            let current = tx.find_sso_config(scope.org.id)?.unwrap_or_default();
            if let Some(expected) = mode.if_match.filter(|v| *v != current.version) {
                return Err(SsoError::VersionMismatch { expected, current: current.version });
            }
            audit_break_glass(tx, &scope, caller, now)?;
            let (connection, secret_changed) = match proposed.connection {
                None => (None, current_secret(&current.policy).is_some()),
                Some(ProposedConnection::Saml(saml)) => {
                    (Some(Connection::Saml(saml)), current_secret(&current.policy).is_some())
                }
                Some(ProposedConnection::Oidc { issuer, client_id, client_secret }) => {
                    let (client_secret, changed) =
                        self.resolve_secret(scope.org.id, &current.policy, &issuer, &client_id, client_secret)?;
                    (Some(Connection::Oidc(OidcConnection { issuer, client_id, client_secret })), changed)
                }
            };
            let next = SsoConfig { enabled: proposed.enabled, enforced: proposed.enforced, connection };
            let policies = with_enforcement(tx, &scope, next.enforced)?;
            if mode.dry_run {
                let member = scope.membership.as_ref().filter(|_| scope.grant.is_owner()).map(|m| m.id);
                let lockout = preview_lockout(tx, scope.org.id, caller, member, &policies, now, true)?;
                let policy = Versioned { policy: next, ..current };
                return Ok(PolicyWrite { policy, applied: false, lockout });
            }
            // Only holding more people to SSO can lock anyone out.
            let lockout = if !policies.sso_domains.is_subset(&scope.policies.sso_domains) {
                guard_lockout(tx, &scope, caller, &policies, now, mode.force)??
            } else {
                Default::default()
            };
            if next == current.policy {
                return Ok(PolicyWrite { policy: current, applied: true, lockout });
            }
            let next = Versioned { policy: next, version: current.version + 1, updated_at: Some(now) };
            tx.save_sso_config(scope.org.id, &next)?;
            audit(tx, &scope, caller, now, &current.policy, &next, (secret_changed, lockout.caller.is_some()))?;
            Ok(PolicyWrite { policy: next, applied: true, lockout })
        })
    }

    /// The client secret the new configuration holds, and whether it differs from the
    /// stored one.
    fn resolve_secret(
        &self,
        org: OrgId,
        current: &SsoConfig,
        issuer: &str,
        client_id: &str,
        sent: Patch<SecretText>,
    ) -> Result<(Option<ClientSecret>, bool), SsoError> {
        let stored = current_secret(current);
        match sent {
            Patch::Set(secret) => {
                let sealed =
                    self.secrets.seal(secret.expose().as_bytes(), &secret_context(org)).map_err(StoreError::from)?;
                Ok((Some(ClientSecret { sealed, last_four: ClientSecret::last_four_of(secret.expose()) }), true))
            }
            Patch::Clear => Ok((None, stored.is_some())),
            Patch::Keep => match (stored, &current.connection) {
                (Some(secret), Some(Connection::Oidc(old))) if old.issuer == issuer && old.client_id == client_id => {
                    // A kept secret is written back under the current key: otherwise a write
                    // racing a reseal could put an old-key ciphertext back after it.
                    let mut kept = secret.clone();
                    if kept.sealed.key_id != self.secrets.current_key_id() {
                        let context = secret_context(org);
                        let plain = self.secrets.open(&kept.sealed, &context).map_err(StoreError::from)?;
                        kept.sealed = self.secrets.seal(&plain, &context).map_err(StoreError::from)?;
                    }
                    Ok((Some(kept), false))
                }
                (Some(_), _) => Err(Invalid::field(
                    "connection.client_secret",
                    "required",
                    "the stored client secret belongs to the previous issuer and client id: send the secret for \
                     this client, or `null` for none",
                )
                .into()),
                (None, _) => Ok((None, false)),
            },
        }
    }

    /// Seals every client secret still under an earlier key with the current one, `batch`
    /// per transaction, and answers how many it re-sealed. Run after rotating the
    /// encryption key, so that the previous key can then be retired. No setting changes,
    /// so nothing is audited.
    pub fn reseal_client_secrets(&self, batch: i64) -> Result<usize, StoreError> {
        super::sealing::reseal_in_batches(&self.store, batch, |tx, limit| {
            let stale = tx.sso_secrets_not_under(self.secrets.current_key_id(), limit)?;
            for (org, sealed) in &stale {
                let context = secret_context(*org);
                let secret = self.secrets.open(sealed, &context)?;
                tx.replace_sso_secret(*org, &self.secrets.seal(&secret, &context)?)?;
            }
            Ok(stale.len())
        })
    }

    /// The client secret of an organization's OIDC connection, for signing in through it.
    pub fn client_secret(&self, org: OrgId) -> Result<Option<String>, StoreError> {
        let config = self.store.transaction(|tx| tx.find_sso_config(org))?;
        let Some(secret) = config.as_ref().and_then(|c| current_secret(&c.policy)) else { return Ok(None) };
        let plain = self.secrets.open(&secret.sealed, &secret_context(org))?;
        String::from_utf8(plain).map(Some).map_err(|_| StoreError::Internal("a client secret is not UTF-8".into()))
    }
}

fn current_secret(config: &SsoConfig) -> Option<&ClientSecret> {
    match &config.connection {
        Some(Connection::Oidc(oidc)) => oidc.client_secret.as_ref(),
        _ => None,
    }
}

/// One record of what changed: each changed field, and of the secret only that it changed.
fn audit(
    tx: &mut dyn Tx,
    scope: &OrgScope,
    caller: &Caller,
    now: DateTime<Utc>,
    before: &SsoConfig,
    after: &Versioned<SsoConfig>,
    (secret_changed, forced): (bool, bool),
) -> Result<(), StoreError> {
    let (before, after_fields) = (before.describe(), after.policy.describe());
    let mut changes = Changes::new();
    let keys = before.as_object().into_iter().chain(after_fields.as_object()).flat_map(|o| o.keys());
    let mut keys: Vec<&String> = keys.collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let value = |v: &serde_json::Value| v.get(key).cloned().unwrap_or(serde_json::Value::Null);
        changes.diff(key, &value(&before), &value(&after_fields));
    }
    if secret_changed {
        changes.set("client_secret", "changed");
    }
    if forced {
        changes.set("forced", true);
    }
    changes.set("version", after.version);
    let target = Target::new("organization", scope.org.id);
    let record = AuditRecord::new(scope.org.id, &scope.actor, AuditAction::SsoConfigUpdated, target, &caller.meta, now);
    tx.append_audit(&record.with_changes(changes))
}
