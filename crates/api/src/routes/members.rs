//! `/v1/orgs/{org}/members` and leaving an organization.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::ids::MemberId;
use orgd_domain::member::{Member, MemberError, MemberQuery, SearchText};
use orgd_domain::org::OrgRef;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Object;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{etag, if_match, org_and, page, path_id, Json, PageParams, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_members)
        .service(get_member)
        .service(change_member_role)
        .service(remove_member)
        .service(leave_org)
        .service(transfer_ownership);
}

/// A member of an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberResponse {
    #[schema(example = "mem_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    #[schema(example = "usr_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub user_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The identity provider verified `email`. An unverified address may belong to
    /// someone else: never grant access or send secrets on the strength of it.
    pub email_verified: bool,
    #[schema(example = "admin")]
    pub role: String,
    #[schema(example = crate::openapi::example::at)]
    pub joined_at: DateTime<Utc>,
    /// Bumped by every change of role, suspension or person; the `ETag` of `GET` and
    /// `PATCH …/members/{member}`.
    #[schema(example = crate::openapi::example::version)]
    pub version: i64,
}

impl From<Member> for MemberResponse {
    fn from(m: Member) -> Self {
        MemberResponse {
            id: m.membership.id.to_string(),
            user_id: m.membership.user_id.to_string(),
            name: m.name,
            email: m.email.map(|e| e.as_str().to_owned()),
            email_verified: m.email_verified,
            role: m.membership.role.to_string(),
            joined_at: m.membership.joined_at,
            version: m.membership.version,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct MemberListParams {
    /// Case-insensitive substring of the member's name or email.
    #[param(schema_with = search_text)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub q: Option<String>,
    /// Only members with this role key.
    #[param(schema_with = role_key)]
    #[validate(length(max = 100, code = "too_long"))]
    pub role: Option<String>,
}

fn search_text() -> Object {
    shape::optional_line(SearchText::MAX_CHARS, Some(1000)).build()
}

fn role_key() -> Object {
    shape::role_key(false).examples(["admin"]).build()
}

page! {
    /// A page of members.
    MemberPage of MemberResponse
}

/// List members in join order, optionally searched and filtered by role.
#[utoipa::path(
    tag = "members",
    params(("org" = String, Path, description = ORG_PARAM), MemberListParams, PageParams),
    responses((status = 200, body = MemberPage), Errors<MemberError>)
)]
#[get("/orgs/{org}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<MemberListParams>,
    page: PageParams,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    query.validate()?;
    let query = query.into_inner();
    let page = page.request();
    let filter = MemberQuery { q: query.q, role: query.role };
    let members = state.run(move |s| s.members.list(&caller.0, &org, filter, page)).await?;
    Ok(HttpResponse::Ok().json(MemberPage::of(members, MemberResponse::from)))
}

/// Get one member.
#[utoipa::path(
    tag = "members",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("member" = String, Path, description = "Member id (`mem_…`)."),
    ),
    responses((status = 200, description = "The member; `ETag` is its version.", body = MemberResponse), Errors<MemberError>)
)]
#[get("/orgs/{org}/members/{member}")]
pub async fn get_member(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, member): (OrgRef, MemberId) = org_and(&path.0, &path.1, "member")?;
    let member = state.run(move |s| s.members.get(&caller.0, &org, member)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(member.membership.version)).json(MemberResponse::from(member)))
}

/// Leave an organization. The last owner cannot leave: transfer ownership first.
#[utoipa::path(
    tag = "members",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 204, description = "Left."), Errors<MemberError>)
)]
#[post("/orgs/{org}/leave")]
pub async fn leave_org(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    state.run(move |s| s.members.leave(&caller.0, &org)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ChangeRoleRequest {
    /// The new role key (system or custom).
    #[schema(schema_with = role_key)]
    #[validate(length(max = 100, code = "too_long"))]
    pub role: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferOwnershipRequest {
    /// The member (`mem_…`) who becomes an owner; the caller becomes an admin.
    #[schema(example = crate::openapi::example::member)]
    pub member_id: String,
}

/// Change a member's role. The caller must hold every permission of both the member's
/// current role and the new one; the last owner keeps the owner role.
#[utoipa::path(
    tag = "members",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("member" = String, Path, description = "Member id (`mem_…`)."),
        ("If-Match" = Option<String>, Header, description = "The member's `version` the change is based on."),
    ),
    request_body = ChangeRoleRequest,
    responses((status = 200, description = "The member; `ETag` is its new version.", body = MemberResponse), Errors<MemberError>)
)]
#[patch("/orgs/{org}/members/{member}")]
pub async fn change_member_role(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Json<ChangeRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, member): (OrgRef, MemberId) = org_and(&path.0, &path.1, "member")?;
    body.validate()?;
    let role = body.into_inner().role;
    let expected = if_match(&req)?;
    let member = state.run(move |s| s.members.change_role_if(&caller.0, &org, member, &role, expected)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(member.membership.version)).json(MemberResponse::from(member)))
}

/// Remove a member. Nobody removes a member whose role holds a permission they lack; the
/// last owner cannot be removed.
#[utoipa::path(
    tag = "members",
    params(("org" = String, Path, description = ORG_PARAM), ("member" = String, Path, description = "Member id (`mem_…`).")),
    responses((status = 204, description = "Removed."), Errors<MemberError>)
)]
#[delete("/orgs/{org}/members/{member}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, member): (OrgRef, MemberId) = org_and(&path.0, &path.1, "member")?;
    state.run(move |s| s.members.remove(&caller.0, &org, member)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Give the owner role to another member; the calling owner becomes an admin.
#[utoipa::path(
    tag = "members",
    params(("org" = String, Path, description = ORG_PARAM)),
    request_body = TransferOwnershipRequest,
    responses((status = 200, description = "The new owner.", body = MemberResponse), Errors<MemberError>)
)]
#[post("/orgs/{org}/transfer-ownership")]
pub async fn transfer_ownership(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: Json<TransferOwnershipRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let to: MemberId = body.member_id.parse().map_err(|_| ApiError::not_found("member"))?;
    let member = state.run(move |s| s.members.transfer_ownership(&caller.0, &org, to)).await?;
    Ok(HttpResponse::Ok().json(MemberResponse::from(member)))
}
