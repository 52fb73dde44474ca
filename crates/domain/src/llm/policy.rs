//! The LLM admission policy and the decision it makes on one model request. The decision
//! is a pure function, so a gateway that imports this crate decides in-process exactly as
//! `POST …/llm-policy/check` does.

use std::fmt;

use serde::Deserialize;
use wildmatch::WildMatch;

use crate::error::{FieldError, Invalid, ValueError};

/// A provider or model name, or a pattern of them: lower case, `*` for any run of
/// characters and `?` for one.
#[derive(Clone)]
pub struct NamePattern {
    text: String,
    matcher: WildMatch,
}

impl NamePattern {
    /// The longest name or pattern, in characters.
    pub const MAX_LEN: usize = 128;

    /// Normalizes `value` (see [`normalize_name`]) and compiles it; `*` and `?` are wildcards.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let text = normalize_name(value)?;
        let matcher = WildMatch::new(&text);
        Ok(Self { text, matcher })
    }

    /// The normalized name or pattern, as stored and served.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when it names one name only: no `*` or `?`.
    pub fn is_exact(&self) -> bool {
        !self.text.contains(['*', '?'])
    }

    /// Whether `name` (already normalized) is one this pattern names.
    pub fn matches(&self, name: &str) -> bool {
        self.matcher.matches(name)
    }
}

impl PartialEq for NamePattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for NamePattern {}

impl fmt::Debug for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NamePattern({:?})", self.text)
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The characters of provider and model names and patterns, as the API schema states
/// them: ASCII letters and digits, `. _ : / @ + -`, and the wildcards `*` and `?`.
pub const NAME_PATTERN: &str = "^[A-Za-z0-9._:/@+*?-]{1,128}$";

/// Provider and model names compare without case.
pub fn normalize_name(value: &str) -> Result<String, ValueError> {
    if value.is_empty() {
        return Err(ValueError::new("required", "must not be empty"));
    }
    if value.len() > NamePattern::MAX_LEN {
        return Err(ValueError::new("too_long", format!("at most {} characters", NamePattern::MAX_LEN)));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._:/@+-*?".contains(c);
    if !value.chars().all(allowed) {
        return Err(ValueError::new("invalid_name", "letters, digits, `. _ : / @ + -`, and the wildcards `*` and `?`"));
    }
    Ok(value.to_ascii_lowercase())
}

/// A provider or model name as a request names it: a name, not a pattern.
pub const CONCRETE_NAME_PATTERN: &str = "^[A-Za-z0-9._:/@+-]{1,128}$";

/// [`normalize_name`] of a name that is not a pattern (a request's provider or model, the
/// default model).
pub fn normalize_concrete_name(value: &str) -> Result<String, ValueError> {
    if value.contains(['*', '?']) {
        return Err(ValueError::new("invalid_name", "a name, not a pattern: no `*` or `?`"));
    }
    normalize_name(value)
}

/// The characters of a region, as the API schema states them.
pub const REGION_PATTERN: &str = "^[A-Za-z0-9-]{1,32}$";

/// A data-residency region, e.g. `eu` or `us-east-1`; compared without case.
pub fn normalize_region(value: &str) -> Result<String, ValueError> {
    let ok = !value.is_empty() && value.len() <= 32 && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(ValueError::new("invalid_region", "1 to 32 letters, digits and `-`, e.g. `eu` or `us-east-1`"))
    }
}

/// One allowed model: which provider (any when `None`), which model names, and how many
/// tokens one request may ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRule {
    /// The provider pattern the rule binds the model to; `None`: any allowed provider.
    pub provider: Option<NamePattern>,
    /// The model name or pattern.
    pub model: NamePattern,
    /// The most tokens one request may ask for; `None`: no limit.
    pub max_tokens: Option<u32>,
}

impl ModelRule {
    fn admits(&self, provider: &str, model: &str) -> bool {
        self.provider.as_ref().is_none_or(|p| p.matches(provider)) && self.model.matches(model)
    }
}

