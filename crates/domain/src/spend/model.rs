//! Budgets, budget windows and the spend posture. Money is integer micro-units of the
//! organization's currency everywhere: never a float.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;

use crate::error::{FieldError, Invalid, ValueError};

/// One millionth of a currency unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// The largest amount one usage event or limit may carry: a billion currency units, so
/// that sums stay exact in any JSON reader (below 2^53).
pub const MAX_AMOUNT_MICROS: i64 = 1_000_000_000 * MICROS_PER_UNIT;

/// An ISO 4217 currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency([u8; 3]);

impl Currency {
    /// US dollars, the currency of an organization that never set one.
    pub const USD: Currency = Currency(*b"USD");

    /// Accepts an ISO 4217 code in capitals, e.g. `EUR`.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        match value.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err(ValueError::new("invalid_currency", "an ISO 4217 code in capitals, e.g. `USD` or `EUR`")),
        }
    }

    /// The three-letter code.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("USD")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount written for people: `1234.5` units, never through a float.
pub fn format_amount(micros: i64, currency: Currency) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let units = abs / MICROS_PER_UNIT.unsigned_abs();
    let fraction = format!("{:06}", abs % MICROS_PER_UNIT.unsigned_abs());
    let fraction = fraction.trim_end_matches('0');
    let fraction = if fraction.len() < 2 { format!("{fraction:0<2}") } else { fraction.to_owned() };
    format!("{sign}{units}.{fraction} {currency}")
}

/// The period a budget applies to, in the organization's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BudgetWindow {
    /// One local calendar day.
    Daily,
    /// Monday to Sunday.
    Weekly,
    /// One calendar month.
    #[default]
    Monthly,
}

impl BudgetWindow {
    /// Every window, shortest first.
    pub const ALL: &'static [BudgetWindow] = &[BudgetWindow::Daily, BudgetWindow::Weekly, BudgetWindow::Monthly];

    /// The name the HTTP API gives the window, e.g. `monthly`.
    pub const fn as_str(self) -> &'static str {
        match self {
            BudgetWindow::Daily => "daily",
            BudgetWindow::Weekly => "weekly",
            BudgetWindow::Monthly => "monthly",
        }
    }

    /// Reads back a name [`BudgetWindow::as_str`] gives.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        Self::ALL
            .iter()
            .copied()
            .find(|w| w.as_str() == value)
            .ok_or_else(|| ValueError::new("invalid_window", "one of daily, weekly, monthly"))
    }

    /// The window holding the local calendar day `day`.
    pub fn containing(self, day: NaiveDate) -> WindowSpan {
        let (start, end) = match self {
            BudgetWindow::Daily => (day, day + Duration::days(1)),
            BudgetWindow::Weekly => {
                let start = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
                (start, start + Duration::days(7))
            }
            BudgetWindow::Monthly => {
                let start = day.with_day(1).unwrap_or(day);
                let end = if start.month() == 12 {
                    NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
                };
                (start, end.unwrap_or(start + Duration::days(31)))
            }
        };
        WindowSpan { kind: self, start, end }
    }
}

/// One budget window: local days `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpan {
    /// Which kind of window it is.
    pub kind: BudgetWindow,
    /// Its first local day.
    pub start: NaiveDate,
    /// The local day after its last one.
    pub end: NaiveDate,
}

impl WindowSpan {
    /// The instant the window opens in `zone`.
    pub fn starts_at(&self, zone: Tz) -> DateTime<Utc> {
        local_midnight(self.start, zone)
    }

    /// The instant the window closes (the next one opens) in `zone`.
    pub fn ends_at(&self, zone: Tz) -> DateTime<Utc> {
        local_midnight(self.end, zone)
    }
}

/// The local calendar day of `at` in `zone`.
pub fn local_day(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// The first instant of `day` in `zone`. Where a time-zone change skips midnight, the day
/// starts at the first local time that exists.
fn local_midnight(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=24 * 4)
        .map(|quarter| midnight + Duration::minutes(15 * quarter))
        .find_map(|local| zone.from_local_datetime(&local).earliest())
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

/// How an organization's spend stands against its budget, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Posture {
    /// Below the warning share of the budget, or no budget at all.
    Ok,
    /// At or past the warning share of the budget.
    Warning,
    /// Past the budget, within the overage allowed.
    OverBudget,
    /// Past the budget and the overage.
    Blocked,
}

