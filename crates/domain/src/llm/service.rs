//! Use cases of the LLM admission policy, with the policy cached in memory for the check
//! that gateways call on every model request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::policy::{Decision, LlmPolicy, LlmPolicyInput, LlmRequest, LlmRequestInput};
use crate::access::{enter_org, read_cached, read_in_org, Lock};
use crate::audit::{AuditAction, AuditRecord, Changes, Target};
use crate::authz::Permission;
use crate::context::Caller;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::OrgId;
use crate::org::OrgRef;
use crate::policy::{Feature, Versioned};
use crate::store::{Store, Tx};
use crate::time::Clock;

/// How long another instance may keep deciding by a policy that was replaced: a write
/// clears this instance's copy at once, others re-read it within this time.
pub const POLICY_CACHE_TTL: Duration = Duration::seconds(2);

/// Why a use case of the LLM admission policy failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
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
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
struct Cached {
    policy: Arc<Versioned<LlmPolicy>>,
    read_at: DateTime<Utc>,
}

/// Use cases of the LLM admission policy.
#[derive(Clone)]
pub struct LlmService<S> {
    store: S,
    clock: Arc<dyn Clock>,
    cache: Arc<RwLock<HashMap<OrgId, Cached>>>,
    ttl: Duration,
}

impl<S: Store> LlmService<S> {
    /// The service over `store`, reading time from `clock`, caching policies for
    /// [`POLICY_CACHE_TTL`].
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock, cache: Arc::default(), ttl: POLICY_CACHE_TTL }
    }

    /// Keeps cached policies for `ttl` instead of [`POLICY_CACHE_TTL`].
    #[must_use]
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The organization's policy (version 0 and no restriction until first written).
    pub fn get(&self, caller: &Caller, org: &OrgRef) -> Result<Versioned<LlmPolicy>, LlmError> {
        Ok((*self.readable(caller, org)?).clone())
    }

    /// Decides one model request by the organization's policy; answers the decision and
    /// the version of the policy that made it.
    pub fn check(&self, caller: &Caller, org: &OrgRef, request: &LlmRequestInput) -> Result<(Decision, i64), LlmError> {
        let request = LlmRequest::parse(request)?;
        let policy = self.readable(caller, org)?;
        Ok((policy.policy.check(&request), policy.version))
    }

    /// [`check`](Self::check) from memory alone: `None` when the caller's entry or the
    /// policy is not cached, and the check takes the store.
    pub fn check_from_memory(
        &self,
        caller: &Caller,
        org: &OrgRef,
        request: &LlmRequestInput,
    ) -> Option<Result<(Decision, i64), LlmError>> {
        let request = match LlmRequest::parse(request) {
            Ok(request) => request,
            Err(invalid) => return Some(Err(invalid.into())),
        };
        let now = self.clock.now();
        read_cached(&self.store, caller, org, now, |scope| {
            if let Err(denied) = scope.grant.authorize(Permission::LlmRead) {
                return Some(Err(denied.into()));
            }
            let policy = self.remembered(scope.org.id, now)?;
            Some(Ok((policy.policy.check(&request), policy.version)))
        })
    }

    /// Replaces the policy. `if_match` is the version the client read.
    pub fn put(
        &self,
        caller: &Caller,
        org: &OrgRef,
        input: &LlmPolicyInput,
        if_match: Option<i64>,
    ) -> Result<Versioned<LlmPolicy>, LlmError> {
        let policy = LlmPolicy::parse(input)?;
        let now = self.clock.now();
        let (org_id, saved) = self.store.transaction(|tx| {
            let scope = enter_org::<LlmError>(tx, caller, org, now, Lock::Org)?;
            scope.grant.authorize(Permission::LlmUpdate)?;
            scope.org.entitlements.require(Feature::LlmPolicy)?;
            let current = tx.find_llm_policy(scope.org.id)?.unwrap_or_default();
            if let Some(expected) = if_match.filter(|v| *v != current.version) {
                return Err(LlmError::VersionMismatch { expected, current: current.version });
            }
            if current.policy == policy {
                return Ok((scope.org.id, current));
            }
            let next = Versioned { policy, version: current.version + 1, updated_at: Some(now) };
            tx.save_llm_policy(scope.org.id, &next)?;
            let mut changes = Changes::new();
            changes.diff("policy", &describe(&current.policy), &describe(&next.policy));
            changes.set("version", next.version);
            let target = Target::new("organization", scope.org.id);
            let record =
                AuditRecord::new(scope.org.id, &scope.actor, AuditAction::LlmPolicyUpdated, target, &caller.meta, now);
            tx.append_audit(&record.with_changes(changes))?;
            Ok((scope.org.id, next))
        })?;
        self.remember(org_id, Arc::new(saved.clone()), now);
        Ok(saved)
    }

    /// The policy, for a caller who may read it.
    fn readable(&self, caller: &Caller, org: &OrgRef) -> Result<Arc<Versioned<LlmPolicy>>, LlmError> {
        let now = self.clock.now();
        read_in_org(&self.store, caller, org, now, |tx, scope| {
            scope.grant.authorize(Permission::LlmRead)?;
            Ok(self.cached(tx, scope.org.id, now)?)
        })
    }

    /// The policy from memory when read within the cache's lifetime, else from the store.
    fn cached(&self, tx: &mut dyn Tx, org: OrgId, now: DateTime<Utc>) -> Result<Arc<Versioned<LlmPolicy>>, StoreError> {
        if let Some(policy) = self.remembered(org, now) {
            return Ok(policy);
        }
        let policy = Arc::new(tx.find_llm_policy(org)?.unwrap_or_default());
        self.remember(org, policy.clone(), now);
        Ok(policy)
    }

    /// The policy from memory, if read within the cache's lifetime.
    fn remembered(&self, org: OrgId, now: DateTime<Utc>) -> Option<Arc<Versioned<LlmPolicy>>> {
        let hit = self.cache.read().ok().and_then(|cache| cache.get(&org).cloned());
        hit.filter(|e| now >= e.read_at && now - e.read_at < self.ttl).map(|entry| entry.policy)
    }

    /// Caches `policy` unless a newer version is cached already: a check that read the
    /// policy just before a write committed never puts the old version back.
    fn remember(&self, org: OrgId, policy: Arc<Versioned<LlmPolicy>>, now: DateTime<Utc>) {
        if let Ok(mut cache) = self.cache.write() {
            let newer_cached = cache.get(&org).is_some_and(|c| c.policy.version > policy.version);
            if !newer_cached {
                cache.insert(org, Cached { policy, read_at: now });
            }
        }
    }
}

fn describe(policy: &LlmPolicy) -> Value {
    json!({
        "providers": policy.providers.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "models": policy.models.iter().map(|r| json!({
            "provider": r.provider.as_ref().map(|p| p.as_str()),
            "model": r.model.as_str(),
            "max_tokens": r.max_tokens,
        })).collect::<Vec<_>>(),
        "default_model": policy.default_model,
        "self_hosted_only": policy.self_hosted_only,
        "regions": policy.regions,
    })
}
