//! Properties of the parsers that read what clients send, over generated input: none panics
//! on anything, what one prints the other reads back, and the rules of budgets and LLM
//! policies hold for every value, not only the ones a test names.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, NaiveDate};
use orgd_domain::ids::{MemberId, OrgId, UsageEventId};
use orgd_domain::llm::{LlmPolicy, LlmPolicyInput, LlmRequest, ModelRuleInput, NamePattern};
use orgd_domain::scim::filter::Filter;
use orgd_domain::scim::path::PatchPath;
use orgd_domain::spend::{BudgetWindow, Posture, SpendLimits};
use orgd_domain::token::{ApiKeyToken, InviteToken, ScimToken};
use proptest::prelude::*;

/// Any text, with a bias towards the characters the grammars care about.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 ()\\[\\]\".:_$-]{0,200}",
        "(eq|ne|co|sw|ew|pr|gt|lt|and|or|not|\\(|\\)|\\[|\\]|\"x\"| |userName|emails\\.value){0,60}",
        "(org|mem|usr|key|use)_[0-9a-fA-F]{0,40}",
        "(orgk|orgi|orgs)_[A-Za-z0-9]{0,50}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(text in hostile_text()) {
        let _ = text.parse::<OrgId>();
        let _ = text.parse::<MemberId>();
        let _ = text.parse::<UsageEventId>();
        let _ = ApiKeyToken::parse(&text);
        let _ = InviteToken::parse(&text);
        let _ = ScimToken::parse(&text);
        let _ = Filter::parse(&text);
        let _ = PatchPath::parse(&text);
        let _ = NamePattern::parse(&text);
    }

    #[test]
    fn ids_read_back_what_they_print(bytes in any::<u128>()) {
        let id = OrgId::from_uuid(uuid::Uuid::from_u128(bytes));
        prop_assert_eq!(id.to_string().parse::<OrgId>(), Ok(id));
        prop_assert!(id.to_string().parse::<MemberId>().is_err(), "another kind's prefix is refused");
    }

    #[test]
    fn tokens_read_back_and_refuse_any_changed_character(body in "[A-Za-z0-9]{32}", at in 0usize..32, to in "[A-Za-z0-9]") {
        let token = ApiKeyToken::from_body(&body).unwrap();
        prop_assert!(ApiKeyToken::parse(token.expose()).is_ok());
        let mut changed: Vec<char> = token.expose().chars().collect();
        let position = ApiKeyToken::PREFIX.len() + at;
        let replacement = to.chars().next().unwrap();
        prop_assume!(changed[position] != replacement);
        changed[position] = replacement;
        let changed: String = changed.into_iter().collect();
        prop_assert!(ApiKeyToken::parse(&changed).is_err(), "the checksum catches {changed}");
    }

    #[test]
    fn deep_filters_are_refused_not_overflowed(depth in 1usize..5000) {
        let filter = format!("{}userName eq \"a\"{}", "(".repeat(depth), ")".repeat(depth));
        let _ = Filter::parse(&filter);
        let negated = format!("{}userName pr{}", "not (".repeat(depth), ")".repeat(depth));
        let _ = Filter::parse(&negated);
    }

    #[test]
    fn windows_hold_their_day_and_tile_the_calendar(days in 0i64..40_000, kind in 0usize..3) {
        let window = BudgetWindow::ALL[kind];
        let day = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + Duration::days(days);
        let span = window.containing(day);
        prop_assert!(span.start <= day && day < span.end);
        // The day after a window belongs to the next one, which starts where this ends.
        prop_assert_eq!(window.containing(span.end).start, span.end);
        prop_assert_eq!(window.containing(span.end - Duration::days(1)), span);
    }

    #[test]
    fn posture_never_improves_as_spend_grows(
        budget in 0i64..=1_000_000_000_000_000,
        overage in 0i64..=1_000_000_000_000_000,
        warning_percent in 1u8..=100,
        a in any::<i64>(),
        b in any::<i64>(),
    ) {
        let limits = SpendLimits { budget_micros: Some(budget), max_overage_micros: overage, warning_percent, ..SpendLimits::default() };
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(limits.posture(low) <= limits.posture(high));
        // Spending exactly a budget is a warning, never over it.
        prop_assert_eq!(limits.posture(budget), if budget == 0 { Posture::Ok } else { Posture::Warning });
        prop_assert!(limits.posture(budget.saturating_add(overage).saturating_add(1)) >= Posture::OverBudget);
    }

    #[test]
    fn an_admitted_request_is_admitted_by_a_rule_that_names_it(
        provider in "[a-z]{1,8}",
        model in "[a-z0-9-]{1,12}",
        patterns in proptest::collection::vec("[a-z0-9*?-]{1,6}", 0..6),
        tokens in proptest::option::of(1u32..100_000),
    ) {
        let input = LlmPolicyInput {
            models: patterns.iter().map(|p| ModelRuleInput { provider: None, model: p.clone(), max_tokens: Some(50_000) }).collect(),
            ..Default::default()
        };
        let policy = LlmPolicy::parse(&input).unwrap();
        let request = LlmRequest { provider, model: Some(model.clone()), region: None, requested_tokens: tokens, self_hosted: false };
        let decision = policy.check(&request);
        let matching = policy.models.iter().position(|r| r.model.matches(&model));
        match (decision.admitted, matching) {
            (true, Some(i)) => prop_assert_eq!(decision.rule, Some(format!("models[{i}]"))),
            (true, None) => prop_assert!(policy.models.is_empty()),
            (false, Some(_)) => prop_assert_eq!(decision.code, "max_tokens_exceeded"),
            (false, None) => prop_assert_eq!(decision.code, "model_not_allowed"),
        }
    }
}