impl Posture {
    /// Every posture, from best to worst.
    pub const ALL: &'static [Posture] = &[Posture::Ok, Posture::Warning, Posture::OverBudget, Posture::Blocked];

    /// The name the HTTP API gives the posture, e.g. `over_budget`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Posture::Ok => "ok",
            Posture::Warning => "warning",
            Posture::OverBudget => "over_budget",
            Posture::Blocked => "blocked",
        }
    }

    /// Reads back a name [`Posture::as_str`] gives; `None` for any other text.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.as_str() == value)
    }

    /// The levels announced when reached: every posture but `ok`, up to this one.
    pub fn levels_up_to(self) -> impl Iterator<Item = Posture> {
        Self::ALL.iter().copied().filter(move |p| *p != Posture::Ok && *p <= self)
    }
}

/// An organization's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpendLimits {
    /// The currency every amount is in.
    pub currency: Currency,
    /// The period the budget applies to.
    pub window: BudgetWindow,
    /// `None`: no budget, the posture is always `ok`.
    pub budget_micros: Option<i64>,
    /// The share of the budget, in percent, from which the posture is `warning`.
    pub warning_percent: u8,
    /// How far past the budget spend may go before the posture is `blocked`.
    pub max_overage_micros: i64,
}

impl Default for SpendLimits {
    fn default() -> Self {
        Self {
            currency: Currency::USD,
            window: BudgetWindow::Monthly,
            budget_micros: None,
            warning_percent: 80,
            max_overage_micros: 0,
        }
    }
}

/// The limits as a client sent them.
#[derive(Debug, Clone, Default)]
pub struct SpendLimitsInput {
    /// An ISO 4217 code; `USD` when `None`.
    pub currency: Option<String>,
    /// `daily`, `weekly` or `monthly`; `monthly` when `None`.
    pub window: Option<String>,
    /// The budget in micro-units of the currency; `None`: no budget.
    pub budget_micros: Option<i64>,
    /// The warning share, 1 to 100 percent; 80 when `None`.
    pub warning_percent: Option<i64>,
    /// The overage allowed past the budget, in micro-units; 0 when `None`.
    pub max_overage_micros: Option<i64>,
}

impl SpendLimits {
    /// Validates `input`, filling what it leaves out with the defaults and reporting every bad
    /// field at once.
    pub fn parse(input: &SpendLimitsInput) -> Result<Self, Invalid> {
        let defaults = Self::default();
        let mut invalid = Invalid::default();
        let currency = match &input.currency {
            Some(c) => invalid.check("currency", Currency::parse(c)),
            None => Some(defaults.currency),
        };
        let window = match &input.window {
            Some(w) => invalid.check("window", BudgetWindow::parse(w)),
            None => Some(defaults.window),
        };
        let mut amount = |field: &str, value: Option<i64>| match value {
            Some(v) if !(0..=MAX_AMOUNT_MICROS).contains(&v) => {
                invalid.0.push(FieldError::new(field, "out_of_range", format!("between 0 and {MAX_AMOUNT_MICROS}")));
                None
            }
            v => Some(v),
        };
        let budget_micros = amount("budget_micros", input.budget_micros);
        let max_overage = amount("max_overage_micros", input.max_overage_micros);
        let warning_percent = match input.warning_percent {
            None => Some(defaults.warning_percent),
            Some(p) => match u8::try_from(p).ok().filter(|p| (1..=100).contains(p)) {
                Some(p) => Some(p),
                None => {
                    invalid.0.push(FieldError::new("warning_percent", "out_of_range", "between 1 and 100"));
                    None
                }
            },
        };
        invalid.into_result()?;
        let (Some(currency), Some(window), Some(budget_micros), Some(max_overage), Some(warning_percent)) =
            (currency, window, budget_micros, max_overage, warning_percent)
        else {
            return Err(Invalid::default());
        };
        Ok(Self { currency, window, budget_micros, warning_percent, max_overage_micros: max_overage.unwrap_or(0) })
    }

