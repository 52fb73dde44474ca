//! The LLM admission policy: `/v1/orgs/{org}/llm-policy` and its `check`.

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::llm::{
    Decision, LlmError, LlmPolicy, LlmPolicyInput, LlmRequestInput, ModelRuleInput, NamePattern, CONCRETE_NAME_PATTERN,
    NAME_PATTERN, REGION_PATTERN,
};
use orgd_domain::org::OrgRef;
use orgd_domain::policy::Versioned;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{etag, path_id, whole_number, Json, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_llm_policy).service(put_llm_policy).service(check_llm_request);
}

/// A provider or model name or pattern, as `normalize_name` takes it.
fn pattern(example: &str) -> ObjectBuilder {
    shape::string(1, NamePattern::MAX_LEN, NAME_PATTERN)
        .description(Some(
            "ASCII letters and digits, `. _ : / @ + -`; `*` and `?` as wildcards. Compared without case.",
        ))
        .examples([example])
}

fn provider_pattern() -> Object {
    shape::nullable(pattern("openai"))
}

fn model_pattern() -> Object {
    pattern("gpt-4o*").build()
}

/// A provider or model name, not a pattern.
fn concrete(example: &str) -> ObjectBuilder {
    shape::string(1, NamePattern::MAX_LEN, CONCRETE_NAME_PATTERN)
        .description(Some("ASCII letters and digits, `. _ : / @ + -`. Compared without case."))
        .examples([example])
}

fn provider() -> Object {
    concrete("openai").build()
}

fn model() -> Object {
    shape::nullable(concrete("gpt-4o-mini"))
}

fn provider_patterns() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(pattern("openai"))
        .max_items(Some(LlmPolicy::MAX_PROVIDERS))
        .examples([serde_json::json!(["openai", "anthropic"])])
}

fn optional_region() -> Object {
    shape::nullable(shape::string(1, 32, REGION_PATTERN).examples(["eu"]))
}

fn regions() -> ArrayBuilder {
    ArrayBuilder::new().items(shape::string(1, 32, REGION_PATTERN)).max_items(Some(LlmPolicy::MAX_REGIONS))
}

/// One allowed model.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelRuleBody {
    /// The provider serving the model (a name or a pattern); absent: any allowed provider.
    #[schema(schema_with = provider_pattern)]
    pub provider: Option<String>,
    /// A model name or a pattern: `*` any run of characters, `?` one. Compared without case.
    #[schema(schema_with = model_pattern)]
    pub model: String,
    /// The most tokens one request to this model may ask for; absent: no limit.
    #[schema(minimum = 1, maximum = 10000000)]
    #[serde(default, deserialize_with = "whole_number")]
    pub max_tokens: Option<i64>,
}

/// Which LLM requests the organization admits. Empty lists restrict nothing.
#[derive(Debug, Serialize, ToSchema)]
pub struct LlmPolicyResponse {
    /// Providers requests may go to (names or patterns).
    #[schema(example = json!(["openai", "anthropic"]))]
    pub providers: Vec<String>,
    /// Models requests may use; the first rule that matches decides.
    pub models: Vec<ModelRuleBody>,
    /// The model of a request that names none.
    pub default_model: Option<String>,
    /// Only models the organization hosts itself.
    pub self_hosted_only: bool,
    /// Regions the data may be processed in (data residency).
    #[schema(example = json!(["eu"]))]
    pub regions: Vec<String>,
    /// The policy's version, also its `ETag`; 0 until first written.
    #[schema(example = crate::openapi::example::version)]
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Versioned<LlmPolicy>> for LlmPolicyResponse {
    fn from(v: Versioned<LlmPolicy>) -> Self {
        let p = v.policy;
        Self {
            providers: p.providers.iter().map(|x| x.as_str().to_owned()).collect(),
            models: p
                .models
                .iter()
                .map(|r| ModelRuleBody {
                    provider: r.provider.as_ref().map(|x| x.as_str().to_owned()),
                    model: r.model.as_str().to_owned(),
                    max_tokens: r.max_tokens.map(i64::from),
                })
                .collect(),
            default_model: p.default_model,
            self_hosted_only: p.self_hosted_only,
            regions: p.regions,
            version: v.version,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LlmPolicyRequest {
    /// Provider names or patterns; empty: any provider.
    #[validate(length(max = 50))]
    #[schema(schema_with = provider_patterns)]
    #[serde(default)]
    pub providers: Vec<String>,
    /// Allowed models, first match wins; empty: any model of an allowed provider.
    #[validate(length(max = 200))]
    #[schema(max_items = 200)]
    #[serde(default)]
    pub models: Vec<ModelRuleBody>,
    /// A model name (not a pattern) that `models` admit.
    #[schema(schema_with = model)]
    pub default_model: Option<String>,
    #[serde(default)]
    pub self_hosted_only: bool,
    /// Regions (`eu`, `us-east-1`, …); empty: any region.
    #[validate(length(max = 20))]
    #[schema(schema_with = regions)]
    #[serde(default)]
    pub regions: Vec<String>,
}

/// One model request a gateway is about to make.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LlmCheckRequest {
    #[schema(schema_with = provider)]
    pub provider: String,
    /// Absent: the policy's default model.
    #[schema(schema_with = model)]
    pub model: Option<String>,
    /// Where the data would be processed.
    #[schema(schema_with = optional_region)]
    pub region: Option<String>,
    /// Tokens the request asks for (prompt and completion).
    #[schema(minimum = 1, maximum = 4294967295_i64)]
    #[serde(default, deserialize_with = "whole_number")]
    pub requested_tokens: Option<i64>,
    /// The model runs on infrastructure the organization operates.
    #[serde(default)]
    pub self_hosted: bool,
}

/// The decision on one model request.
#[derive(Debug, Serialize, ToSchema)]
pub struct LlmCheckResponse {
    pub admitted: bool,
    /// `allowed`, or why not: `provider_not_allowed`, `self_hosted_required`,
    /// `region_required`, `region_not_allowed`, `model_required`, `model_not_allowed`,
    /// `max_tokens_exceeded`.
    #[schema(example = "allowed")]
    pub code: &'static str,
    /// The part of the policy that decided (`providers`, `models[2]`, `regions`, …); null
    /// when nothing restricts the request.
    #[schema(example = "models[0]")]
    pub rule: Option<String>,
    #[schema(example = "gpt-4o-mini is allowed by models[0]")]
    pub detail: String,
    /// The model the request resolves to (the default model when it named none).
    pub model: Option<String>,
    /// The most tokens one request may ask for under the deciding rule.
    pub max_tokens: Option<u32>,
    /// The policy version the decision was made by.
    #[schema(example = crate::openapi::example::version)]
    pub policy_version: i64,
}

impl LlmCheckResponse {
    fn new(d: Decision, policy_version: i64) -> Self {
        Self {
            admitted: d.admitted,
            code: d.code,
            rule: d.rule,
            detail: d.detail,
            model: d.model,
            max_tokens: d.max_tokens,
            policy_version,
        }
    }
}

/// Read the LLM admission policy.
#[utoipa::path(
    tag = "governance",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, description = "The policy; `ETag` is its version.", body = LlmPolicyResponse), Errors<LlmError>)
)]
#[get("/orgs/{org}/llm-policy")]
pub async fn get_llm_policy(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let policy = state.run(move |s| s.llm.get(&caller.0, &org)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(policy.version)).json(LlmPolicyResponse::from(policy)))
}

