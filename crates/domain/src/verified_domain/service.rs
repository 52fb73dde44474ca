//! Use cases of an organization's claimed domains.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::dns::{DnsError, TxtResolver};
use super::model::{DomainRef, DomainStatus, DomainWriteError, JoinPolicy, OrgDomain, CLAIM_TTL, MAX_DOMAINS_PER_ORG};
use super::name::DomainName;
use crate::access::{authorize_role_assignment, enter_org_to_administer_policies, Lock, OrgScope};
use crate::audit::{AuditAction, AuditRecord, Changes, Target};
use crate::authz::{Permission, RoleKey};
use crate::context::Caller;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::{DomainId, OrgId};
use crate::org::OrgRef;
use crate::policy::{audit_break_glass, guard_lockout, LockoutRefusal};
use crate::store::{Store, Tx};
use crate::time::Clock;

/// Why a use case on claimed domains failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The organization already claimed the domain (named).
    #[error("the organization already claimed {0}")]
    AlreadyClaimed(String),
    /// Another organization verified the domain (named) first.
    #[error("{0} is verified by another organization; a domain is verified by at most one")]
    VerifiedElsewhere(String),
    /// The organization holds [`MAX_DOMAINS_PER_ORG`] domains already.
    #[error("an organization holds at most {MAX_DOMAINS_PER_ORG} domains: release one first")]
    TooMany,
    /// Only a verified domain (named) may open the organization to its people.
    #[error("{0} is not verified: verify it before opening it to its people")]
    NotVerified(String),
    /// The claim on the domain (named) lapsed unverified.
    #[error("the claim on {0} lapsed unverified: claim it again for a new record to publish")]
    ClaimExpired(String),
    /// No TXT record proves the claim.
    #[error("no TXT record at {record_name} holds `{expected}` (found {})", if .found.is_empty() { "none".to_owned() } else { format!("{:?}", .found) })]
    VerificationFailed {
        /// Where the record was looked for.
        record_name: String,
        /// The value it should hold.
        expected: String,
        /// The values found there.
        found: Vec<String>,
    },
    /// The DNS lookup failed; worth retrying.
    #[error("the TXT record could not be looked up; try again shortly ({0})")]
    DnsUnavailable(DnsError),
    /// The role named is not one of the organization's.
    #[error("no role of the organization has the key `{0}`")]
    UnknownRole(String),
    /// The client's `If-Match` names a version that is no longer current.
    #[error("the domain is at version {current}, not {expected}")]
    VersionMismatch {
        /// The version the client expected.
        expected: i64,
        /// The domain's version now.
        current: i64,
    },
    /// The change would keep people out (the no-lock-out rules of every policy write).
    #[error(transparent)]
    Lockout(#[from] LockoutRefusal),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A join policy as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct JoinPolicyInput {
    /// `off`, `suggest` or `auto`.
    pub join_policy: String,
    /// Only with `auto`: the role people join with.
    pub role: Option<String>,
    /// The version the client read (`If-Match`); a change over a newer one is refused.
    pub if_match: Option<i64>,
}

/// The join policy a client asked for, before the rights behind it are checked.
enum ProposedJoin {
    Off,
    Suggest,
    Auto(RoleKey),
}

impl JoinPolicyInput {
    fn parse(&self) -> Result<ProposedJoin, Invalid> {
        let role = || -> Result<RoleKey, Invalid> {
            let raw = self.role.as_deref().ok_or_else(|| {
                Invalid::field("role", "required", "`auto` admits people with a role: name it in `role`")
            })?;
            let role = RoleKey::parse(raw).map_err(|e| Invalid::field("role", e.code, e.message))?;
            if role.is_owner() {
                return Err(Invalid::field("role", "owner_not_allowed", "nobody becomes an owner by their domain"));
            }
            Ok(role)
        };
        let proposed = match self.join_policy.as_str() {
            "off" => ProposedJoin::Off,
            "suggest" => ProposedJoin::Suggest,
            "auto" => ProposedJoin::Auto(role()?),
            _ => return Err(Invalid::field("join_policy", "invalid_join_policy", "one of off, suggest, auto")),
        };
        if self.role.is_some() && !matches!(proposed, ProposedJoin::Auto(_)) {
            return Err(Invalid::field("role", "role_without_auto", "a role is set only with `join_policy: auto`"));
        }
        Ok(proposed)
    }
}

