//! A service in front of orgd deciding in-process: may this caller do that, may this model
//! be called. It reads the bodies of `GET /v1/orgs/{org}/permissions` and
//! `GET /v1/orgs/{org}/llm-policy` from the files named on the command line, or the sample
//! answers in `examples/responses/`, and prints each decision.
//!
//! ```sh
//! cargo run -p orgd-domain --example check_permissions
//!
//! # or with a running service's answers:
//! curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/v1/orgs/me/permissions > permissions.json
//! curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/v1/orgs/me/llm-policy > llm-policy.json
//! cargo run -p orgd-domain --example check_permissions -- permissions.json llm-policy.json
//! ```

use std::error::Error;
use std::process::ExitCode;

use orgd_domain::authz::{Grant, Permission, PermissionMap};
use orgd_domain::llm::{LlmPolicy, LlmPolicyResponse, LlmRequest, LlmRequestInput};

const SAMPLE_PERMISSIONS: &str = include_str!("responses/permissions.json");
const SAMPLE_LLM_POLICY: &str = include_str!("responses/llm_policy.json");

/// The permissions asked about.
const QUESTIONS: [Permission; 4] =
    [Permission::MembersRead, Permission::MembersUpdate, Permission::OrgDelete, Permission::LlmUpdate];

/// The model requests asked about, as a gateway receives them.
fn requests() -> [LlmRequestInput; 6] {
    [
        ask("OpenAI", Some("gpt-4o-mini"), "eu", Some(4_000)),
        ask("openai", Some("gpt-4o"), "eu", Some(20_000)),
        ask("openai", None, "eu", None),
        ask("self-vllm", Some("llama-3.1-70b"), "eu", None),
        ask("anthropic", Some("claude-sonnet-4"), "eu", None),
        ask("openai", Some("gpt-4o-mini"), "us-east-1", None),
    ]
}

fn ask(provider: &str, model: Option<&str>, region: &str, requested_tokens: Option<i64>) -> LlmRequestInput {
    LlmRequestInput {
        provider: provider.to_owned(),
        model: model.map(str::to_owned),
        region: Some(region.to_owned()),
        requested_tokens,
        self_hosted: false,
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("check_permissions: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut files = std::env::args().skip(1);
    let permissions = body(files.next(), SAMPLE_PERMISSIONS)?;
    let llm_policy = body(files.next(), SAMPLE_LLM_POLICY)?;

    let grant = Grant::try_from(serde_json::from_str::<PermissionMap>(&permissions)?)?;
    println!("caller: role `{}`, {} access", grant.role, grant.access.as_str());
    for permission in QUESTIONS {
        match grant.authorize(permission) {
            Ok(()) => println!("  {permission}: allowed"),
            Err(refusal) => println!("  {permission}: refused, {refusal}"),
        }
    }

    let policy = LlmPolicy::try_from(serde_json::from_str::<LlmPolicyResponse>(&llm_policy)?)?;
    println!("LLM requests:");
    for input in requests() {
        let decision = policy.check(&LlmRequest::parse(&input)?);
        let verdict = if decision.admitted { "admitted" } else { "refused" };
        let rule = decision.rule.as_deref().unwrap_or("no rule");
        println!(
            "  {} {} in {}: {verdict} ({}, {rule}): {}",
            input.provider,
            input.model.as_deref().unwrap_or("(default model)"),
            input.region.as_deref().unwrap_or("(no region)"),
            decision.code,
            decision.detail
        );
    }
    Ok(())
}

/// The file's contents, or `sample` when no file is named.
fn body(file: Option<String>, sample: &str) -> Result<String, Box<dyn Error>> {
    match file {
        Some(path) => std::fs::read_to_string(&path).map_err(|err| format!("cannot read {path}: {err}").into()),
        None => Ok(sample.to_owned()),
    }
}
