//! Organization security policies — 2FA enforcement, allowed sign-in methods, IP
//! allowlist and session age — and the gate that enforces them on every way into an
//! organization, plus the plans whose features gate writing some of them.

mod document;
mod gate;
mod lockout;
mod method;
mod mfa;
mod plan;
mod repo;
mod service;

pub use document::{canonical_ip, MfaPolicy, OrgPolicies, SecurityPolicy, SignInPolicy, Versioned};
pub use gate::{PolicyRefusal, Presented, Presenter};
pub(crate) use lockout::{guard as guard_lockout, preview as preview_lockout};
pub use lockout::{LockedOutKey, LockedOutMember, LockoutPreview, LockoutRefusal, PREVIEW_LIMIT};
pub use method::SignInMethod;
pub use mfa::{
    render_mfa_reminder_email, MfaDashboard, MfaError, MfaMember, MfaReminderText, MfaReminders, MfaRepository,
    MfaService, MfaTotals, REMINDER_INTERVAL,
};
pub use plan::{Entitlements, Feature, Plan};
pub use repo::{KeyAccessFacts, MemberAccessFacts, PolicyRepository};
pub(crate) use service::audit_break_glass;
pub use service::{PolicyError, PolicyService, PolicyWrite, SecurityPolicyInput, WriteMode};

#[cfg(test)]
mod tests;
