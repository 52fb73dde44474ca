//! Who a proposed policy would keep out, judged from how each member and key last came in.

use chrono::{DateTime, Utc};

use super::document::OrgPolicies;
use super::gate::{PolicyRefusal, Presented, Presenter};
use super::repo::{KeyAccessFacts, MemberAccessFacts};
use crate::authz::RoleKey;
use crate::context::Caller;
use crate::error::StoreError;
use crate::ids::{ApiKeyId, MemberId, OrgId, UserId};
use crate::store::Tx;

/// The most locked-out members a preview lists; it counts them all.
pub const PREVIEW_LIMIT: usize = 1_000;
const FACTS_BATCH: i64 = 1_000;

/// Why a change that would keep people out is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockoutRefusal {
    /// It would refuse the caller's own next request; `force` overrides.
    #[error("this change would lock you out ({}): {}; send `force=true` to apply it anyway", .0.code(), .0.detail())]
    Caller(PolicyRefusal),
    /// It would keep every owner out; nothing overrides this.
    #[error("this change would lock out every owner of the organization; no owner could undo it")]
    EveryOwner,
}

/// The no-lock-out rules every change to who gets in obeys: `proposed` is judged against
/// the caller and every owner; it may not keep every owner out, nor the caller unless
/// `force`. Answers the preview when the change may go ahead.
pub(crate) fn guard(
    tx: &mut dyn Tx,
    scope: &crate::access::OrgScope,
    caller: &Caller,
    proposed: &OrgPolicies,
    now: DateTime<Utc>,
    force: bool,
) -> Result<Result<LockoutPreview, LockoutRefusal>, StoreError> {
    let member = scope.membership.as_ref().filter(|_| scope.grant.is_owner()).map(|m| m.id);
    let report = preview(tx, scope.org.id, caller, member, proposed, now, false)?;
    Ok(match report.refusal(force) {
        Some(refusal) => Err(refusal),
        None => Ok(report),
    })
}

impl LockoutPreview {
    /// What the no-lock-out rules say of the change this previews: never every owner out;
    /// the caller out only with `force`.
    pub fn refusal(&self, force: bool) -> Option<LockoutRefusal> {
        if self.every_owner {
            Some(LockoutRefusal::EveryOwner)
        } else {
            self.caller.clone().filter(|_| !force).map(LockoutRefusal::Caller)
        }
    }
}

/// A member a policy would keep out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedOutMember {
    /// The membership.
    pub member_id: MemberId,
    /// The person.
    pub user_id: UserId,
    /// Their display name.
    pub name: Option<String>,
    /// Their email.
    pub email: Option<String>,
    /// Their role.
    pub role: RoleKey,
    /// Every policy that would refuse them.
    pub refusals: Vec<PolicyRefusal>,
    /// When the lock-out starts: now, or the end of a 2FA grace period.
    pub from: DateTime<Utc>,
}

/// An API key a policy would keep out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedOutKey {
    /// The key.
    pub key_id: ApiKeyId,
    /// Its name.
    pub name: String,
    /// Every policy that would refuse it.
    pub refusals: Vec<PolicyRefusal>,
}

/// Who a proposed policy would keep out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockoutPreview {
    /// At most [`PREVIEW_LIMIT`], in join order.
    pub members: Vec<LockedOutMember>,
    /// Every member the policy would keep out, beyond the listed ones too.
    pub members_total: u64,
    /// Every API key the policy would keep out.
    pub api_keys: Vec<LockedOutKey>,
    /// What would refuse the caller's own next request.
    pub caller: Option<PolicyRefusal>,
    /// No owner could get in any more (counting the caller as they are now).
    pub every_owner: bool,
}

/// A member as the gate would see their next sign-in: second factor if enrolled, their
/// latest sign-in method and address, and a fresh session (signing in again cures an old
/// one, so session age never counts as a lock-out).
fn presented(facts: &MemberAccessFacts, at: DateTime<Utc>) -> Presented {
    Presented {
        presenter: Presenter::Person {
            mfa: facts.mfa_enrolled,
            sign_in_method: facts.sign_in_method,
            auth_time: Some(at),
            verified_email: facts.email.clone().filter(|_| facts.email_verified),
        },
        client_ip: facts.last_ip,
    }
}

/// Whether the member would be kept out, and from when.
fn judge(policies: &OrgPolicies, facts: &MemberAccessFacts, now: DateTime<Utc>) -> Option<LockedOutMember> {
    let mut from = now;
    let mut refusals = policies.refusals(&presented(facts, now), now);
    if refusals.is_empty() {
        let grace_end = policies.mfa.policy.grace_until.filter(|end| *end > now)?;
        refusals = policies.refusals(&presented(facts, grace_end), grace_end);
        from = grace_end;
    }
    (!refusals.is_empty()).then(|| LockedOutMember {
        member_id: facts.member_id,
        user_id: facts.user_id,
        name: facts.name.clone(),
        email: facts.email.clone(),
        role: facts.role.clone(),
        refusals,
        from,
    })
}

/// Judges `proposed` against the caller's own request and every owner, and — when `all`
/// — every member and API key.
pub fn preview(
    tx: &mut dyn Tx,
    org: OrgId,
    caller: &Caller,
    caller_member: Option<MemberId>,
    proposed: &OrgPolicies,
    now: DateTime<Utc>,
    all: bool,
) -> Result<LockoutPreview, StoreError> {
    let mut report = LockoutPreview { caller: proposed.admit(&caller.presented(), now).err(), ..Default::default() };
    let owner = RoleKey::owner();
    let owners = tx.member_access_facts(org, Some(&owner), None, i64::MAX)?;
    // An owner counts as kept out if refused now or once a 2FA grace period ends: a short
    // grace must not be a way around this rule.
    let grace_end = proposed.mfa.policy.grace_until.filter(|end| *end > now);
    report.every_owner = owners.iter().all(|facts| {
        if Some(facts.member_id) == caller_member {
            let later = |at| {
                let mut fresh = caller.presented();
                if let Presenter::Person { auth_time, .. } = &mut fresh.presenter {
                    *auth_time = Some(at);
                }
                proposed.admit(&fresh, at).is_err()
            };
            report.caller.is_some() || grace_end.is_some_and(later)
        } else {
            judge(proposed, facts, now).is_some()
        }
    });
    if !all {
        return Ok(report);
    }
    let mut after = None;
    loop {
        let batch = tx.member_access_facts(org, None, after, FACTS_BATCH)?;
        after = batch.last().map(|facts| facts.member_id);
        for locked in batch.iter().filter_map(|facts| judge(proposed, facts, now)) {
            report.members_total += 1;
            if report.members.len() < PREVIEW_LIMIT {
                report.members.push(locked);
            }
        }
        if batch.len() < FACTS_BATCH as usize {
            break;
        }
    }
    report.api_keys = tx
        .key_access_facts(org, now)?
        .into_iter()
        .filter_map(|KeyAccessFacts { key_id, name, last_used_ip }| {
            let refusals = proposed.refusals(&Presented { presenter: Presenter::ApiKey, client_ip: last_used_ip }, now);
            (!refusals.is_empty()).then_some(LockedOutKey { key_id, name, refusals })
        })
        .collect();
    Ok(report)
}
