//! Joining by domain: `/v1/me/suggested-orgs` for the person, `/v1/orgs/{org}/join-requests`
//! for them and the organization's admins.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::ids::JoinRequestId;
use orgd_domain::join::{JoinError, JoinOutcome, JoinRequest, JoinRequestStatus, SuggestedOrg};
use orgd_domain::org::OrgRef;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::common::{org_and, page, path_id, status_filter, PageParams, ORG_PARAM};
use super::orgs::OrgResponse;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::Errors;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(suggested_orgs)
        .service(request_to_join)
        .service(list_join_requests)
        .service(approve_join_request)
        .service(deny_join_request);
}

const REQUEST_PARAM: &str = "Join request id (`jrq_…`).";

/// An organization the caller may join by their verified email's domain.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestedOrgResponse {
    pub organization: OrgResponse,
    /// The verified domain that matches the caller's email.
    #[schema(example = "acme.com")]
    pub domain: String,
    /// `suggest` (an admin decides) or `auto` (asking admits at once).
    #[schema(example = "suggest")]
    pub join_policy: &'static str,
    /// The caller's open request to join, if any.
    pub pending_request_id: Option<String>,
}

impl From<SuggestedOrg> for SuggestedOrgResponse {
    fn from(s: SuggestedOrg) -> Self {
        Self {
            organization: OrgResponse::from(&s.org),
            domain: s.domain.to_string(),
            join_policy: s.join.name(),
            pending_request_id: s.pending_request.map(|id| id.to_string()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestedOrgList {
    pub data: Vec<SuggestedOrgResponse>,
}

/// A request to join an organization by the domain of one's verified email.
#[derive(Debug, Serialize, ToSchema)]
pub struct JoinRequestResponse {
    #[schema(example = "jrq_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    #[schema(example = crate::openapi::example::org)]
    pub org_id: String,
    #[schema(example = crate::openapi::example::user)]
    pub user_id: String,
    /// The verified address the request was made with.
    #[schema(example = "ada@acme.com")]
    pub email: String,
    #[schema(example = "acme.com")]
    pub domain: String,
    /// `pending`, `approved` or `denied`.
    #[schema(example = "pending")]
    pub status: &'static str,
    /// Once approved: the role joined with and the membership.
    pub role: Option<String>,
    pub member_id: Option<String>,
    /// Who decided; `null` when the domain's `auto` policy admitted at once.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    #[schema(example = crate::openapi::example::at)]
    pub created_at: DateTime<Utc>,
}

impl From<JoinRequest> for JoinRequestResponse {
    fn from(r: JoinRequest) -> Self {
        Self {
            id: r.id.to_string(),
            org_id: r.org_id.to_string(),
            user_id: r.user_id.to_string(),
            email: r.email.as_str().to_owned(),
            domain: r.domain.to_string(),
            status: r.status.as_str(),
            role: r.role.map(|role| role.to_string()),
            member_id: r.member_id.map(|m| m.to_string()),
            decided_by: r.decided_by.map(|u| u.to_string()),
            decided_at: r.decided_at,
            created_at: r.created_at,
        }
    }
}

page! {
    /// A page of join requests.
    JoinRequestPage of JoinRequestResponse
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JoinRequestListParams {
    /// Only requests in this status.
    #[param(schema_with = join_request_status)]
    pub status: Option<String>,
}

fn join_request_status() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(JoinRequestStatus::ALL.iter().map(|s| s.as_str())))
        .build()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApproveParams {
    /// The role to admit with; default the domain's `auto` role, else `member`. The
    /// approver must be able to grant it.
    #[param(schema_with = approve_role)]
    pub role: Option<String>,
}

fn approve_role() -> Object {
    crate::openapi::shape::role_key(false).examples(["member"]).build()
}

/// Organizations the caller may join by their verified email's domain (at most one: a
/// domain is verified by one organization at most). An unverified email matches none.
#[utoipa::path(
    tag = "join-requests",
    responses((status = 200, body = SuggestedOrgList), Errors<JoinError>)
)]
#[get("/me/suggested-orgs")]
pub async fn suggested_orgs(state: web::Data<AppState>, caller: Authenticated) -> Result<HttpResponse, ApiError> {
    let suggested = state.run(move |s| s.joins.suggested(&caller.0)).await?;
    Ok(HttpResponse::Ok().json(SuggestedOrgList { data: suggested.into_iter().map(Into::into).collect() }))
}

/// Ask to join an organization offered by domain. Under the domain's `auto` policy the
/// answer is `approved`, with the new membership; otherwise `pending` until an admin
/// decides. To anyone whose verified email is not in an open domain of the
/// organization, it does not exist.
#[utoipa::path(
    tag = "join-requests",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 201, body = JoinRequestResponse), Errors<JoinError>)
)]
#[post("/orgs/{org}/join-requests")]
pub async fn request_to_join(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let outcome = state.run(move |s| s.joins.request(&caller.0, &org)).await?;
    let request = match outcome {
        JoinOutcome::Pending(request) | JoinOutcome::Joined(request, _) => request,
    };
    Ok(HttpResponse::Created().json(JoinRequestResponse::from(request)))
}

/// List join requests, newest first.
#[utoipa::path(
    tag = "join-requests",
    params(("org" = String, Path, description = ORG_PARAM), JoinRequestListParams, PageParams),
    responses((status = 200, body = JoinRequestPage), Errors<JoinError>)
)]
#[get("/orgs/{org}/join-requests")]
pub async fn list_join_requests(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<JoinRequestListParams>,
    page: PageParams,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let status = status_filter(query.status.as_deref(), &JoinRequestStatus::ALL, JoinRequestStatus::as_str)?;
    let page = page.request();
    let requests = state.run(move |s| s.joins.list(&caller.0, &org, status, page)).await?;
    Ok(HttpResponse::Ok().json(JoinRequestPage::of(requests, JoinRequestResponse::from)))
}

/// Approve a pending request: the requester joins and is notified. Refused when their
/// verified email is no longer in a domain the organization holds verified.
#[utoipa::path(
    tag = "join-requests",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("request" = String, Path, description = REQUEST_PARAM),
        ApproveParams,
    ),
    responses((status = 200, body = JoinRequestResponse), Errors<JoinError>)
)]
#[post("/orgs/{org}/join-requests/{request}/approve")]
pub async fn approve_join_request(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    query: web::Query<ApproveParams>,
) -> Result<HttpResponse, ApiError> {
    let (org, id): (OrgRef, JoinRequestId) = org_and(&path.0, &path.1, "join request")?;
    let role = query.into_inner().role;
    let (request, _) = state.run(move |s| s.joins.approve(&caller.0, &org, id, role.as_deref())).await?;
    Ok(HttpResponse::Ok().json(JoinRequestResponse::from(request)))
}

/// Deny a pending request; the requester is notified and may ask again.
#[utoipa::path(
    tag = "join-requests",
    params(("org" = String, Path, description = ORG_PARAM), ("request" = String, Path, description = REQUEST_PARAM)),
    responses((status = 200, body = JoinRequestResponse), Errors<JoinError>)
)]
#[post("/orgs/{org}/join-requests/{request}/deny")]
pub async fn deny_join_request(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id): (OrgRef, JoinRequestId) = org_and(&path.0, &path.1, "join request")?;
    let request = state.run(move |s| s.joins.deny(&caller.0, &org, id)).await?;
    Ok(HttpResponse::Ok().json(JoinRequestResponse::from(request)))
}