/// How a domain is described in the audit log.
fn describe(domain: &OrgDomain) -> Value {
    json!({
        "join_policy": domain.join.name(),
        "role": domain.join.role().map(RoleKey::as_str),
    })
}

pub(crate) fn audit(
    tx: &mut dyn Tx,
    scope_actor: &crate::audit::Actor,
    caller_meta: &crate::context::RequestMeta,
    domain: &OrgDomain,
    action: AuditAction,
    mut changes: Changes,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    changes.set("domain", domain.name.as_str());
    let target = Target::new("domain", domain.id);
    let record = AuditRecord::new(domain.org_id, scope_actor, action, target, caller_meta, now);
    tx.append_audit(&record.with_changes(changes))
}

/// Use cases of an organization's claimed domains. Every route enters the organization
/// as a policy route: an owner locked out by SSO enforcement can still fix its domains.
#[derive(Clone)]
pub struct DomainService<S> {
    store: S,
    clock: Arc<dyn Clock>,
    resolver: Arc<dyn TxtResolver>,
}

impl<S: Store> DomainService<S> {
    /// The service over `store`, reading time from `clock` and TXT records through `resolver`.
    pub fn new(store: S, clock: Arc<dyn Clock>, resolver: Arc<dyn TxtResolver>) -> Self {
        Self { store, clock, resolver }
    }

    fn enter(
        tx: &mut dyn Tx,
        caller: &Caller,
        org: &OrgRef,
        permission: Permission,
        now: DateTime<Utc>,
        lock: Lock,
    ) -> Result<OrgScope, DomainError> {
        let scope = Self::enter_unaudited(tx, caller, org, permission, now, lock)?;
        audit_break_glass(tx, &scope, caller, now)?;
        Ok(scope)
    }

    /// [`Self::enter`] for the second transaction of one request, whose first one already
    /// recorded a break-glass entry.
    fn enter_unaudited(
        tx: &mut dyn Tx,
        caller: &Caller,
        org: &OrgRef,
        permission: Permission,
        now: DateTime<Utc>,
        lock: Lock,
    ) -> Result<OrgScope, DomainError> {
        let scope = enter_org_to_administer_policies::<DomainError>(tx, caller, org, now, lock)?;
        scope.grant.authorize(permission)?;
        Ok(scope)
    }

    fn find(tx: &mut dyn Tx, org: OrgId, domain: &str, lock: bool) -> Result<OrgDomain, DomainError> {
        let not_found = || DomainError::Access(AccessError::NotFound("domain"));
        let reference = DomainRef::parse(domain).ok_or_else(not_found)?;
        tx.find_domain(org, &reference, lock)?.ok_or_else(not_found)
    }

