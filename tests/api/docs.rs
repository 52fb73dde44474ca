//! The reference tables of the documentation say what the code does: every problem code the
//! API can answer is in `docs/api-guide.md`, every environment variable the server reads is
//! in `docs/operations.md` and the README, and the container image builds the binary with
//! the command `make release` runs.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use api::config::{database_url_from_env, Config, JwtConfig};
use api::error::ApiError;
use serde_json::Value;

const API_GUIDE: &str = include_str!("../../docs/api-guide.md");
const OPERATIONS: &str = include_str!("../../docs/operations.md");
const README: &str = include_str!("../../README.md");
const MAKEFILE: &str = include_str!("../../Makefile");
const DOCKERFILE: &str = include_str!("../../Dockerfile");

/// The part of `markdown` under `heading`, up to the next heading of the same level or
/// higher.
fn section<'m>(markdown: &'m str, heading: &str) -> &'m str {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let start =
        markdown.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("the document has no `{heading}` heading"))
            + heading.len()
            + 2;
    let rest = &markdown[start..];
    let end = rest
        .match_indices("\n#")
        .map(|(at, _)| at)
        .find(|at| {
            let line = &rest[at + 1..];
            let hashes = line.chars().take_while(|c| *c == '#').count();
            hashes <= level && line[hashes..].starts_with(' ')
        })
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The rows of the tables in `text` whose first cell is one `` `name` ``: the name, and the
/// row's other cells.
fn named_rows(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.strip_prefix('|')?.strip_suffix('|')?.split('|').map(str::trim).collect();
            let name = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            (!name.contains('`')).then(|| (name.to_owned(), cells[1..].iter().map(|c| (*c).to_owned()).collect()))
        })
        .collect()
}

/// Every (code, status) a problem response can carry, with when it happens, as the served
/// OpenAPI document lists them in `x-problem-codes`, plus the 405 of a path that exists with
/// other methods, which no operation can document.
fn answered_problems() -> BTreeMap<String, BTreeMap<u16, String>> {
    let document = serde_json::to_value(api::startup::openapi()).unwrap();
    let mut answered: BTreeMap<String, BTreeMap<u16, String>> = BTreeMap::new();
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let Some(responses) = operation["responses"].as_object() else { continue };
            for (status, response) in responses {
                let Some(codes) = response[api::openapi::PROBLEM_CODES].as_array() else { continue };
                let description = response["description"].as_str().unwrap_or_default();
                for code in codes.iter().filter_map(Value::as_str) {
                    let when = description
                        .lines()
                        .find_map(|line| line.strip_prefix(&format!("- `{code}`: ")))
                        .unwrap_or_default()
                        .trim_end_matches('.');
                    answered
                        .entry(code.to_owned())
                        .or_default()
                        .entry(status.parse().unwrap())
                        .or_insert_with(|| when.to_owned());
                }
            }
        }
    }
    let wrong_method = ApiError::method_not_allowed(&["GET"]);
    answered
        .entry(wrong_method.code().to_owned())
        .or_default()
        .insert(wrong_method.status().as_u16(), wrong_method.detail().to_owned());
    answered
}

#[test]
fn every_problem_code_the_api_answers_is_in_the_api_guide() {
    let answered = answered_problems();
    assert!(answered.len() > 50, "the document lists {} codes: is x-problem-codes still read?", answered.len());
    let documented: BTreeMap<String, BTreeSet<u16>> = named_rows(section(API_GUIDE, "### Problem codes"))
        .into_iter()
        .map(|(code, cells)| {
            let statuses = cells.first().map(String::as_str).unwrap_or_default();
            (code, statuses.split(|c: char| !c.is_ascii_digit()).filter_map(|s| s.parse().ok()).collect())
        })
        .collect();
    let mut problems = Vec::new();
    for (code, statuses) in &answered {
        match documented.get(code) {
            None => {
                for (status, when) in statuses {
                    problems.push(format!("missing: add the row | `{code}` | {status} | {when} |"));
                }
            }
            Some(listed) if !statuses.keys().all(|s| listed.contains(s)) => {
                let statuses: Vec<_> = statuses.keys().collect();
                problems.push(format!("`{code}` is answered with status {statuses:?}, but listed as {listed:?}"));
            }
            Some(_) => {}
        }
    }
    for code in documented.keys().filter(|code| !answered.contains_key(*code)) {
        problems.push(format!("`{code}` is listed, but no operation answers it: remove its row"));
    }
    assert!(problems.is_empty(), "docs/api-guide.md, Problem codes:\n{}", problems.join("\n"));
}

/// Settings every reader of the environment accepts, so that each of them reads everything
/// it would.
const USABLE: [(&str, &str); 3] = [
    ("ORGD_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
    ("ORGD_HMAC_KEY", "fedcba9876543210fedcba9876543210"),
    ("ORGD_ENCRYPTION_KEY", "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"),
];

/// Every environment variable the `orgd` binary reads: the names its readers ask for
/// (`serve` and `reseal` read the whole configuration, `migrate` the database URL, `token`
/// the signing settings), and the log filter `telemetry::init` hands to tracing.
fn variables_read() -> BTreeSet<String> {
    let asked = RefCell::new(BTreeSet::new());
    let env = |name: &str| {
        asked.borrow_mut().insert(name.to_owned());
        USABLE.iter().find(|(variable, _)| *variable == name).map(|(_, value)| (*value).to_owned())
    };
    if let Err(errors) = Config::from_env(&env) {
        panic!("the configuration was refused, so not every setting was read: {errors}");
    }
    database_url_from_env(&env).unwrap();
    JwtConfig::signing_from_env(&env).unwrap();
    let mut read = asked.into_inner();
    read.insert(tracing_subscriber::EnvFilter::DEFAULT_ENV.to_owned());
    read
}

/// The variables of `table`'s rows, compared with those read: what is missing, and what is
/// listed but not read, each by name.
fn compare_variables(document: &str, table: &str) {
    let listed: BTreeSet<String> = named_rows(table)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .collect();
    let read = variables_read();
    assert!(read.len() > 30, "only {} variables seen: is the configuration still read through `env`?", read.len());
    let missing: Vec<_> = read.difference(&listed).collect();
    let not_read: Vec<_> = listed.difference(&read).collect();
    assert!(
        missing.is_empty() && not_read.is_empty(),
        "{document}: variables the server reads but the table lacks: {missing:?}; \
         variables the table lists but the server does not read: {not_read:?}"
    );
}

#[test]
fn the_operations_guide_lists_every_variable_the_server_reads_and_no_other() {
    compare_variables("docs/operations.md", section(OPERATIONS, "## Configuration reference"));
}

#[test]
fn the_readme_lists_every_variable_the_server_reads_and_no_other() {
    compare_variables("README.md", section(README, "## Configuration"));
}

#[test]
fn the_container_image_builds_with_the_command_of_make_release() {
    let recipe = MAKEFILE
        .lines()
        .skip_while(|line| !line.starts_with("release:"))
        .nth(1)
        .and_then(|line| line.strip_prefix('\t'))
        .expect("the Makefile has a `release` target with a one-line recipe");
    assert!(recipe.starts_with("cargo build --release"), "{recipe}");
    assert!(
        DOCKERFILE.lines().any(|line| line.trim_start().starts_with(recipe)),
        "the Dockerfile does not run `{recipe}` as `make release` does"
    );
}
