//! The organization's security policies: `/v1/orgs/{org}/mfa/policy`, `…/sign-in-methods`
//! and `…/security-policy`. Reads never depend on the plan; writes take `If-Match`,
//! `dry_run` and `force`.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::org::OrgRef;
use orgd_domain::policy::{
    LockedOutKey, LockedOutMember, LockoutPreview, MfaPolicy, PolicyError, PolicyRefusal, PolicyWrite, SecurityPolicy,
    SecurityPolicyInput, SignInMethod, SignInPolicy, Versioned, WriteMode,
};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{etag, path_id, required_if_match, whole_number, Json, IF_MATCH_REQUIRED, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_mfa_policy)
        .service(put_mfa_policy)
        .service(get_sign_in_methods)
        .service(put_sign_in_methods)
        .service(get_security_policy)
        .service(put_security_policy);
}

/// Org-wide two-factor enforcement.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaPolicyResponse {
    /// People must sign in with a second factor (`mfa_required` otherwise).
    pub enforced: bool,
    /// Until then, members without a second factor are still let in.
    pub grace_until: Option<DateTime<Utc>>,
    /// The policy's version, also its `ETag`; 0 until first written.
    #[schema(example = crate::openapi::example::version)]
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Versioned<MfaPolicy>> for MfaPolicyResponse {
    fn from(v: Versioned<MfaPolicy>) -> Self {
        Self {
            enforced: v.policy.enforced,
            grace_until: v.policy.grace_until,
            version: v.version,
            updated_at: v.updated_at,
        }
    }
}

/// A list of sign-in methods, as the schema states them: the names of [`SignInMethod::ALL`].
fn sign_in_methods() -> ArrayBuilder {
    let names = SignInMethod::ALL.iter().map(|m| m.as_str());
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)))
        .max_items(Some(SignInMethod::ALL.len()))
        .unique_items(true)
}

/// The sign-in methods people may enter the organization with.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignInMethodsResponse {
    /// Empty: every method is allowed.
    #[schema(schema_with = sign_in_methods)]
    pub allowed: Vec<&'static str>,
    #[schema(example = crate::openapi::example::version)]
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Versioned<SignInPolicy>> for SignInMethodsResponse {
    fn from(v: Versioned<SignInPolicy>) -> Self {
        Self {
            allowed: v.policy.allowed.iter().map(|m| m.as_str()).collect(),
            version: v.version,
            updated_at: v.updated_at,
        }
    }
}

/// Where requests may come from, and how fresh a person's sign-in must be.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityPolicyResponse {
    /// IPv4 and IPv6 networks (CIDR); empty: any address. Binds people and API keys.
    #[schema(example = json!(["203.0.113.0/24", "2001:db8::/32"]))]
    pub ip_allowlist: Vec<String>,
    /// The longest time since a person signed in (`auth_time`), in seconds.
    pub max_session_age_secs: Option<i64>,
    /// The longest time since a person proved a second factor, in seconds.
    pub mfa_max_age_secs: Option<i64>,
    #[schema(example = crate::openapi::example::version)]
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Versioned<SecurityPolicy>> for SecurityPolicyResponse {
    fn from(v: Versioned<SecurityPolicy>) -> Self {
        Self {
            ip_allowlist: v.policy.ip_allowlist.iter().map(ToString::to_string).collect(),
            max_session_age_secs: v.policy.max_session_age.map(|d| d.num_seconds()),
            mfa_max_age_secs: v.policy.mfa_max_age.map(|d| d.num_seconds()),
            version: v.version,
            updated_at: v.updated_at,
        }
    }
}

/// Why a policy would refuse someone.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusalResponse {
    /// `ip_not_allowed`, `mfa_required`, `sign_in_method_not_allowed`, `session_too_old` or
    /// `sso_required`:
    /// the problem code their requests would get.
    pub code: &'static str,
    pub detail: String,
}

