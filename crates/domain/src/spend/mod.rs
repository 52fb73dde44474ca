//! Spend governance: metered usage, budgets per window, and the posture gateways and
//! dashboards read.

mod model;
mod repo;
mod service;
mod usage;

pub use model::{
    format_amount, local_day, BudgetWindow, Currency, Posture, SpendLimits, SpendLimitsInput, WindowSpan,
    MAX_AMOUNT_MICROS, MICROS_PER_UNIT,
};
pub use repo::SpendRepository;
pub use service::{current_status, SpendError, SpendService, SpendStatus};
pub use usage::{Recorded, UsageEvent, UsageInput, OCCURRED_AT_MAX_AGE_DAYS, TEXT_PATTERN};

#[cfg(test)]
mod tests;