/// A model rule as a client sent it, or as the HTTP API serves it (one entry of `models`);
/// [`LlmPolicy::parse`] validates it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ModelRuleInput {
    /// The provider name or pattern; `None`: any allowed provider.
    pub provider: Option<String>,
    /// The model name or pattern.
    pub model: String,
    /// The most tokens one request may ask for, 1 to [`LlmPolicy::MAX_TOKENS`]; `None`: no limit.
    pub max_tokens: Option<i64>,
}

/// The policy as a client sent it, or as the HTTP API serves it (see
/// [`LlmPolicyResponse`](super::LlmPolicyResponse)); [`LlmPolicy::parse`] validates it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LlmPolicyInput {
    /// Provider names or patterns; empty: any provider.
    pub providers: Vec<String>,
    /// Allowed models, first match wins; empty: any model of an allowed provider.
    pub models: Vec<ModelRuleInput>,
    /// The model of a request that names none: a name, not a pattern, that `models` admit.
    pub default_model: Option<String>,
    /// Only models the organization hosts itself.
    pub self_hosted_only: bool,
    /// Regions the data may be processed in; empty: any region.
    pub regions: Vec<String>,
}

/// Which LLM requests an organization admits. Empty lists restrict nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LlmPolicy {
    /// Providers requests may go to.
    pub providers: Vec<NamePattern>,
    /// Models requests may use, first match wins.
    pub models: Vec<ModelRule>,
    /// The model of a request that names none; itself admitted by `models`.
    pub default_model: Option<String>,
    /// Only models the organization hosts itself.
    pub self_hosted_only: bool,
    /// Regions the data may be processed in.
    pub regions: Vec<String>,
}

impl LlmPolicy {
    /// The most provider entries a policy holds.
    pub const MAX_PROVIDERS: usize = 50;
    /// The most model rules a policy holds.
    pub const MAX_MODELS: usize = 200;
    /// The most regions a policy holds.
    pub const MAX_REGIONS: usize = 20;
    /// The highest per-request token limit a model rule may set.
    pub const MAX_TOKENS: u32 = 10_000_000;

    /// Validates and normalizes `input`, reporting every bad field at once; names listed twice
    /// (in any case) count once.
    pub fn parse(input: &LlmPolicyInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        bound(&mut invalid, "providers", input.providers.len(), Self::MAX_PROVIDERS);
        bound(&mut invalid, "models", input.models.len(), Self::MAX_MODELS);
        bound(&mut invalid, "regions", input.regions.len(), Self::MAX_REGIONS);
        let mut providers: Vec<NamePattern> = Vec::new();
        for (i, raw) in input.providers.iter().enumerate() {
            let field = format!("providers[{i}]");
            // Listed twice (in any case) means listed once.
            if let Some(p) = invalid.check(&field, NamePattern::parse(raw)).filter(|p| !providers.contains(p)) {
                providers.push(p);
            }
        }
        let mut models = Vec::new();
        for (i, rule) in input.models.iter().enumerate() {
            let provider = match &rule.provider {
                Some(p) => invalid.check(&format!("models[{i}].provider"), NamePattern::parse(p)).map(Some),
                None => Some(None),
            };
            let model = invalid.check(&format!("models[{i}].model"), NamePattern::parse(&rule.model));
            let max_tokens = match rule.max_tokens {
                None => Some(None),
                Some(n) => match u32::try_from(n).ok().filter(|n| (1..=Self::MAX_TOKENS).contains(n)) {
                    Some(n) => Some(Some(n)),
                    None => {
                        invalid.0.push(FieldError::new(
                            format!("models[{i}].max_tokens"),
                            "out_of_range",
                            format!("between 1 and {}", Self::MAX_TOKENS),
                        ));
                        None
                    }
                },
            };
            if let (Some(provider), Some(model), Some(max_tokens)) = (provider, model, max_tokens) {
                models.push(ModelRule { provider, model, max_tokens });
            }
        }
        let mut regions: Vec<String> = Vec::new();
        for (i, raw) in input.regions.iter().enumerate() {
            let field = format!("regions[{i}]");
            if let Some(region) = invalid.check(&field, normalize_region(raw)).filter(|r| !regions.contains(r)) {
                regions.push(region);
            }
        }
        let default_model = match &input.default_model {
            None => None,
            Some(raw) => invalid.check("default_model", normalize_concrete_name(raw)),
        };
        invalid.into_result()?;
        let policy = Self { providers, models, default_model, self_hosted_only: input.self_hosted_only, regions };
        if let Some(default) = &policy.default_model {
            if !policy.models.is_empty() && !policy.models.iter().any(|r| r.model.matches(default)) {
                return Err(Invalid::field(
                    "default_model",
                    "default_model_not_allowed",
                    format!("`{default}` is not admitted by any of `models`"),
                ));
            }
        }
        Ok(policy)
    }

