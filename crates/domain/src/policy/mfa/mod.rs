//! The 2FA dashboard — who in an organization has a second factor — and reminding those
//! who have none, in-app and by email, at most once a day each.

mod reminder;
mod service;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Duration, Utc};

use super::document::{MfaPolicy, Versioned};
use crate::authz::RoleKey;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::{MemberId, OrgId, UserId};
use crate::pagination::{Page, PageRequest};
use crate::user::Email;

pub use reminder::{render_mfa_reminder_email, MfaReminderText};
pub use service::MfaService;

/// Why a use case of the 2FA dashboard or reminders failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MfaError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The least time between two reminders to one member.
pub const REMINDER_INTERVAL: Duration = Duration::days(1);

/// A member and what is known of their second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaMember {
    /// The membership's public id.
    pub member_id: MemberId,
    /// The person.
    pub user_id: UserId,
    /// Their display name.
    pub name: Option<String>,
    /// Their email, verified or not.
    pub email: Option<Email>,
    /// True when their identity provider vouched for the email.
    pub email_verified: bool,
    /// Their role in the organization.
    pub role: RoleKey,
    /// True once any of their tokens showed a second factor.
    pub mfa_enrolled: bool,
    /// Second-factor methods seen in the person's tokens (`otp`, `hwk`, …).
    pub mfa_methods: Vec<String>,
    /// When they last made a request.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When this organization last reminded them to set up a second factor.
    pub last_reminded_at: Option<DateTime<Utc>>,
}

impl MfaMember {
    /// Whether a reminder sent at `now` is due: the member has no second factor and was not
    /// reminded within [`REMINDER_INTERVAL`].
    pub fn due_for_reminder(&self, now: DateTime<Utc>) -> bool {
        !self.mfa_enrolled && self.last_reminded_at.is_none_or(|at| now - at >= REMINDER_INTERVAL)
    }

    /// The address a reminder goes to: only one the identity provider verified, as an
    /// unverified one may be someone else's.
    pub fn reminder_address(&self) -> Option<&Email> {
        self.email.as_ref().filter(|_| self.email_verified)
    }
}

/// How many members an organization has, and how many of them have a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MfaTotals {
    /// Every membership.
    pub members: u64,
    /// Memberships whose person has a second factor.
    pub enrolled: u64,
}

impl MfaTotals {
    /// Members without a second factor.
    pub fn not_enrolled(&self) -> u64 {
        self.members.saturating_sub(self.enrolled)
    }

    /// The share of members with a second factor in basis points (10,000 is everyone), an
    /// integer so that no client shows 33.333333 %. Rounded down: full coverage is never
    /// shown while someone lacks a second factor. No members means no one lacks one.
    pub fn coverage_basis_points(&self) -> u32 {
        if self.members == 0 {
            return 10_000;
        }
        let share = u128::from(self.enrolled.min(self.members)) * 10_000 / u128::from(self.members);
        u32::try_from(share).unwrap_or(10_000)
    }
}

/// What the 2FA dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaDashboard {
    /// The organization's 2FA policy with its version.
    pub policy: Versioned<MfaPolicy>,
    /// On the first page only, so that each page of the listing does not repeat them.
    pub totals: Option<MfaTotals>,
    /// The page of members asked for.
    pub members: Page<MfaMember>,
}

/// What a round of reminders did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MfaReminders {
    /// Members without a second factor who were sent a reminder.
    pub reminded: u64,
    /// Of those, how many by email too (the others have no verified address).
    pub emailed: u64,
    /// Members without a second factor already reminded within [`REMINDER_INTERVAL`].
    pub skipped: u64,
}

/// The port the dashboard and reminders read and record members' 2FA state through.
pub trait MfaRepository {
    /// Members and enrolled members of the organization, counted in one pass.
    fn mfa_totals(&mut self, org: OrgId) -> Result<MfaTotals, StoreError>;

    /// Members in join order with their 2FA state; with `enrolled`, only those who have
    /// (`true`) or lack (`false`) a second factor.
    fn list_mfa_members(
        &mut self,
        org: OrgId,
        enrolled: Option<bool>,
        page: PageRequest,
    ) -> Result<Page<MfaMember>, StoreError>;

    /// Records that these members of the organization were reminded at `at`.
    fn mark_mfa_reminded(&mut self, org: OrgId, members: &[MemberId], at: DateTime<Utc>) -> Result<(), StoreError>;
}