    /// The posture of `spend` against these limits. At exactly the budget the posture is
    /// still `warning`; one micro-unit past it, `over_budget`; past budget and overage,
    /// `blocked`. Nothing spent is `ok`, even against a budget of zero.
    pub fn posture(&self, spend: i64) -> Posture {
        let Some(budget) = self.budget_micros else { return Posture::Ok };
        let spend = i128::from(spend);
        let budget = i128::from(budget);
        if spend > budget + i128::from(self.max_overage_micros) {
            Posture::Blocked
        } else if spend > budget {
            Posture::OverBudget
        } else if spend > 0 && spend * 100 >= budget * i128::from(self.warning_percent) {
            Posture::Warning
        } else {
            Posture::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn windows_cover_their_calendar_period() {
        let w = BudgetWindow::Monthly.containing(day(2026, 12, 31));
        assert_eq!((w.start, w.end), (day(2026, 12, 1), day(2027, 1, 1)));
        let w = BudgetWindow::Monthly.containing(day(2028, 2, 29));
        assert_eq!((w.start, w.end), (day(2028, 2, 1), day(2028, 3, 1)));
        let w = BudgetWindow::Weekly.containing(day(2026, 12, 6)); // a Sunday
        assert_eq!((w.start, w.end), (day(2026, 11, 30), day(2026, 12, 7)));
        let w = BudgetWindow::Daily.containing(day(2026, 12, 6));
        assert_eq!((w.start, w.end), (day(2026, 12, 6), day(2026, 12, 7)));
    }

    #[test]
    fn a_window_opens_at_local_midnight() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        let w = BudgetWindow::Monthly.containing(day(2026, 12, 1));
        assert_eq!(w.starts_at(tokyo).to_rfc3339(), "2026-11-30T15:00:00+00:00");
        // 23:30 UTC on 30 November is already 1 December in Tokyo.
        let at = "2026-11-30T23:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(local_day(at, tokyo), day(2026, 12, 1));
        assert_eq!(local_day(at, Tz::UTC), day(2026, 11, 30));
        // Midnight does not exist on the day Santiago moves its clocks forward.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let w = BudgetWindow::Daily.containing(day(2026, 9, 6));
        assert_eq!(w.starts_at(santiago).to_rfc3339(), "2026-09-06T04:00:00+00:00");
    }

    #[test]
    fn posture_levels() {
        let limits = SpendLimits {
            budget_micros: Some(100 * MICROS_PER_UNIT),
            max_overage_micros: 20 * MICROS_PER_UNIT,
            ..SpendLimits::default()
        };
        assert_eq!(limits.posture(79_999_999), Posture::Ok);
        assert_eq!(limits.posture(80_000_000), Posture::Warning);
        assert_eq!(limits.posture(100_000_000), Posture::Warning);
        assert_eq!(limits.posture(100_000_001), Posture::OverBudget);
        assert_eq!(limits.posture(120_000_000), Posture::OverBudget);
        assert_eq!(limits.posture(120_000_001), Posture::Blocked);
        assert_eq!(SpendLimits::default().posture(i64::MAX), Posture::Ok);
        let zero = SpendLimits { budget_micros: Some(0), ..SpendLimits::default() };
        assert_eq!((zero.posture(0), zero.posture(1)), (Posture::Ok, Posture::Blocked));
        let levels: Vec<_> = Posture::OverBudget.levels_up_to().collect();
        assert_eq!(levels, vec![Posture::Warning, Posture::OverBudget]);
    }

    #[test]
    fn amounts_are_written_exactly() {
        assert_eq!(format_amount(1_234_500_000, Currency::USD), "1234.50 USD");
        assert_eq!(format_amount(1, Currency::parse("EUR").unwrap()), "0.000001 EUR");
        assert_eq!(format_amount(-2_000_000, Currency::USD), "-2.00 USD");
        assert!(Currency::parse("usd").is_err());
    }

    #[test]
    fn limits_report_every_bad_field() {
        let err = SpendLimits::parse(&SpendLimitsInput {
            currency: Some("dollars".into()),
            window: Some("yearly".into()),
            budget_micros: Some(-1),
            warning_percent: Some(0),
            max_overage_micros: Some(MAX_AMOUNT_MICROS + 1),
        })
        .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["currency", "window", "budget_micros", "max_overage_micros", "warning_percent"]);
    }
}
