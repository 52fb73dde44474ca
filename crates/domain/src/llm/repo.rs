//! The port the LLM policy is stored through.

use super::policy::LlmPolicy;
use crate::error::StoreError;
use crate::ids::OrgId;
use crate::policy::Versioned;

pub trait LlmPolicyRepository {
    /// The organization's policy; `None` until first written.
    fn find_llm_policy(&mut self, org: OrgId) -> Result<Option<Versioned<LlmPolicy>>, StoreError>;

    fn save_llm_policy(&mut self, org: OrgId, policy: &Versioned<LlmPolicy>) -> Result<(), StoreError>;
}