/// Replace the LLM admission policy. Gateways deciding by it see the change at once on
/// this instance and within 2 seconds on every other.
#[utoipa::path(
    tag = "governance",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("If-Match" = String, Header, description = super::common::IF_MATCH_REQUIRED),
    ),
    request_body = LlmPolicyRequest,
    responses((status = 200, description = "Saved; `ETag` is the new version.", body = LlmPolicyResponse), Errors<LlmError>)
)]
#[put("/orgs/{org}/llm-policy")]
pub async fn put_llm_policy(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<LlmPolicyRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    body.validate()?;
    let expected = super::common::required_if_match(&req)?;
    let b = body.into_inner();
    let input = LlmPolicyInput {
        providers: b.providers,
        models: b
            .models
            .into_iter()
            .map(|m| ModelRuleInput { provider: m.provider, model: m.model, max_tokens: m.max_tokens })
            .collect(),
        default_model: b.default_model,
        self_hosted_only: b.self_hosted_only,
        regions: b.regions,
    };
    let policy = state.run(move |s| s.llm.put(&caller.0, &org, &input, expected)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(policy.version)).json(LlmPolicyResponse::from(policy)))
}

/// Decide whether one model request is admitted, and by which rule. Answers from the
/// cached policy; needs `llm:read` (give a gateway an API key with just that).
#[utoipa::path(
    tag = "governance",
    params(("org" = String, Path, description = ORG_PARAM)),
    request_body = LlmCheckRequest,
    responses((status = 200, description = "The decision, admitted or not.", body = LlmCheckResponse), Errors<LlmError>)
)]
#[post("/orgs/{org}/llm-policy/check")]
pub async fn check_llm_request(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: Json<LlmCheckRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    body.validate()?;
    let b = body.into_inner();
    let input = LlmRequestInput {
        provider: b.provider,
        model: b.model,
        region: b.region,
        requested_tokens: b.requested_tokens,
        self_hosted: b.self_hosted,
    };
    let (decision, version) = state
        .run_from_memory(
            (caller.0, org, input),
            |s, (caller, org, input)| s.llm.check_from_memory(caller, org, input),
            |s, (caller, org, input)| s.llm.check(caller, org, input),
        )
        .await?;
    Ok(HttpResponse::Ok().json(LlmCheckResponse::new(decision, version)))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use orgd_domain::llm::{LlmPolicy, LlmPolicyInput, ModelRuleInput};
    use orgd_domain::policy::Versioned;

    use super::*;

    #[test]
    fn a_rust_gateway_reads_the_served_policy_back_as_the_same_policy() {
        let rule = |provider: Option<&str>, model: &str, max_tokens| ModelRuleInput {
            provider: provider.map(Into::into),
            model: model.into(),
            max_tokens,
        };
        let policy = LlmPolicy::parse(&LlmPolicyInput {
            providers: vec!["openai".into(), "self-*".into()],
            models: vec![rule(Some("openai"), "gpt-4o*", Some(8000)), rule(None, "llama-3.?-70b", None)],
            default_model: Some("gpt-4o-mini".into()),
            self_hosted_only: true,
            regions: vec!["eu".into()],
        })
        .unwrap();
        let updated_at = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).single();
        for saved in [Versioned::default(), Versioned { policy, version: 3, updated_at }] {
            let body = serde_json::to_string(&LlmPolicyResponse::from(saved.clone())).unwrap();
            let read: orgd_domain::llm::LlmPolicyResponse = serde_json::from_str(&body).unwrap();
            assert_eq!(Versioned::try_from(read), Ok(saved));
        }
    }
}
