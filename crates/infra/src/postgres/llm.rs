use chrono::{DateTime, Utc};
use diesel::prelude::*;
use orgd_domain::ids::OrgId;
use orgd_domain::llm::{LlmPolicy, LlmPolicyInput, LlmPolicyRepository, ModelRuleInput};
use orgd_domain::policy::Versioned;
use orgd_domain::StoreError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::errors::{corrupt, store_error};
use super::prepared::prepared;
use super::schema::llm_policies;
use super::store::PgTx;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = llm_policies, primary_key(org_id), check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
struct LlmPolicyRow {
    org_id: Uuid,
    providers: Vec<Option<String>>,
    models: serde_json::Value,
    default_model: Option<String>,
    self_hosted_only: bool,
    regions: Vec<Option<String>>,
    version: i64,
    updated_at: DateTime<Utc>,
}

/// One model rule as stored in the `models` JSON array.
#[derive(Serialize, Deserialize)]
struct StoredModelRule {
    provider: Option<String>,
    model: String,
    max_tokens: Option<u32>,
}

impl TryFrom<LlmPolicyRow> for Versioned<LlmPolicy> {
    type Error = StoreError;

    fn try_from(row: LlmPolicyRow) -> Result<Self, Self::Error> {
        let rules: Vec<StoredModelRule> = serde_json::from_value(row.models).map_err(|e| corrupt("llm_policies", e))?;
        let input = LlmPolicyInput {
            providers: row.providers.into_iter().flatten().collect(),
            models: rules
                .into_iter()
                .map(|r| ModelRuleInput {
                    provider: r.provider,
                    model: r.model,
                    max_tokens: r.max_tokens.map(i64::from),
                })
                .collect(),
            default_model: row.default_model,
            self_hosted_only: row.self_hosted_only,
            regions: row.regions.into_iter().flatten().collect(),
        };
        let policy = LlmPolicy::parse(&input).map_err(|e| corrupt("llm_policies", e))?;
        Ok(Versioned { policy, version: row.version, updated_at: Some(row.updated_at) })
    }
}

impl LlmPolicyRepository for PgTx<'_> {
    fn find_llm_policy(&mut self, org: OrgId) -> Result<Option<Versioned<LlmPolicy>>, StoreError> {
        llm_policies::table
            .find(org.as_uuid())
            .select(LlmPolicyRow::as_select())
            .first(self.conn)
            .optional()
            .map_err(store_error)?
            .map(TryInto::try_into)
            .transpose()
    }

    fn save_llm_policy(&mut self, org: OrgId, policy: &Versioned<LlmPolicy>) -> Result<(), StoreError> {
        let p = &policy.policy;
        let models: Vec<StoredModelRule> = p
            .models
            .iter()
            .map(|r| StoredModelRule {
                provider: r.provider.as_ref().map(|x| x.as_str().to_owned()),
                model: r.model.as_str().to_owned(),
                max_tokens: r.max_tokens,
            })
            .collect();
        let row = LlmPolicyRow {
            org_id: org.as_uuid(),
            providers: p.providers.iter().map(|x| Some(x.as_str().to_owned())).collect(),
            models: serde_json::to_value(models).map_err(|e| corrupt("llm_policies", e))?,
            default_model: p.default_model.clone(),
            self_hosted_only: p.self_hosted_only,
            regions: p.regions.iter().cloned().map(Some).collect(),
            version: policy.version,
            updated_at: policy.updated_at.ok_or_else(|| corrupt("llm_policies", "a saved policy has a time"))?,
        };
        prepared(
            diesel::insert_into(llm_policies::table)
                .values(&row)
                .on_conflict(llm_policies::org_id)
                .do_update()
                .set(&row),
        )
        .execute(self.conn)
        .map(|_| ())
        .map_err(store_error)
    }
}
