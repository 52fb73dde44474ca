//! Verified domains: `/v1/orgs/{org}/domains`, claimed and proved by a DNS TXT record.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::org::OrgRef;
use orgd_domain::verified_domain::{DomainError, JoinPolicyInput, OrgDomain};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{etag, org_and, path_id, required_if_match, Json, IF_MATCH_REQUIRED, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::Errors;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(claim_domain)
        .service(list_domains)
        .service(get_domain)
        .service(update_domain)
        .service(release_domain)
        .service(verify_domain);
}

const DOMAIN_PARAM: &str = "The domain's id (`dom_…`) or its name (`acme.com`).";

/// The TXT record that proves a claim.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationRecord {
    /// Always `TXT`.
    #[schema(example = "TXT")]
    pub r#type: &'static str,
    #[schema(example = "_orgd-challenge.acme.com")]
    pub name: String,
    #[schema(example = "orgd-domain-verification=6f1c2b9d0e4a4f7c8b3d2e1f0a9b8c7d")]
    pub value: String,
}

/// A domain the organization claimed.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainResponse {
    #[schema(example = "dom_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    /// ASCII (punycode), lower case.
    #[schema(example = "acme.com")]
    pub domain: String,
    /// `unverified` (publish the record, then verify), `verified`, or `expired` (claim it
    /// again for a new record).
    #[schema(example = "unverified")]
    pub status: &'static str,
    /// Publish this record, then call `verify`.
    pub verification: VerificationRecord,
    pub verified_at: Option<DateTime<Utc>>,
    /// When an unverified claim lapses.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the record was last looked up again (daily while verified).
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Set when the daily check found the record gone: the domain is unverified if it is
    /// still gone an hour later. Publish it again.
    pub record_missing_since: Option<DateTime<Utc>>,
    /// `off`, `suggest` or `auto`.
    #[schema(example = "suggest")]
    pub join_policy: &'static str,
    /// Under `auto`: the role people join with.
    pub role: Option<String>,
    /// Bumped by every change of the join policy or the verification; also the `ETag`.
    #[schema(example = crate::openapi::example::version)]
    pub version: i64,
    #[schema(example = crate::openapi::example::at)]
    pub created_at: DateTime<Utc>,
    #[schema(example = crate::openapi::example::at)]
    pub updated_at: DateTime<Utc>,
}

impl DomainResponse {
    /// The domain with its `ETag`.
    fn ok(domain: OrgDomain) -> HttpResponse {
        HttpResponse::Ok().insert_header(etag(domain.version)).json(Self::from(domain))
    }
}

impl From<OrgDomain> for DomainResponse {
    fn from(d: OrgDomain) -> Self {
        Self {
            id: d.id.to_string(),
            domain: d.name.to_string(),
            status: d.status(Utc::now()).as_str(),
            verification: VerificationRecord { r#type: "TXT", name: d.record_name(), value: d.record_value() },
            verified_at: d.verified_at,
            expires_at: d.expires_at,
            last_checked_at: d.last_checked_at,
            record_missing_since: d.missing_since,
            join_policy: d.join.name(),
            role: d.join.role().map(ToString::to_string),
            version: d.version,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// The organization's domains, by name (at most 50).
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainList {
    pub data: Vec<DomainResponse>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ClaimDomainRequest {
    /// A domain the organization's people have email addresses at (an internationalized
    /// one in its ASCII `xn--` form); never a public email provider (gmail.com,
    /// outlook.com, …) or a public suffix (`co.uk`), which are refused with
    /// `public_email_provider` and `public_suffix`.
    #[schema(schema_with = claimable_domain)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub domain: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JoinPolicyName {
    Off,
    Suggest,
    Auto,
}

impl JoinPolicyName {
    const fn as_str(&self) -> &'static str {
        match self {
            JoinPolicyName::Off => "off",
            JoinPolicyName::Suggest => "suggest",
            JoinPolicyName::Auto => "auto",
        }
    }
}

/// Who of the domain's people may join, and how. `suggest` and `auto` need a verified
/// domain; `auto` needs a person who could grant `role` themselves (never `owner`).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct JoinPolicyRequest {
    pub join_policy: JoinPolicyName,
    /// Only with `auto`, and required there (`required`; with another policy,
    /// `role_without_auto`): the role people join with, one the organization has, never
    /// `owner`.
    #[schema(schema_with = join_role)]
    #[validate(length(min = 1, max = 40, code = "invalid_length"))]
    pub role: Option<String>,
}

fn claimable_domain() -> utoipa::openapi::schema::Object {
    crate::openapi::shape::domain_name(orgd_domain::verified_domain::DomainName::MAX_CLAIMABLE_LEN, 1000)
        .examples(["acme.com"])
        .build()
}

fn join_role() -> utoipa::openapi::schema::Object {
    crate::openapi::shape::nullable(crate::openapi::shape::role_key(true).examples(["member"]))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyParams {
    /// Verify even though, with SSO enforced, it locks the caller out
    /// (`would_lock_out_caller`). Nothing verifies a domain that locks out every owner.
    pub force: Option<bool>,
}

/// Claim a domain. The answer holds the TXT record to publish at
/// `_orgd-challenge.<domain>`; verify within 7 days or the claim lapses.
#[utoipa::path(
    tag = "domains",
    params(("org" = String, Path, description = ORG_PARAM)),
    request_body = ClaimDomainRequest,
    responses((status = 201, body = DomainResponse), Errors<DomainError>)
)]
#[post("/orgs/{org}/domains")]
pub async fn claim_domain(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: Json<ClaimDomainRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    body.validate()?;
    let name = body.into_inner().domain;
    let claimed = state.run(move |s| s.domains.claim(&caller.0, &org, &name)).await?;
    Ok(HttpResponse::Created().json(DomainResponse::from(claimed)))
}

/// List the organization's domains, by name.
#[utoipa::path(
    tag = "domains",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, body = DomainList), Errors<DomainError>)
)]
#[get("/orgs/{org}/domains")]
pub async fn list_domains(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let domains = state.run(move |s| s.domains.list(&caller.0, &org)).await?;
    Ok(HttpResponse::Ok().json(DomainList { data: domains.into_iter().map(DomainResponse::from).collect() }))
}