    /// Decides one request. The first rule that refuses it is the answer; an admitted
    /// request names the rule that let it through.
    pub fn check(&self, request: &LlmRequest) -> Decision {
        let refuse = |code, rule: Option<String>, detail: String| Decision {
            admitted: false,
            code,
            rule,
            detail,
            model: request.model.clone().or_else(|| self.default_model.clone()),
            max_tokens: None,
        };
        let provider = request.provider.as_str();
        if !self.providers.is_empty() && !self.providers.iter().any(|p| p.matches(provider)) {
            return refuse(
                "provider_not_allowed",
                Some("providers".into()),
                format!("provider `{provider}` is not allowed"),
            );
        }
        if self.self_hosted_only && !request.self_hosted {
            return refuse(
                "self_hosted_required",
                Some("self_hosted_only".into()),
                "only self-hosted models are allowed".into(),
            );
        }
        if !self.regions.is_empty() {
            match &request.region {
                None => {
                    return refuse(
                        "region_required",
                        Some("regions".into()),
                        format!("name the region the data is processed in: one of {}", self.regions.join(", ")),
                    )
                }
                Some(region) if !self.regions.contains(region) => {
                    return refuse(
                        "region_not_allowed",
                        Some("regions".into()),
                        format!("region `{region}` is not allowed"),
                    )
                }
                Some(_) => {}
            }
        }
        let Some(model) = request.model.clone().or_else(|| self.default_model.clone()) else {
            if self.models.is_empty() {
                return Decision::admitted("allowed", None, "no model restriction".into(), None, None);
            }
            return refuse("model_required", Some("models".into()), "name a model: the policy sets no default".into());
        };
        if self.models.is_empty() {
            let rule = (!self.providers.is_empty()).then(|| "providers".to_owned());
            return Decision::admitted("allowed", rule, format!("`{model}` is allowed"), Some(model), None);
        }
        let Some((i, rule)) = self.models.iter().enumerate().find(|(_, r)| r.admits(provider, &model)) else {
            return refuse(
                "model_not_allowed",
                Some("models".into()),
                format!("model `{model}` of `{provider}` is not allowed"),
            );
        };
        let name = format!("models[{i}]");
        if let (Some(max), Some(asked)) = (rule.max_tokens, request.requested_tokens) {
            if asked > max {
                return Decision {
                    max_tokens: Some(max),
                    ..refuse(
                        "max_tokens_exceeded",
                        Some(name),
                        format!("{asked} tokens requested; `{}` allows at most {max} per request", rule.model),
                    )
                };
            }
        }
        let detail = format!("`{model}` is allowed by `{}`", rule.model);
        Decision::admitted("allowed", Some(name), detail, Some(model), rule.max_tokens)
    }
}

fn bound(invalid: &mut Invalid, field: &str, len: usize, max: usize) {
    if len > max {
        invalid.0.push(FieldError::new(field, "too_many", format!("at most {max} entries")));
    }
}

