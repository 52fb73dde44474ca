//! The organization's policies applied to whoever enters it.

use chrono::{DateTime, Duration, Utc};

use super::OrgScope;
use crate::authz::Access;
use crate::context::{Caller, Principal};
use crate::error::AccessError;
use crate::policy::PolicyRefusal;

/// How recent an owner's second factor must be to use the break-glass path.
pub const BREAK_GLASS_WINDOW: Duration = Duration::minutes(10);

/// Refuses a caller the organization's policies keep out. Platform staff reading an
/// organization they do not belong to answer to the platform's own sign-in rules, not to
/// the customer's policies; their access is read-only.
pub(super) fn admit(scope: &OrgScope, caller: &Caller, now: DateTime<Utc>) -> Result<(), AccessError> {
    if scope.grant.access == Access::Staff {
        return Ok(());
    }
    scope.policies.admit(&caller.presented(), now).map_err(AccessError::Policy)
}

/// [`admit`], except that an owner who is a person and proved a second factor within
/// [`BREAK_GLASS_WINDOW`] is let in anyway: returns the refusal they were let in despite.
pub(super) fn admit_or_break_glass(
    scope: &OrgScope,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Option<PolicyRefusal>, AccessError> {
    let Err(AccessError::Policy(refusal)) = admit(scope, caller, now) else { return Ok(None) };
    let fresh_second_factor = match &caller.principal {
        Principal::User(identity) => {
            identity.used_mfa() && identity.auth_time.is_some_and(|at| at <= now && now - at <= BREAK_GLASS_WINDOW)
        }
        Principal::ApiKey(_) => false,
    };
    if scope.grant.is_owner() && fresh_second_factor {
        Ok(Some(refusal))
    } else {
        Err(AccessError::Policy(refusal))
    }
}
