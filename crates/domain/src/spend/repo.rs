//! The port spend is stored through.

use chrono::{DateTime, NaiveDate, Utc};

use super::model::{Posture, SpendLimits, WindowSpan};
use super::usage::UsageEvent;
use crate::error::StoreError;
use crate::ids::OrgId;
use crate::policy::Versioned;

/// The port budgets, usage and spend are stored through.
pub trait SpendRepository {
    /// The organization's limits; `None` until first written.
    fn find_spend_limits(&mut self, org: OrgId) -> Result<Option<Versioned<SpendLimits>>, StoreError>;

    /// Stores the limits at their new version.
    fn save_spend_limits(&mut self, org: OrgId, limits: &Versioned<SpendLimits>) -> Result<(), StoreError>;

    /// Records the event and adds its amount to its local day's spend, unless the
    /// organization already holds an event with its idempotency key: then records nothing
    /// and returns that event. Never serialises with the organization's audit chain.
    fn record_usage(&mut self, event: &UsageEvent) -> Result<Option<UsageEvent>, StoreError>;

    /// The organization's spend over the local days `[from, to)`.
    fn spend_between(&mut self, org: OrgId, from: NaiveDate, to: NaiveDate) -> Result<i64, StoreError>;

    /// Marks `levels` announced for the window and returns those that were not already:
    /// of concurrent callers, exactly one gets each level.
    fn announce_levels(
        &mut self,
        org: OrgId,
        window: &WindowSpan,
        levels: &[Posture],
        now: DateTime<Utc>,
    ) -> Result<Vec<Posture>, StoreError>;
}
