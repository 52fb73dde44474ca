//! Fuzzing of every parser of client input, from the seed corpus in `tests/fuzz/corpus.txt`
//! mutated at random. In `make test` each target runs a few thousand inputs; `make fuzz`
//! runs each for `FUZZ_SECONDS` and prints how many inputs it tried. A panic fails with the
//! smallest input that causes it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use orgd_domain::ids::{MemberId, OrgId};
use orgd_domain::llm::{normalize_concrete_name, NamePattern};
use orgd_domain::scim::filter::Filter;
use orgd_domain::scim::path::PatchPath;
use orgd_domain::token::{ApiKeyToken, InviteToken, ScimToken};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const CORPUS: &str = include_str!("../../../tests/fuzz/corpus.txt");

/// A seed with up to 8 random edits: insert, replace or delete a character, or repeat a run
/// (nesting and length are where parsers break).
fn mutated() -> impl Strategy<Value = String> {
    let seeds: Vec<String> = CORPUS.lines().map(str::to_owned).collect();
    let edit = (0usize..4, any::<usize>(), any::<char>(), 1usize..200);
    (proptest::sample::select(seeds), proptest::collection::vec(edit, 0..8)).prop_map(|(seed, edits)| {
        let mut chars: Vec<char> = seed.chars().collect();
        for (kind, at, c, times) in edits {
            let at = if chars.is_empty() { 0 } else { at % (chars.len() + 1) };
            match kind {
                0 => chars.insert(at, c),
                1 if at < chars.len() => chars[at] = c,
                2 if at < chars.len() => {
                    chars.remove(at);
                }
                _ => {
                    let end = (at + 3).min(chars.len());
                    let run: Vec<char> = chars[at..end].to_vec();
                    for _ in 0..times {
                        chars.splice(at..at, run.iter().copied());
                    }
                }
            }
        }
        chars.into_iter().collect()
    })
}

type Target = (&'static str, fn(&str));

const TARGETS: &[Target] = &[
    ("ids", |s| {
        let _ = s.parse::<OrgId>();
        let _ = s.parse::<MemberId>();
    }),
    ("tokens", |s| {
        let _ = ApiKeyToken::parse(s);
        let _ = InviteToken::parse(s);
        let _ = ScimToken::parse(s);
    }),
    ("scim_filter", |s| {
        let _ = Filter::parse(s);
    }),
    ("scim_path", |s| {
        let _ = PatchPath::parse(s);
    }),
    ("llm_names", |s| {
        if let Ok(pattern) = NamePattern::parse(s) {
            let _ = pattern.matches(s);
        }
        let _ = normalize_concrete_name(s);
    }),
];

#[test]
fn parsers_survive_mutated_input() {
    let budget = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse::<u64>().ok()).map(Duration::from_secs);
    for (name, target) in TARGETS {
        let started = Instant::now();
        let mut executions = 0u64;
        loop {
            let mut runner = TestRunner::new(Config { cases: 2_000, failure_persistence: None, ..Config::default() });
            runner
                .run(&mutated(), |input| {
                    target(&input);
                    Ok(())
                })
                .unwrap_or_else(|failure| panic!("{name}: {failure}"));
            executions += 2_000;
            if budget.is_none_or(|budget| started.elapsed() >= budget) {
                break;
            }
        }
        if budget.is_some() {
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "fuzz: {name}: {executions} inputs in {seconds:.0} s ({:.0}/s), no panic",
                executions as f64 / seconds
            );
        }
    }
}
