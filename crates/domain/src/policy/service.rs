//! Use cases of the organization's security policies.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::document::{MfaPolicy, OrgPolicies, SecurityPolicy, SignInPolicy, Versioned};
use super::lockout::{preview, LockoutPreview, LockoutRefusal};
use super::plan::Feature;
use crate::access::{enter_org_to_administer_policies, Lock, OrgScope};
use crate::audit::{AuditAction, AuditRecord, Changes, Target};
use crate::authz::Permission;
use crate::context::Caller;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::OrgId;
use crate::org::OrgRef;
use crate::store::{Store, Tx};
use crate::time::Clock;

/// Why reading or writing a security policy failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the policy is at version {current}, not {expected}")]
    VersionMismatch {
        /// The version the client expected.
        expected: i64,
        /// The policy's version now.
        current: i64,
    },
    /// Saving would keep the caller (unless `force`) or every owner out.
    #[error(transparent)]
    Lockout(#[from] LockoutRefusal),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a policy write is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteMode {
    /// The version the client read (`If-Match`); a write over a newer one is refused.
    pub if_match: Option<i64>,
    /// Report who would be locked out; save nothing.
    pub dry_run: bool,
    /// Apply even though it locks the caller out (never when it locks out every owner).
    pub force: bool,
}

/// The outcome of a policy write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWrite<T> {
    /// The saved policy, or on a dry run the proposed one at the current version.
    pub policy: Versioned<T>,
    /// True when the policy was saved; false on a dry run.
    pub applied: bool,
    /// Who the policy keeps out: every member and key on a dry run; the caller and the
    /// owners otherwise.
    pub lockout: LockoutPreview,
}

/// The new value of a security-policy document, as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct SecurityPolicyInput {
    /// CIDRs or addresses requests may come from; empty: any address.
    pub ip_allowlist: Vec<String>,
    /// The longest time since a person signed in, in seconds; `None`: no limit.
    pub max_session_age_secs: Option<i64>,
    /// The longest time since a person proved a second factor, in seconds; `None`: no limit.
    pub mfa_max_age_secs: Option<i64>,
}

/// One kind of policy document: where it sits among an organization's policies, how it
/// is stored and audited, and the plan feature writing it needs.
struct Kind<T> {
    action: AuditAction,
    slot: fn(&mut OrgPolicies) -> &mut Versioned<T>,
    save: fn(&mut dyn Tx, OrgId, &Versioned<T>) -> Result<(), StoreError>,
    feature: fn(&T) -> Option<Feature>,
    describe: fn(&T) -> Value,
}

const MFA: Kind<MfaPolicy> = Kind {
    action: AuditAction::MfaPolicyUpdated,
    slot: |p| &mut p.mfa,
    save: |tx, org, v| tx.save_mfa_policy(org, v),
    feature: |_| None,
    describe: |p| json!({ "enforced": p.enforced, "grace_until": p.grace_until.map(|t| t.to_rfc3339()) }),
};

const SIGN_IN: Kind<SignInPolicy> = Kind {
    action: AuditAction::SignInMethodsUpdated,
    slot: |p| &mut p.sign_in,
    save: |tx, org, v| tx.save_sign_in_policy(org, v),
    feature: |_| None,
    describe: |p| json!({ "allowed": p.allowed.iter().map(|m| m.as_str()).collect::<Vec<_>>() }),
};

const SECURITY: Kind<SecurityPolicy> = Kind {
    action: AuditAction::SecurityPolicyUpdated,
    slot: |p| &mut p.security,
    save: |tx, org, v| tx.save_security_policy(org, v),
    feature: |p| (!p.ip_allowlist.is_empty()).then_some(Feature::IpAllowlist),
    describe: |p| {
        json!({
            "ip_allowlist": p.ip_allowlist.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "max_session_age_secs": p.max_session_age.map(|d| d.num_seconds()),
            "mfa_max_age_secs": p.mfa_max_age.map(|d| d.num_seconds()),
        })
    },
};

/// Records that an owner came in through the break-glass path, in the same transaction
/// as whatever they then read or changed.
pub(crate) fn audit_break_glass(
    tx: &mut dyn Tx,
    scope: &OrgScope,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(refusal) = &scope.break_glass else { return Ok(()) };
    let mut changes = Changes::new();
    changes.set("bypassed", refusal.code());
    changes.set("policy", refusal.policy());
    let target = Target::new("organization", scope.org.id);
    let record = AuditRecord::new(scope.org.id, &scope.actor, AuditAction::BreakGlassUsed, target, &caller.meta, now);
    tx.append_audit(&record.with_changes(changes))
}