/// Read one domain.
#[utoipa::path(
    tag = "domains",
    params(("org" = String, Path, description = ORG_PARAM), ("domain" = String, Path, description = DOMAIN_PARAM)),
    responses((status = 200, description = "The domain; `ETag` is its version.", body = DomainResponse), Errors<DomainError>)
)]
#[get("/orgs/{org}/domains/{domain}")]
pub async fn get_domain(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, domain): (OrgRef, String) = org_and(&path.0, &path.1, "domain")?;
    let found = state.run(move |s| s.domains.get(&caller.0, &org, &domain)).await?;
    Ok(DomainResponse::ok(found))
}

/// Set the domain's join policy: `off`; `suggest` (people whose verified email is in it
/// see the organization and may ask to join); or `auto` (their request admits them at
/// once with `role`, while the person who set it could still grant that role).
#[utoipa::path(
    tag = "domains",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("domain" = String, Path, description = DOMAIN_PARAM),
        ("If-Match" = String, Header, description = IF_MATCH_REQUIRED),
    ),
    request_body = JoinPolicyRequest,
    responses((status = 200, description = "Saved; `ETag` is the new version.", body = DomainResponse), Errors<DomainError>)
)]
#[patch("/orgs/{org}/domains/{domain}")]
pub async fn update_domain(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: Json<JoinPolicyRequest>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (org, domain): (OrgRef, String) = org_and(&path.0, &path.1, "domain")?;
    // Who joins, and as what, is a policy: never overwritten blind.
    let if_match = required_if_match(&req)?;
    body.validate()?;
    let body = body.into_inner();
    let input = JoinPolicyInput { join_policy: body.join_policy.as_str().to_owned(), role: body.role, if_match };
    let updated = state.run(move |s| s.domains.set_join_policy(&caller.0, &org, &domain, input)).await?;
    Ok(DomainResponse::ok(updated))
}

/// Release the domain: its people are no longer offered or admitted by it, nor held to
/// the organization's SSO.
#[utoipa::path(
    tag = "domains",
    params(("org" = String, Path, description = ORG_PARAM), ("domain" = String, Path, description = DOMAIN_PARAM)),
    responses((status = 204, description = "Released."), Errors<DomainError>)
)]
#[delete("/orgs/{org}/domains/{domain}")]
pub async fn release_domain(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, domain): (OrgRef, String) = org_and(&path.0, &path.1, "domain")?;
    state.run(move |s| s.domains.release(&caller.0, &org, &domain)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Look the TXT record up now and verify the domain if it holds the claim's value. A
/// verified domain answers as it is.
#[utoipa::path(
    tag = "domains",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("domain" = String, Path, description = DOMAIN_PARAM),
        VerifyParams,
    ),
    responses((status = 200, body = DomainResponse), Errors<DomainError>)
)]
#[post("/orgs/{org}/domains/{domain}/verify")]
pub async fn verify_domain(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    query: web::Query<VerifyParams>,
) -> Result<HttpResponse, ApiError> {
    let (org, domain): (OrgRef, String) = org_and(&path.0, &path.1, "domain")?;
    let force = query.force.unwrap_or(false);
    let verified = state.run(move |s| s.domains.verify(&caller.0, &org, &domain, force)).await?;
    Ok(DomainResponse::ok(verified))
}
