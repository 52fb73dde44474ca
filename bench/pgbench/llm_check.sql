-- POST /v1/orgs/{org}/llm-policy/check: the organization's LLM policy.
SELECT providers, models, default_model, self_hosted_only, regions, version
FROM llm_policies WHERE org_id = :big_org::uuid;
