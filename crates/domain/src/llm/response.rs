//! The LLM admission policy as the HTTP API serves it, turned back into an [`LlmPolicy`] so
//! a gateway written in Rust decides in-process with [`LlmPolicy::check`].

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{LlmPolicy, LlmPolicyInput};
use crate::error::Invalid;
use crate::policy::Versioned;

/// The body of `GET /v1/orgs/{org}/llm-policy` (and of its `PUT`).
///
/// Deserialize it from the response, then convert it with [`LlmPolicy::try_from`], or
/// [`Versioned::try_from`] to keep the version (the response's `ETag`) too. The conversion
/// validates the policy as the server does, so a served policy always converts. Fields a
/// newer server adds are ignored; every field the server sends is required.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LlmPolicyResponse {
    /// The rules: providers, models, default model, self-hosting and regions.
    #[serde(flatten)]
    pub policy: LlmPolicyInput,
    /// The policy's version; 0 until first written.
    pub version: i64,
    /// When the policy was last written; `None` until then.
    pub updated_at: Option<DateTime<Utc>>,
}

impl TryFrom<LlmPolicyResponse> for Versioned<LlmPolicy> {
    type Error = Invalid;

    fn try_from(response: LlmPolicyResponse) -> Result<Self, Self::Error> {
        let policy = LlmPolicy::parse(&response.policy)?;
        Ok(Versioned { policy, version: response.version, updated_at: response.updated_at })
    }
}

impl TryFrom<LlmPolicyResponse> for LlmPolicy {
    type Error = Invalid;

    fn try_from(response: LlmPolicyResponse) -> Result<Self, Self::Error> {
        LlmPolicy::parse(&response.policy)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::llm::{LlmRequest, LlmRequestInput, ModelRuleInput};

    fn served() -> serde_json::Value {
        json!({
            "providers": ["openai", "self-*"],
            "models": [
                { "provider": "openai", "model": "gpt-4o*", "max_tokens": 8000 },
                { "provider": null, "model": "llama-3.?-70b", "max_tokens": null },
            ],
            "default_model": "gpt-4o-mini",
            "self_hosted_only": false,
            "regions": ["eu"],
            "version": 3,
            "updated_at": "2026-01-05T10:00:00Z",
        })
    }

    fn read(body: serde_json::Value) -> Result<Versioned<LlmPolicy>, Invalid> {
        let response: LlmPolicyResponse = serde_json::from_value(body).unwrap();
        Versioned::try_from(response)
    }

    fn request(provider: &str, model: Option<&str>, requested_tokens: Option<i64>) -> LlmRequest {
        let input = LlmRequestInput {
            provider: provider.into(),
            model: model.map(Into::into),
            region: Some("eu".into()),
            requested_tokens,
            self_hosted: false,
        };
        LlmRequest::parse(&input).unwrap()
    }

    #[test]
    fn a_served_policy_reads_back_as_the_policy_the_server_saved() {
        let saved = LlmPolicy::parse(&LlmPolicyInput {
            providers: vec!["openai".into(), "self-*".into()],
            models: vec![
                ModelRuleInput { provider: Some("openai".into()), model: "gpt-4o*".into(), max_tokens: Some(8000) },
                ModelRuleInput { provider: None, model: "llama-3.?-70b".into(), max_tokens: None },
            ],
            default_model: Some("gpt-4o-mini".into()),
            self_hosted_only: false,
            regions: vec!["eu".into()],
        })
        .unwrap();
        let versioned = read(served()).unwrap();
        assert_eq!(versioned.policy, saved);
        assert_eq!(versioned.version, 3);
        assert_eq!(versioned.updated_at, Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).single());
    }

    #[test]
    fn the_read_policy_decides_as_the_server_does() {
        let policy = read(served()).unwrap().policy;
        let decision = policy.check(&request("OpenAI", Some("GPT-4o-mini"), Some(4000)));
        assert!(decision.admitted, "{decision:?}");
        assert_eq!(decision.rule.as_deref(), Some("models[0]"));
        assert_eq!(policy.check(&request("openai", Some("gpt-4o"), Some(9000))).code, "max_tokens_exceeded");
        assert_eq!(policy.check(&request("anthropic", Some("claude-3"), None)).code, "provider_not_allowed");
        assert_eq!(policy.check(&request("openai", None, None)).model.as_deref(), Some("gpt-4o-mini"));
    }

    #[test]
    fn a_policy_never_written_admits_everything() {
        let body = json!({
            "providers": [], "models": [], "default_model": null, "self_hosted_only": false,
            "regions": [], "version": 0, "updated_at": null,
        });
        let response: LlmPolicyResponse = serde_json::from_value(body).unwrap();
        assert_eq!(LlmPolicy::try_from(response), Ok(LlmPolicy::default()));
    }

    #[test]
    fn a_policy_the_server_would_refuse_is_refused_by_field() {
        let mut body = served();
        body["models"][1]["model"] = json!("llama 3");
        let err = read(body).unwrap_err();
        assert_eq!((err.0[0].field.as_str(), err.0[0].code), ("models[1].model", "invalid_name"));
    }

    #[test]
    fn a_missing_rule_is_an_error_not_an_open_policy() {
        for field in ["providers", "models", "self_hosted_only", "regions", "version"] {
            let mut body = served();
            body.as_object_mut().unwrap().remove(field);
            assert!(serde_json::from_value::<LlmPolicyResponse>(body).is_err(), "without {field}");
        }
    }
}