/// Use cases of the organization's security policies.
#[derive(Clone)]
pub struct PolicyService<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: Store> PolicyService<S> {
    /// The service over `store`, reading time from `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Every policy of the organization. Reading is never gated by plan.
    pub fn get(&self, caller: &Caller, org: &OrgRef) -> Result<OrgPolicies, PolicyError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = enter_org_to_administer_policies::<PolicyError>(tx, caller, org, now, Lock::None)?;
            scope.grant.authorize(Permission::SecurityRead)?;
            audit_break_glass(tx, &scope, caller, now)?;
            Ok(scope.policies)
        })
    }

    /// Turns org-wide 2FA enforcement on or off, with an optional grace period.
    pub fn put_mfa(
        &self,
        caller: &Caller,
        org: &OrgRef,
        enforced: bool,
        grace_until: Option<DateTime<Utc>>,
        mode: WriteMode,
    ) -> Result<PolicyWrite<MfaPolicy>, PolicyError> {
        let now = self.clock.now();
        let policy = MfaPolicy::parse(enforced, grace_until, now)?;
        self.write(caller, org, mode, &MFA, policy, now)
    }

    /// Restricts the sign-in methods people may enter with; an empty list allows all.
    pub fn put_sign_in_methods(
        &self,
        caller: &Caller,
        org: &OrgRef,
        allowed: &[String],
        mode: WriteMode,
    ) -> Result<PolicyWrite<SignInPolicy>, PolicyError> {
        let policy = SignInPolicy::parse(allowed)?;
        self.write(caller, org, mode, &SIGN_IN, policy, self.clock.now())
    }

    /// Sets the IP allowlist and session rules.
    pub fn put_security_policy(
        &self,
        caller: &Caller,
        org: &OrgRef,
        input: SecurityPolicyInput,
        mode: WriteMode,
    ) -> Result<PolicyWrite<SecurityPolicy>, PolicyError> {
        let policy = SecurityPolicy::parse(&input.ip_allowlist, input.max_session_age_secs, input.mfa_max_age_secs)?;
        self.write(caller, org, mode, &SECURITY, policy, self.clock.now())
    }

    /// The one way a policy document changes: version check, plan, lock-out rules, then the
    /// change and its audit record in one transaction.
    fn write<T: Clone + PartialEq>(
        &self,
        caller: &Caller,
        org: &OrgRef,
        mode: WriteMode,
        kind: &Kind<T>,
        policy: T,
        now: DateTime<Utc>,
    ) -> Result<PolicyWrite<T>, PolicyError> {
        self.store.transaction(|tx| {
            let scope = enter_org_to_administer_policies::<PolicyError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize(Permission::SecurityUpdate)?;
            if let Some(feature) = (kind.feature)(&policy) {
                scope.org.entitlements.require(feature)?;
            }
            let mut proposed = scope.policies.clone();
            let current = (kind.slot)(&mut proposed).clone();
            if let Some(expected) = mode.if_match.filter(|v| *v != current.version) {
                return Err(PolicyError::VersionMismatch { expected, current: current.version });
            }
            let next = Versioned { policy, version: current.version + 1, updated_at: Some(now) };
            *(kind.slot)(&mut proposed) = next.clone();
            let member = scope.membership.as_ref().filter(|_| scope.grant.is_owner()).map(|m| m.id);
            let lockout = preview(tx, scope.org.id, caller, member, &proposed, now, mode.dry_run)?;
            // A preview through the break-glass path shows who comes from where: audited too.
            audit_break_glass(tx, &scope, caller, now)?;
            if mode.dry_run {
                let policy = Versioned { version: current.version, updated_at: current.updated_at, ..next };
                return Ok(PolicyWrite { policy, applied: false, lockout });
            }
            if let Some(refusal) = lockout.refusal(mode.force) {
                return Err(refusal.into());
            }
            if next.policy == current.policy {
                return Ok(PolicyWrite { policy: current, applied: true, lockout });
            }
            (kind.save)(tx, scope.org.id, &next)?;
            let mut changes = Changes::new();
            changes.diff("policy", &(kind.describe)(&current.policy), &(kind.describe)(&next.policy));
            changes.set("version", next.version);
            if lockout.caller.is_some() {
                changes.set("forced", true);
            }
            let target = Target::new("organization", scope.org.id);
            let record = AuditRecord::new(scope.org.id, &scope.actor, kind.action, target, &caller.meta, now);
            tx.append_audit(&record.with_changes(changes))?;
            Ok(PolicyWrite { policy: next, applied: true, lockout })
        })
    }
}