impl From<&PolicyRefusal> for RefusalResponse {
    fn from(refusal: &PolicyRefusal) -> Self {
        Self { code: refusal.code(), detail: refusal.detail() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LockedOutMemberResponse {
    pub member_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: String,
    pub reasons: Vec<RefusalResponse>,
    /// When the lock-out starts: now, or the end of a 2FA grace period.
    pub from: DateTime<Utc>,
}

impl From<LockedOutMember> for LockedOutMemberResponse {
    fn from(m: LockedOutMember) -> Self {
        Self {
            member_id: m.member_id.to_string(),
            user_id: m.user_id.to_string(),
            name: m.name,
            email: m.email,
            role: m.role.to_string(),
            reasons: m.refusals.iter().map(Into::into).collect(),
            from: m.from,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LockedOutKeyResponse {
    pub key_id: String,
    pub name: String,
    pub reasons: Vec<RefusalResponse>,
}

impl From<LockedOutKey> for LockedOutKeyResponse {
    fn from(k: LockedOutKey) -> Self {
        Self { key_id: k.key_id.to_string(), name: k.name, reasons: k.refusals.iter().map(Into::into).collect() }
    }
}

/// Who a proposed policy would keep out, judged from where and how each member and key
/// last came in. Members never seen from an address count as outside an IP allowlist.
#[derive(Debug, Serialize, ToSchema)]
pub struct LockoutResponse {
    /// At most 1,000 members, in join order.
    pub members: Vec<LockedOutMemberResponse>,
    /// How many members in all.
    pub members_total: u64,
    pub api_keys: Vec<LockedOutKeyResponse>,
    /// What would refuse the caller's own next request, if anything.
    pub caller: Option<RefusalResponse>,
    /// No owner could get in any more: such a change is never applied.
    pub every_owner: bool,
}

impl From<LockoutPreview> for LockoutResponse {
    fn from(p: LockoutPreview) -> Self {
        Self {
            members: p.members.into_iter().map(Into::into).collect(),
            members_total: p.members_total,
            api_keys: p.api_keys.into_iter().map(Into::into).collect(),
            caller: p.caller.as_ref().map(Into::into),
            every_owner: p.every_owner,
        }
    }
}

macro_rules! write_response {
    ($name:ident, $policy:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            /// `false` on a dry run: nothing was saved.
            pub applied: bool,
            /// The saved policy; on a dry run, the proposed one at the current version.
            pub policy: $policy,
            /// On a dry run: every member and API key the policy would keep out.
            pub lockout: Option<LockoutResponse>,
        }
    };
}

write_response!(MfaPolicyWrite, MfaPolicyResponse, "The outcome of writing the 2FA policy.");
write_response!(SignInMethodsWrite, SignInMethodsResponse, "The outcome of writing the sign-in methods.");
write_response!(SecurityPolicyWrite, SecurityPolicyResponse, "The outcome of writing the security policy.");

/// How a policy write is made, besides `If-Match`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WriteParams {
    /// Report who the policy would lock out, and save nothing.
    pub dry_run: Option<bool>,
    /// Apply even though it locks the caller out (`would_lock_out_caller`). Nothing
    /// applies a policy that locks out every owner.
    pub force: Option<bool>,
}

pub(crate) fn write_mode(req: &HttpRequest, params: &WriteParams) -> Result<WriteMode, ApiError> {
    Ok(WriteMode {
        if_match: required_if_match(req)?,
        dry_run: params.dry_run.unwrap_or(false),
        force: params.force.unwrap_or(false),
    })
}

/// Answers a policy write: the policy with its `ETag` when saved, the preview on a dry run.
fn written<T, R: From<Versioned<T>>>(
    write: PolicyWrite<T>,
    wrap: impl FnOnce(bool, R, Option<LockoutResponse>) -> HttpResponse,
) -> HttpResponse {
    let version = write.policy.version;
    let lockout = (!write.applied).then(|| write.lockout.into());
    let mut response = wrap(write.applied, R::from(write.policy), lockout);
    if write.applied {
        let (name, value) = etag(version);
        response.headers_mut().insert(name, value);
    }
    response
}

fn read<R: Serialize>(version: i64, body: R) -> HttpResponse {
    HttpResponse::Ok().insert_header(etag(version)).json(body)
}

/// Its schema is written out below: a grace period needs `enforced: true`.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct MfaPolicyRequest {
    pub enforced: bool,
    pub grace_until: Option<DateTime<Utc>>,
}

impl PartialSchema for MfaPolicyRequest {
    fn schema() -> RefOr<Schema> {
        let grace = format!(
            "Let members without a second factor in until then: after now and at most {} days ahead; \
             only with `enforced: true`.",
            MfaPolicy::MAX_GRACE_DAYS
        );
        let fields = ObjectBuilder::new()
            .property(
                "enforced",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .description(Some("Require a second factor of every person entering the organization.")),
            )
            .required("enforced")
            .property(
                "grace_until",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                    .description(Some(grace)),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let no_grace = ObjectBuilder::new().property("grace_until", ObjectBuilder::new().schema_type(Type::Null));
        let grace_needs_enforcement = AnyOfBuilder::new().item(no_grace).item(shape::field_is("enforced", true));
        AllOfBuilder::new().item(fields).item(grace_needs_enforcement).into()
    }
}

impl ToSchema for MfaPolicyRequest {}

/// Read the 2FA enforcement policy.
#[utoipa::path(
    tag = "security",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, description = "The policy; `ETag` is its version.", body = MfaPolicyResponse), Errors<PolicyError>)
)]
#[get("/orgs/{org}/mfa/policy")]
pub async fn get_mfa_policy(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let policies = state.run(move |s| s.policies.get(&caller.0, &org)).await?;
    Ok(read(policies.mfa.version, MfaPolicyResponse::from(policies.mfa)))
}

