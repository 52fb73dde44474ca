//! `/v1/orgs/{org}/teams`: teams and their members.

use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::ids::{MemberId, TeamId};
use orgd_domain::org::OrgRef;
use orgd_domain::pagination::PageRequest;
use orgd_domain::team::{CreateTeam, TeamDetail, TeamError, TeamMember, TeamName, TeamSummary, UpdateTeam};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{encode_cursor, etag, if_match, nullable, org_and, page, path_id, Json, PageParams, ORG_PARAM};
use super::members::MemberResponse;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_team)
        .service(list_teams)
        .service(get_team)
        .service(update_team)
        .service(delete_team)
        .service(list_team_members)
        .service(add_team_member)
        .service(remove_team_member)
        .service(set_team_manager);
}

const TEAM_PARAM: &str = "Team id (`team_…`).";
const MEMBER_PARAM: &str = "Member id (`mem_…`) of the organization member.";

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamResponse {
    #[schema(example = "team_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    #[schema(example = "Platform")]
    pub name: String,
    pub description: Option<String>,
    /// The identity provider's group id, when SCIM provisions this team.
    pub external_id: Option<String>,
    #[schema(example = 8)]
    pub member_count: u64,
    #[schema(example = crate::openapi::example::at)]
    pub created_at: DateTime<Utc>,
    #[schema(example = crate::openapi::example::at)]
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` of `GET` and `PATCH …/teams/{team}`.
    #[schema(example = crate::openapi::example::version)]
    pub version: i64,
}

impl From<TeamSummary> for TeamResponse {
    fn from(s: TeamSummary) -> Self {
        TeamResponse {
            id: s.team.id.to_string(),
            name: s.team.name.as_str().to_owned(),
            description: s.team.description,
            external_id: s.team.external_id,
            member_count: s.member_count,
            created_at: s.team.created_at,
            updated_at: s.team.updated_at,
            version: s.team.version,
        }
    }
}

/// A member of a team: the organization member, and whether they manage the team.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMemberResponse {
    #[serde(flatten)]
    pub member: MemberResponse,
    pub is_manager: bool,
    #[schema(example = crate::openapi::example::at)]
    pub added_at: DateTime<Utc>,
}

impl From<TeamMember> for TeamMemberResponse {
    fn from(m: TeamMember) -> Self {
        TeamMemberResponse { member: m.member.into(), is_manager: m.is_manager, added_at: m.added_at }
    }
}

/// A team with its first page of members (up to 100); follow `members_next_cursor` on
/// `GET …/teams/{team}/members` for the rest.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamDetailResponse {
    #[serde(flatten)]
    pub team: TeamResponse,
    pub members: Vec<TeamMemberResponse>,
    pub members_next_cursor: Option<String>,
}

impl From<TeamDetail> for TeamDetailResponse {
    fn from(d: TeamDetail) -> Self {
        TeamDetailResponse {
            team: d.summary.into(),
            members_next_cursor: d.members.next_after.as_ref().map(encode_cursor),
            members: d.members.items.into_iter().map(TeamMemberResponse::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamRequest {
    /// Unique in the organization, case-insensitively; 1 to 100 characters.
    #[schema(schema_with = team_name)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub name: String,
    #[schema(schema_with = create_description)]
    #[validate(length(max = 5000, code = "too_long"))]
    pub description: Option<String>,
}

/// Longest team description (`team::parse_description`).
const DESCRIPTION_MAX_CHARS: usize = 1000;

fn team_name() -> Object {
    shape::name(TeamName::MAX_CHARS, Some(1000)).examples(["Platform"]).build()
}

fn team_name_or_null() -> Object {
    shape::nullable(shape::name(TeamName::MAX_CHARS, Some(1000)).examples(["Platform"]))
}

fn create_description() -> Object {
    shape::nullable(shape::description(DESCRIPTION_MAX_CHARS, Some(5000)))
}

fn update_description() -> Object {
    shape::nullable(shape::description(DESCRIPTION_MAX_CHARS, None))
}

/// Absent (or `null`) fields are kept, but `null` clears the description.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeamRequest {
    #[schema(schema_with = team_name_or_null)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = update_description)]
    pub description: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTeamMemberRequest {
    /// The organization member (`mem_…`) to add.
    #[schema(example = crate::openapi::example::member)]
    pub member_id: String,
    /// Make them a manager of the team (needs `teams:update`).
    #[serde(default)]
    pub is_manager: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetManagerRequest {
    pub is_manager: bool,
}

page! {
    /// A page of teams.
    TeamPage of TeamResponse
}

page! {
    /// A page of a team's members.
    TeamMemberPage of TeamMemberResponse
}

/// Create a team.
#[utoipa::path(
    tag = "teams",
    params(("org" = String, Path, description = ORG_PARAM)),
    request_body = CreateTeamRequest,
    responses((status = 201, body = TeamResponse), Errors<TeamError>)
)]
#[post("/orgs/{org}/teams")]
pub async fn create_team(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: Json<CreateTeamRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    body.validate()?;
    let body = body.into_inner();
    let input = CreateTeam { name: body.name, description: body.description };
    let team = state.run(move |s| s.teams.create(&caller.0, &org, input)).await?;
    Ok(HttpResponse::Created().json(TeamResponse::from(team)))
}

/// List teams in creation order, with their member counts.
#[utoipa::path(
    tag = "teams",
    params(("org" = String, Path, description = ORG_PARAM), PageParams),
    responses((status = 200, body = TeamPage), Errors<TeamError>)
)]
#[get("/orgs/{org}/teams")]
pub async fn list_teams(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    page: PageParams,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let page = page.request();
    let teams = state.run(move |s| s.teams.list(&caller.0, &org, page)).await?;
    Ok(HttpResponse::Ok().json(TeamPage::of(teams, TeamResponse::from)))
}

/// Get a team with its members and managers.
#[utoipa::path(
    tag = "teams",
    params(("org" = String, Path, description = ORG_PARAM), ("team" = String, Path, description = TEAM_PARAM)),
    responses((status = 200, description = "The team; `ETag` is its version.", body = TeamDetailResponse), Errors<TeamError>)
)]
#[get("/orgs/{org}/teams/{team}")]
pub async fn get_team(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, team): (OrgRef, TeamId) = org_and(&path.0, &path.1, "team")?;
    let page = PageRequest::first(PageRequest::MAX_LIMIT);
    let detail = state.run(move |s| s.teams.get(&caller.0, &org, team, page)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(detail.summary.team.version)).json(TeamDetailResponse::from(detail)))
}

/// Rename a team or change its description (`teams:update`; team managers may not).
#[utoipa::path(
    tag = "teams",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("team" = String, Path, description = TEAM_PARAM),
        ("If-Match" = Option<String>, Header, description = "The team's `version` the change is based on."),
    ),
    request_body = UpdateTeamRequest,
    responses((status = 200, description = "The team; `ETag` is its new version.", body = TeamResponse), Errors<TeamError>)
)]
#[patch("/orgs/{org}/teams/{team}")]
pub async fn update_team(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Json<UpdateTeamRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, team): (OrgRef, TeamId) = org_and(&path.0, &path.1, "team")?;
    body.validate()?;
    let body = body.into_inner();
    let input = UpdateTeam { if_match: if_match(&req)?, name: body.name, description: body.description };
    let updated = state.run(move |s| s.teams.update(&caller.0, &org, team, input)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(updated.team.version)).json(TeamResponse::from(updated)))
}

/// Delete a team. Its memberships go; the organization's members stay.
#[utoipa::path(
    tag = "teams",
    params(("org" = String, Path, description = ORG_PARAM), ("team" = String, Path, description = TEAM_PARAM)),
    responses((status = 204, description = "Deleted."), Errors<TeamError>)
)]
#[delete("/orgs/{org}/teams/{team}")]
pub async fn delete_team(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, team): (OrgRef, TeamId) = org_and(&path.0, &path.1, "team")?;
    state.run(move |s| s.teams.delete(&caller.0, &org, team)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a team's members, in the order they joined the organization.
#[utoipa::path(
    tag = "teams",
    params(("org" = String, Path, description = ORG_PARAM), ("team" = String, Path, description = TEAM_PARAM), PageParams),
    responses((status = 200, body = TeamMemberPage), Errors<TeamError>)
)]
#[get("/orgs/{org}/teams/{team}/members")]
pub async fn list_team_members(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    page: PageParams,
) -> Result<HttpResponse, ApiError> {
    let (org, team): (OrgRef, TeamId) = org_and(&path.0, &path.1, "team")?;
    let page = page.request();
    let members = state.run(move |s| s.teams.list_members(&caller.0, &org, team, page)).await?;
    Ok(HttpResponse::Ok().json(TeamMemberPage::of(members, TeamMemberResponse::from)))
}

/// Add an organization member to a team (`teams:update`, or a manager of this team;
/// adding as manager needs `teams:update`).
#[utoipa::path(
    tag = "teams",
    params(("org" = String, Path, description = ORG_PARAM), ("team" = String, Path, description = TEAM_PARAM)),
    request_body = AddTeamMemberRequest,
    responses((status = 201, body = TeamMemberResponse), Errors<TeamError>)
)]
#[post("/orgs/{org}/teams/{team}/members")]
pub async fn add_team_member(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: Json<AddTeamMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, team): (OrgRef, TeamId) = org_and(&path.0, &path.1, "team")?;
    let member: MemberId = path_id(&body.member_id, "member")?;
    let is_manager = body.is_manager;
    let added = state.run(move |s| s.teams.add_member(&caller.0, &org, team, member, is_manager)).await?;
    Ok(HttpResponse::Created().json(TeamMemberResponse::from(added)))
}

/// Remove a member from a team (`teams:update`, or a manager of this team for its
/// non-manager members).
#[utoipa::path(
    tag = "teams",
    params(("org" = String, Path, description = ORG_PARAM), ("team" = String, Path, description = TEAM_PARAM), ("member" = String, Path, description = MEMBER_PARAM)),
    responses((status = 204, description = "Removed."), Errors<TeamError>)
)]
#[delete("/orgs/{org}/teams/{team}/members/{member}")]
pub async fn remove_team_member(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, team): (OrgRef, TeamId) = org_and(&path.0, &path.1, "team")?;
    let member: MemberId = path_id(&path.2, "team member")?;
    state.run(move |s| s.teams.remove_member(&caller.0, &org, team, member)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Grant or revoke a team member's manager flag (`teams:update`).
#[utoipa::path(
    tag = "teams",
    params(("org" = String, Path, description = ORG_PARAM), ("team" = String, Path, description = TEAM_PARAM), ("member" = String, Path, description = MEMBER_PARAM)),
    request_body = SetManagerRequest,
    responses((status = 200, body = TeamMemberResponse), Errors<TeamError>)
)]
#[put("/orgs/{org}/teams/{team}/members/{member}/manager")]
pub async fn set_team_manager(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String, String)>,
    body: Json<SetManagerRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, team): (OrgRef, TeamId) = org_and(&path.0, &path.1, "team")?;
    let member: MemberId = path_id(&path.2, "team member")?;
    let is_manager = body.is_manager;
    let updated = state.run(move |s| s.teams.set_manager(&caller.0, &org, team, member, is_manager)).await?;
    Ok(HttpResponse::Ok().json(TeamMemberResponse::from(updated)))
}
