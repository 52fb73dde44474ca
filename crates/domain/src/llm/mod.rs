//! AI governance: which LLM providers, models and regions an organization admits.

mod policy;
mod repo;
mod response;
mod service;

pub use policy::{
    normalize_concrete_name, normalize_name, normalize_region, Decision, LlmPolicy, LlmPolicyInput, LlmRequest,
    LlmRequestInput, ModelRule, ModelRuleInput, NamePattern, CONCRETE_NAME_PATTERN, NAME_PATTERN, REGION_PATTERN,
};
pub use repo::LlmPolicyRepository;
pub use response::LlmPolicyResponse;
pub use service::{LlmError, LlmService, POLICY_CACHE_TTL};

#[cfg(test)]
mod tests;