    /// Claims a domain; the answer holds the TXT record to publish. A claim that lapsed
    /// is renewed with a new challenge.
    pub fn claim(&self, caller: &Caller, org: &OrgRef, domain: &str) -> Result<OrgDomain, DomainError> {
        let now = self.clock.now();
        let name = DomainName::parse_claimable(domain).map_err(|e| Invalid::field("domain", e.code, e.message))?;
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, Permission::SecurityUpdate, now, Lock::Org)?;
            if tx.verified_domain(&name)?.is_some_and(|held| held.org_id != scope.org.id) {
                return Err(DomainError::VerifiedElsewhere(name.to_string()));
            }
            let existing = tx.find_domain(scope.org.id, &DomainRef::Name(name.clone()), true)?;
            let renewed = match existing {
                Some(claim) if claim.status(now) == DomainStatus::Expired => Some(claim),
                Some(_) => return Err(DomainError::AlreadyClaimed(name.to_string())),
                None if tx.list_domains(scope.org.id)?.len() >= MAX_DOMAINS_PER_ORG => {
                    return Err(DomainError::TooMany)
                }
                None => None,
            };
            let claim = OrgDomain {
                id: renewed.as_ref().map_or_else(DomainId::generate, |c| c.id),
                org_id: scope.org.id,
                name: name.clone(),
                challenge: Uuid::new_v4().simple().to_string(),
                verified_at: None,
                expires_at: Some(now + CLAIM_TTL),
                last_checked_at: None,
                missing_since: None,
                join: renewed.as_ref().map(|c| c.join.clone()).unwrap_or_default(),
                // A renewed claim has a new challenge: a change, as the store counts them.
                version: renewed.as_ref().map_or(1, |c| c.version + 1),
                created_at: renewed.as_ref().map_or(now, |c| c.created_at),
                updated_at: now,
            };
            match renewed {
                Some(_) => tx.update_domain(&claim),
                None => tx.insert_domain(&claim),
            }
            .map_err(|e| with_name(e, &name))?;
            let mut changes = Changes::new();
            changes.set("record_name", claim.record_name());
            changes.set("expires_at", claim.expires_at.map(|t| t.to_rfc3339()));
            audit(tx, &scope.actor, &caller.meta, &claim, AuditAction::DomainClaimed, changes, now)?;
            Ok(claim)
        })
    }

    /// Every domain of the organization, by name.
    pub fn list(&self, caller: &Caller, org: &OrgRef) -> Result<Vec<OrgDomain>, DomainError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, Permission::SecurityRead, now, Lock::None)?;
            Ok(tx.list_domains(scope.org.id)?)
        })
    }

    /// One claimed domain of `org`, named by id or by name; needs `security:read`.
    pub fn get(&self, caller: &Caller, org: &OrgRef, domain: &str) -> Result<OrgDomain, DomainError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, Permission::SecurityRead, now, Lock::None)?;
            Self::find(tx, scope.org.id, domain, false)
        })
    }

    /// Sets who of the domain's people may join and how. `suggest` and `auto` need a
    /// verified domain; `auto` needs a person who could admit people with that role
    /// themselves, and stays bound to their rights.
    pub fn set_join_policy(
        &self,
        caller: &Caller,
        org: &OrgRef,
        domain: &str,
        input: JoinPolicyInput,
    ) -> Result<OrgDomain, DomainError> {
        let now = self.clock.now();
        let proposed = input.parse()?;
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, Permission::SecurityUpdate, now, Lock::Org)?;
            let current = Self::find(tx, scope.org.id, domain, true)?;
            if let Some(expected) = input.if_match.filter(|v| *v != current.version) {
                return Err(DomainError::VersionMismatch { expected, current: current.version });
            }
            let join = match proposed {
                ProposedJoin::Off => JoinPolicy::Off,
                ProposedJoin::Suggest => JoinPolicy::Suggest,
                ProposedJoin::Auto(role) => {
                    let user = scope.user.as_ref().ok_or(AccessError::UserRequired)?;
                    authorize_role_assignment(tx, scope.org.id, &scope.grant, &role, || {
                        DomainError::UnknownRole(role.to_string())
                    })?;
                    JoinPolicy::Auto { role, set_by: user.id }
                }
            };
            if join.is_open() && !current.is_verified() {
                return Err(DomainError::NotVerified(current.name.to_string()));
            }
            if join == current.join {
                return Ok(current);
            }
            let mut next = OrgDomain { join, updated_at: now, ..current.clone() };
            next.version = current.version_after(&next);
            tx.update_domain(&next).map_err(|e| with_name(e, &next.name))?;
            let mut changes = Changes::new();
            changes.diff("join", &describe(&current), &describe(&next));
            audit(tx, &scope.actor, &caller.meta, &next, AuditAction::DomainJoinPolicyUpdated, changes, now)?;
            Ok(next)
        })
    }

    /// Gives the domain up: its people are no longer offered or admitted, nor held to SSO.
    pub fn release(&self, caller: &Caller, org: &OrgRef, domain: &str) -> Result<(), DomainError> {
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, Permission::SecurityUpdate, now, Lock::Org)?;
            let current = Self::find(tx, scope.org.id, domain, true)?;
            tx.delete_domain(scope.org.id, current.id)?;
            let mut changes = Changes::new();
            changes.set("was", current.status(now).as_str());
            audit(tx, &scope.actor, &caller.meta, &current, AuditAction::DomainReleased, changes, now)?;
            Ok(())
        })
    }

    /// Looks the TXT record up now and, if it proves the claim, verifies the domain. The
    /// lookup runs outside any transaction; the claim is then checked again, locked, so a
    /// renewed or released claim is never verified by a stale answer. With SSO enforced,
    /// verifying brings the domain's people under it: the no-lock-out rules apply, and
    /// `force` lets the caller lock themselves out (never every owner).
    pub fn verify(&self, caller: &Caller, org: &OrgRef, domain: &str, force: bool) -> Result<OrgDomain, DomainError> {
        let seen = self.store.transaction(|tx| {
            let scope = Self::enter(tx, caller, org, Permission::SecurityUpdate, self.clock.now(), Lock::None)?;
            Self::find(tx, scope.org.id, domain, false)
        })?;
        match seen.status(self.clock.now()) {
            DomainStatus::Verified => return Ok(seen),
            DomainStatus::Expired => return Err(DomainError::ClaimExpired(seen.name.to_string())),
            DomainStatus::Unverified => {}
        }
        let records = self.resolver.txt_records(&seen.record_name()).map_err(DomainError::DnsUnavailable)?;
        if !seen.proven_by(&records) {
            return Err(DomainError::VerificationFailed {
                record_name: seen.record_name(),
                expected: seen.record_value(),
                found: records.into_iter().take(10).map(|r| r.chars().take(255).collect()).collect(),
            });
        }
        let now = self.clock.now();
        self.store.transaction(|tx| {
            let scope = Self::enter_unaudited(tx, caller, org, Permission::SecurityUpdate, now, Lock::Org)?;
            let current = Self::find(tx, scope.org.id, &seen.id.to_string(), true)?;
            // Released, or renewed with a new challenge, while the lookup ran: the answer
            // proved a claim that is gone.
            if current.challenge != seen.challenge {
                return Err(AccessError::NotFound("domain").into());
            }
            match current.status(now) {
                // Another request verified it meanwhile: one verification, one record.
                DomainStatus::Verified => return Ok(current),
                DomainStatus::Expired => return Err(DomainError::ClaimExpired(current.name.to_string())),
                DomainStatus::Unverified => {}
            }
            if tx.verified_domain(&current.name)?.is_some() {
                return Err(DomainError::VerifiedElsewhere(current.name.to_string()));
            }
            let mut forced = false;
            if tx.find_sso_config(scope.org.id)?.is_some_and(|sso| sso.policy.enforced) {
                let mut proposed = scope.policies.clone();
                proposed.sso_domains.insert(current.name.clone());
                forced = guard_lockout(tx, &scope, caller, &proposed, now, force)??.caller.is_some();
            }
            let next = OrgDomain {
                verified_at: Some(now),
                expires_at: None,
                last_checked_at: Some(now),
                updated_at: now,
                version: current.version + 1,
                ..current
            };
            tx.update_domain(&next).map_err(|e| with_name(e, &next.name))?;
            let mut changes = Changes::new();
            changes.set("record_name", next.record_name());
            if forced {
                changes.set("forced", true);
            }
            audit(tx, &scope.actor, &caller.meta, &next, AuditAction::DomainVerified, changes, now)?;
            Ok(next)
        })
    }
}

/// Names the domain in a write error the repository could only describe.
fn with_name(err: DomainWriteError, name: &DomainName) -> DomainError {
    match err {
        DomainWriteError::AlreadyClaimed => DomainError::AlreadyClaimed(name.to_string()),
        DomainWriteError::VerifiedElsewhere => DomainError::VerifiedElsewhere(name.to_string()),
        DomainWriteError::Store(e) => DomainError::Store(e),
    }
}
