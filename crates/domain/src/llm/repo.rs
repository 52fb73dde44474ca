//! The port the LLM policy is stored through.

use super::policy::LlmPolicy;
use crate::error::StoreError;
use crate::ids::OrgId;
use crate::policy::Versioned;

/// The port the LLM admission policy is stored through.
pub trait LlmPolicyRepository {
    /// The organization's policy; `None` until first written.
    fn find_llm_policy(&mut self, org: OrgId) -> Result<Option<Versioned<LlmPolicy>>, StoreError>;

    /// Stores the policy at its new version.
    fn save_llm_policy(&mut self, org: OrgId, policy: &Versioned<LlmPolicy>) -> Result<(), StoreError>;
}