/// Turn org-wide 2FA enforcement on or off. With `dry_run=true`, answers who would be
/// locked out and saves nothing; a change that would lock the caller out needs
/// `force=true`, and one that would lock out every owner is never applied.
#[utoipa::path(
    tag = "security",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("If-Match" = String, Header, description = IF_MATCH_REQUIRED),
        WriteParams,
    ),
    request_body = MfaPolicyRequest,
    responses((status = 200, description = "Saved (`ETag` is the new version), or previewed.", body = MfaPolicyWrite), Errors<PolicyError>)
)]
#[put("/orgs/{org}/mfa/policy")]
pub async fn put_mfa_policy(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    params: web::Query<WriteParams>,
    body: Json<MfaPolicyRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let mode = write_mode(&req, &params)?;
    let MfaPolicyRequest { enforced, grace_until } = body.into_inner();
    let write = state.run(move |s| s.policies.put_mfa(&caller.0, &org, enforced, grace_until, mode)).await?;
    Ok(written(write, |applied, policy, lockout| HttpResponse::Ok().json(MfaPolicyWrite { applied, policy, lockout })))
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SignInMethodsRequest {
    /// The methods people may sign in with; empty allows every method.
    #[validate(length(max = 8))]
    #[schema(schema_with = sign_in_methods)]
    pub allowed: Vec<String>,
}

/// Read the allowed sign-in methods.
#[utoipa::path(
    tag = "security",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, description = "The policy; `ETag` is its version.", body = SignInMethodsResponse), Errors<PolicyError>)
)]
#[get("/orgs/{org}/sign-in-methods")]
pub async fn get_sign_in_methods(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let policies = state.run(move |s| s.policies.get(&caller.0, &org)).await?;
    Ok(read(policies.sign_in.version, SignInMethodsResponse::from(policies.sign_in)))
}