/// One model request a gateway is about to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmRequest {
    /// The provider the request goes to, normalized (lower case; see [`normalize_concrete_name`]).
    pub provider: String,
    /// `None`: the policy's default model.
    pub model: Option<String>,
    /// The normalized region the data would be processed in; `None` is refused by a policy that
    /// restricts regions.
    pub region: Option<String>,
    /// Tokens the request asks for (prompt and completion).
    pub requested_tokens: Option<u32>,
    /// The model runs on infrastructure the organization operates.
    pub self_hosted: bool,
}

/// A request as a client sent it.
#[derive(Debug, Clone, Default)]
pub struct LlmRequestInput {
    /// The provider's name.
    pub provider: String,
    /// The model's name; `None`: the policy's default model.
    pub model: Option<String>,
    /// Where the data would be processed, e.g. `eu`.
    pub region: Option<String>,
    /// Tokens the request asks for, 1 to `u32::MAX`.
    pub requested_tokens: Option<i64>,
    /// The model runs on infrastructure the organization operates.
    pub self_hosted: bool,
}

impl LlmRequest {
    /// Validates and normalizes `input` (names and regions to lower case), reporting every bad
    /// field at once.
    pub fn parse(input: &LlmRequestInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let provider = invalid.check("provider", normalize_concrete_name(&input.provider));
        let model = input.model.as_deref().and_then(|m| invalid.check("model", normalize_concrete_name(m)));
        let region = input.region.as_deref().and_then(|r| invalid.check("region", normalize_region(r)));
        let requested_tokens = match input.requested_tokens {
            None => None,
            Some(n) => {
                let n = u32::try_from(n).ok().filter(|n| *n >= 1);
                if n.is_none() {
                    invalid.0.push(FieldError::new("requested_tokens", "out_of_range", "between 1 and 4294967295"));
                }
                n
            }
        };
        invalid.into_result()?;
        Ok(Self {
            provider: provider.unwrap_or_default(),
            model,
            region,
            requested_tokens,
            self_hosted: input.self_hosted,
        })
    }
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// True when the request may go ahead.
    pub admitted: bool,
    /// `allowed`, or why not: `provider_not_allowed`, `self_hosted_required`,
    /// `region_required`, `region_not_allowed`, `model_required`, `model_not_allowed`,
    /// `max_tokens_exceeded`.
    pub code: &'static str,
    /// The part of the policy that decided (`providers`, `models[2]`, …); `None` when
    /// nothing restricts the request.
    pub rule: Option<String>,
    /// A sentence saying why, for logs and people.
    pub detail: String,
    /// The model the request resolves to (the default model when it named none).
    pub model: Option<String>,
    /// The most tokens one request may ask for under the deciding rule.
    pub max_tokens: Option<u32>,
}

