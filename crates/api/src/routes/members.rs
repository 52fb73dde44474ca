//! `/v1/orgs/{org}/members` and leaving an organization.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::ids::MemberId;
use domain::member::{Member, MemberQuery};
use domain::org::OrgRef;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{page_request, path_id, ListResponse};
use crate::auth::Authenticated;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_members).service(get_member).service(leave_org);
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
    #[schema(example = "admin")]
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

impl From<Member> for MemberResponse {
    fn from(m: Member) -> Self {
        MemberResponse {
            id: m.membership.id.to_string(),
            user_id: m.membership.user_id.to_string(),
            name: m.name,
            email: m.email.map(|e| e.as_str().to_owned()),
            role: m.membership.role.to_string(),
            joined_at: m.membership.joined_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct MemberListParams {
    /// Case-insensitive substring of the member's name or email.
    #[validate(length(max = 1000, code = "too_long"))]
    pub q: Option<String>,
    /// Only members with this role key.
    #[validate(length(max = 100, code = "too_long"))]
    pub role: Option<String>,
    /// Page size, 1 to 100 (default 25).
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List members in join order, optionally searched and filtered by role.
#[utoipa::path(
    tag = "members",
    params(("org" = String, Path, description = "Organization id (`org_…`), or `me`."), MemberListParams),
    responses(
        (status = 200, body = ListResponse<MemberResponse>),
        (status = 422, description = "`validation_failed`: bad `q` or `role`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orgs/{org}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<MemberListParams>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    query.validate()?;
    let query = query.into_inner();
    let page = page_request(query.limit, query.cursor.as_deref())?;
    let filter = MemberQuery { q: query.q, role: query.role };
    let members = state.run(move |s| s.members.list(&caller.0, &org, filter, page)).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(members, MemberResponse::from)))
}

/// Get one member.
#[utoipa::path(
    tag = "members",
    params(
        ("org" = String, Path, description = "Organization id (`org_…`), or `me`."),
        ("member" = String, Path, description = "Member id (`mem_…`)."),
    ),
    responses((status = 200, body = MemberResponse))
)]
#[get("/orgs/{org}/members/{member}")]
pub async fn get_member(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path.0, "organization")?;
    let member: MemberId = path_id(&path.1, "member")?;
    let member = state.run(move |s| s.members.get(&caller.0, &org, member)).await?;
    Ok(HttpResponse::Ok().json(MemberResponse::from(member)))
}

/// Leave an organization. The last owner cannot leave: transfer ownership first.
#[utoipa::path(
    tag = "members",
    params(("org" = String, Path, description = "Organization id (`org_…`), or `me`.")),
    responses(
        (status = 204, description = "Left."),
        (status = 409, description = "`last_owner`: the caller is the only owner.", body = Problem, content_type = "application/problem+json"),
    )
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