/// Restrict the methods people may sign in with (mapped from the token's sign-in-method
/// claim, else its `amr`). Takes `dry_run` and `force` like every policy write.
#[utoipa::path(
    tag = "security",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("If-Match" = String, Header, description = IF_MATCH_REQUIRED),
        WriteParams,
    ),
    request_body = SignInMethodsRequest,
    responses((status = 200, description = "Saved (`ETag` is the new version), or previewed.", body = SignInMethodsWrite), Errors<PolicyError>)
)]
#[put("/orgs/{org}/sign-in-methods")]
pub async fn put_sign_in_methods(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    params: web::Query<WriteParams>,
    body: Json<SignInMethodsRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    body.validate()?;
    let mode = write_mode(&req, &params)?;
    let allowed = body.into_inner().allowed;
    let write = state.run(move |s| s.policies.put_sign_in_methods(&caller.0, &org, &allowed, mode)).await?;
    Ok(written(write, |applied, policy, lockout| {
        HttpResponse::Ok().json(SignInMethodsWrite { applied, policy, lockout })
    }))
}

/// The networks of a security policy, as the schema states them (`SecurityPolicy::parse`);
/// that no host bit is set is a rule it cannot state.
fn ip_allowlist() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(shape::ip_network())
        .max_items(Some(SecurityPolicy::MAX_CIDRS))
        .description(Some(
            "IPv4 and IPv6 networks (CIDR) or single addresses; empty admits any address. Host bits must be \
             zero (`10.1.2.0/8` is refused). Needs the `ip_allowlist` feature of the plan when not empty.",
        ))
        .examples([serde_json::json!(["203.0.113.0/24", "2001:db8::/32"])])
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SecurityPolicyRequest {
    #[validate(length(max = 200))]
    #[schema(schema_with = ip_allowlist)]
    #[serde(default)]
    pub ip_allowlist: Vec<String>,
    /// 300 to 7776000 seconds (90 days); absent: no limit.
    #[schema(minimum = 300, maximum = 7776000)]
    #[serde(default, deserialize_with = "whole_number")]
    pub max_session_age_secs: Option<i64>,
    /// 60 to 2592000 seconds (30 days); absent: no limit.
    #[schema(minimum = 60, maximum = 2592000)]
    #[serde(default, deserialize_with = "whole_number")]
    pub mfa_max_age_secs: Option<i64>,
}

/// Read the IP allowlist and session policy.
#[utoipa::path(
    tag = "security",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, description = "The policy; `ETag` is its version.", body = SecurityPolicyResponse), Errors<PolicyError>)
)]
#[get("/orgs/{org}/security-policy")]
pub async fn get_security_policy(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let policies = state.run(move |s| s.policies.get(&caller.0, &org)).await?;
    Ok(read(policies.security.version, SecurityPolicyResponse::from(policies.security)))
}

/// Set the IP allowlist (binding people and API keys) and the session rules. Takes
/// `dry_run` and `force` like every policy write.
#[utoipa::path(
    tag = "security",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("If-Match" = String, Header, description = IF_MATCH_REQUIRED),
        WriteParams,
    ),
    request_body = SecurityPolicyRequest,
    responses((status = 200, description = "Saved (`ETag` is the new version), or previewed.", body = SecurityPolicyWrite), Errors<PolicyError>)
)]
#[put("/orgs/{org}/security-policy")]
pub async fn put_security_policy(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    params: web::Query<WriteParams>,
    body: Json<SecurityPolicyRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    body.validate()?;
    let mode = write_mode(&req, &params)?;
    let SecurityPolicyRequest { ip_allowlist, max_session_age_secs, mfa_max_age_secs } = body.into_inner();
    let input = SecurityPolicyInput { ip_allowlist, max_session_age_secs, mfa_max_age_secs };
    let write = state.run(move |s| s.policies.put_security_policy(&caller.0, &org, input, mode)).await?;
    Ok(written(write, |applied, policy, lockout| {
        HttpResponse::Ok().json(SecurityPolicyWrite { applied, policy, lockout })
    }))
}
