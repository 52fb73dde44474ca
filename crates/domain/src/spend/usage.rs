//! One metered usage event.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::model::MAX_AMOUNT_MICROS;
use crate::audit::Actor;
use crate::error::{FieldError, Invalid};
use crate::ids::{OrgId, UsageEventId};

/// How far back an event may have happened: a little more than the longest window, so
/// a late event still lands in the window it belongs to.
pub const OCCURRED_AT_MAX_AGE_DAYS: i64 = 35;
/// How far ahead of the service's clock an event's time may be (clock skew).
const OCCURRED_AT_MAX_SKEW: Duration = Duration::minutes(5);

/// Text of a usage event as the API schema states it: no control character.
pub const TEXT_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// An event as a client sent it.
#[derive(Debug, Clone, Default)]
pub struct UsageInput {
    /// The client's key for the event: a retry with the same key is counted once.
    pub idempotency_key: String,
    /// The cost, in integer micro-units of the organization's currency.
    pub amount_micros: i64,
    /// The model the usage was for, e.g. `gpt-4o`.
    pub model: Option<String>,
    /// The product feature the usage was for.
    pub feature: Option<String>,
    /// `None`: now.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A recorded usage event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEvent {
    /// The event's public id.
    pub id: UsageEventId,
    /// The organization charged.
    pub org_id: OrgId,
    /// The client's key for the event, unique in the organization.
    pub idempotency_key: String,
    /// The cost, in integer micro-units of the organization's currency.
    pub amount_micros: i64,
    /// The model the usage was for.
    pub model: Option<String>,
    /// The product feature the usage was for.
    pub feature: Option<String>,
    /// When the usage happened.
    pub occurred_at: DateTime<Utc>,
    /// The calendar day of `occurred_at` in the organization's time zone when recorded.
    pub local_day: NaiveDate,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it (typically a gateway's API key).
    pub recorded_by: Actor,
}

/// The outcome of recording: the event, and whether it had been recorded before under
/// the same idempotency key (then nothing was counted again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The event as first recorded.
    pub event: UsageEvent,
    /// True when the key had been recorded before: this is the earlier event, counted once.
    pub replayed: bool,
}

fn text(invalid: &mut Invalid, field: &str, value: Option<&str>, max: usize) -> Option<String> {
    let value = value?;
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        invalid.0.push(FieldError::new(field, "invalid", format!("1 to {max} characters, no control characters")));
        return None;
    }
    Some(value.to_owned())
}

impl UsageInput {
    /// The longest idempotency key, in characters.
    pub const MAX_KEY_LEN: usize = 255;
    /// The longest model or feature name, in characters.
    pub const MAX_NAME_LEN: usize = 128;

    /// Validates the event against the service's clock.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        text(&mut invalid, "idempotency_key", Some(&self.idempotency_key), Self::MAX_KEY_LEN);
        text(&mut invalid, "model", self.model.as_deref(), Self::MAX_NAME_LEN);
        text(&mut invalid, "feature", self.feature.as_deref(), Self::MAX_NAME_LEN);
        if !(0..=MAX_AMOUNT_MICROS).contains(&self.amount_micros) {
            invalid.0.push(FieldError::new(
                "amount_micros",
                "out_of_range",
                format!("between 0 and {MAX_AMOUNT_MICROS}"),
            ));
        }
        if let Some(at) = self.occurred_at {
            if at > now + OCCURRED_AT_MAX_SKEW || at < now - Duration::days(OCCURRED_AT_MAX_AGE_DAYS) {
                invalid.0.push(FieldError::new(
                    "occurred_at",
                    "out_of_range",
                    format!("within the last {OCCURRED_AT_MAX_AGE_DAYS} days, and not in the future"),
                ));
            }
        }
        invalid.into_result()
    }

    /// Whether a recorded event is what this input asks for: a retry sends the same
    /// amount, model and feature (and time, if it names one).
    pub fn is_retry_of(&self, event: &UsageEvent) -> bool {
        self.amount_micros == event.amount_micros
            && self.model == event.model
            && self.feature == event.feature
            && self.occurred_at.is_none_or(|at| at == event.occurred_at)
    }
}