impl Decision {
    fn admitted(
        code: &'static str,
        rule: Option<String>,
        detail: String,
        model: Option<String>,
        max_tokens: Option<u32>,
    ) -> Self {
        Self { admitted: true, code, rule, detail, model, max_tokens }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(input: LlmPolicyInput) -> LlmPolicy {
        LlmPolicy::parse(&input).unwrap()
    }

    fn request(provider: &str, model: Option<&str>) -> LlmRequest {
        LlmRequest {
            provider: provider.into(),
            model: model.map(Into::into),
            region: None,
            requested_tokens: None,
            self_hosted: false,
        }
    }

    fn rule(provider: Option<&str>, model: &str, max_tokens: Option<i64>) -> ModelRuleInput {
        ModelRuleInput { provider: provider.map(Into::into), model: model.into(), max_tokens }
    }

    #[test]
    fn an_empty_policy_admits_everything() {
        let d = LlmPolicy::default().check(&request("openai", Some("gpt-4o")));
        assert!(d.admitted);
        assert_eq!((d.code, d.rule), ("allowed", None));
    }

    #[test]
    fn providers_and_models_match_by_glob_and_without_case() {
        let p = policy(LlmPolicyInput {
            providers: vec!["OpenAI".into(), "self-*".into()],
            models: vec![rule(Some("openai"), "gpt-4o*", Some(8000)), rule(None, "llama-3.?-70b", None)],
            ..Default::default()
        });
        let d = p.check(&request("openai", Some("gpt-4o-mini")));
        assert!(d.admitted, "{d:?}");
        assert_eq!((d.rule.as_deref(), d.max_tokens), (Some("models[0]"), Some(8000)));
        assert!(p.check(&request("self-vllm", Some("llama-3.1-70b"))).admitted);
        assert_eq!(p.check(&request("anthropic", Some("gpt-4o"))).code, "provider_not_allowed");
        // The first rule binds gpt-4o to openai: another allowed provider may not serve it.
        assert_eq!(p.check(&request("self-vllm", Some("gpt-4o"))).code, "model_not_allowed");
        assert_eq!(p.check(&request("openai", Some("gpt-3.5-turbo"))).code, "model_not_allowed");
    }

    #[test]
    fn token_limits_self_hosting_and_regions_refuse_with_their_rule() {
        let p = policy(LlmPolicyInput {
            models: vec![rule(None, "m-small", Some(1000))],
            self_hosted_only: true,
            regions: vec!["EU".into()],
            ..Default::default()
        });
        let mut r = request("local", Some("m-small"));
        assert_eq!(p.check(&r).code, "self_hosted_required");
        r.self_hosted = true;
        assert_eq!(p.check(&r).code, "region_required");
        r.region = Some("us".into());
        assert_eq!(p.check(&r).code, "region_not_allowed");
        r.region = Some("eu".into());
        r.requested_tokens = Some(1001);
        let d = p.check(&r);
        assert_eq!((d.admitted, d.code, d.max_tokens), (false, "max_tokens_exceeded", Some(1000)));
        r.requested_tokens = Some(1000);
        assert!(p.check(&r).admitted);
    }

    #[test]
    fn a_request_without_a_model_gets_the_default() {
        let p = policy(LlmPolicyInput {
            models: vec![rule(None, "gpt-4o*", None)],
            default_model: Some("gpt-4o-mini".into()),
            ..Default::default()
        });
        let d = p.check(&request("openai", None));
        assert!(d.admitted);
        assert_eq!(d.model.as_deref(), Some("gpt-4o-mini"));
        let no_default = policy(LlmPolicyInput { models: vec![rule(None, "x", None)], ..Default::default() });
        assert_eq!(no_default.check(&request("openai", None)).code, "model_required");
    }

    #[test]
    fn requests_and_the_default_model_name_models_not_patterns() {
        let input = LlmPolicyInput { default_model: Some("gpt-*".into()), ..Default::default() };
        assert_eq!(LlmPolicy::parse(&input).unwrap_err().0[0].code, "invalid_name");
        let request =
            LlmRequestInput { provider: "openai".into(), model: Some("llama-*".into()), ..Default::default() };
        assert_eq!(LlmRequest::parse(&request).unwrap_err().0[0].field, "model");
    }

    #[test]
    fn the_default_model_must_itself_be_allowed() {
        let err = LlmPolicy::parse(&LlmPolicyInput {
            models: vec![rule(None, "claude-*", None)],
            default_model: Some("gpt-4o".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.0[0].code, "default_model_not_allowed");
    }

    #[test]
    fn names_listed_twice_in_any_case_count_once() {
        let p = policy(LlmPolicyInput {
            providers: vec!["openai".into(), "OpenAI".into()],
            regions: vec!["EU".into(), "eu".into()],
            ..Default::default()
        });
        assert_eq!((p.providers.len(), p.regions.len()), (1, 1));
    }

    #[test]
    fn bad_input_reports_every_field() {
        let err = LlmPolicy::parse(&LlmPolicyInput {
            providers: vec!["openai".into(), "bad name".into()],
            models: vec![rule(None, "", Some(0))],
            regions: vec!["eu_west".into()],
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            vec![
                ("providers[1]", "invalid_name"),
                ("models[0].model", "required"),
                ("models[0].max_tokens", "out_of_range"),
                ("regions[0]", "invalid_region"),
            ]
        );
    }
}
