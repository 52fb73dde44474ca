//! `/v1/orgs/{org}/roles`: system and custom roles.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::authz::Permission;
use domain::ids::RoleId;
use domain::org::OrgRef;
use domain::role::{CreateRole, RoleView, UpdateRole};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{nullable, org_and, path_id, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_roles).service(create_role).service(update_role).service(delete_role);
}

/// A role: built in (`system`), or defined by the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleResponse {
    /// `role_…` for custom roles; `null` for system roles.
    pub id: Option<String>,
    /// What memberships, invites and filters name the role by.
    #[schema(example = "billing_admin")]
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub system: bool,
    /// The system role this custom role replaces in this organization, if any.
    pub shadows: Option<String>,
    pub permissions: Vec<&'static str>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

fn title_case(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

impl From<RoleView> for RoleResponse {
    fn from(view: RoleView) -> Self {
        let permissions = view.permissions().iter().map(Permission::as_str).collect();
        match view {
            RoleView::System(system) => RoleResponse {
                id: None,
                key: system.as_str().to_owned(),
                name: title_case(system.as_str()),
                description: Some(system.description().to_owned()),
                system: true,
                shadows: None,
                permissions,
                created_at: None,
                updated_at: None,
            },
            RoleView::Custom { role, shadows } => RoleResponse {
                id: Some(role.id.to_string()),
                key: role.key.to_string(),
                name: role.name.as_str().to_owned(),
                description: role.description,
                system: false,
                shadows: shadows.map(|s| s.as_str().to_owned()),
                permissions,
                created_at: Some(role.created_at),
                updated_at: Some(role.updated_at),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    pub data: Vec<RoleResponse>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleRequest {
    /// Stable key; derived from the name when absent. A key equal to a system role's
    /// (`admin`, `member`) replaces that role in this organization; `owner` is reserved.
    #[validate(length(max = 100, code = "too_long"))]
    pub key: Option<String>,
    #[schema(example = "Billing admin")]
    #[validate(length(max = 1000, code = "too_long"))]
    pub name: String,
    #[validate(length(max = 5000, code = "too_long"))]
    pub description: Option<String>,
    /// Catalogue permission names; none may exceed the caller's own.
    #[schema(example = json!(["billing:read", "billing:update"]))]
    #[validate(length(max = 200, code = "too_many"))]
    pub permissions: Vec<String>,
}

/// Absent fields are kept; the key cannot change.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoleRequest {
    #[validate(length(max = 1000, code = "too_long"))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[validate(length(max = 200, code = "too_many"))]
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteRoleParams {
    /// Role key to move the role's members to; required while members hold the role.
    pub reassign_to: Option<String>,
}

/// List the organization's roles: system roles (unless replaced) and custom roles.
#[utoipa::path(tag = "roles", params(("org" = String, Path, description = ORG_PARAM)), responses((status = 200, body = RoleList)))]
#[get("/orgs/{org}/roles")]
pub async fn list_roles(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let roles = state.run(move |s| s.roles.list(&caller.0, &org)).await?;
    Ok(HttpResponse::Ok().json(RoleList { data: roles.into_iter().map(RoleResponse::from).collect() }))
}

/// Create a custom role.
#[utoipa::path(
    tag = "roles",
    params(("org" = String, Path, description = ORG_PARAM)),
    request_body = CreateRoleRequest,
    responses(
        (status = 201, body = RoleResponse),
        (status = 409, description = "`role_key_taken`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `reserved_role_key` or `too_many_roles`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orgs/{org}/roles")]
pub async fn create_role(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: web::Json<CreateRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    body.validate()?;
    let body = body.into_inner();
    let input =
        CreateRole { key: body.key, name: body.name, description: body.description, permissions: body.permissions };
    let role = state.run(move |s| s.roles.create(&caller.0, &org, input)).await?;
    let shadows = role.key.system_role();
    Ok(HttpResponse::Created().json(RoleResponse::from(RoleView::Custom { role, shadows })))
}

/// Rename a custom role or change its permissions.
#[utoipa::path(
    tag = "roles",
    params(("org" = String, Path, description = ORG_PARAM), ("role" = String, Path, description = "Custom role id (`role_…`).")),
    request_body = UpdateRoleRequest,
    responses(
        (status = 200, body = RoleResponse),
        (status = 422, description = "`validation_failed`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/orgs/{org}/roles/{role}")]
pub async fn update_role(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<UpdateRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, id): (OrgRef, RoleId) = org_and(&path.0, &path.1, "role")?;
    body.validate()?;
    let body = body.into_inner();
    let input = UpdateRole { name: body.name, description: body.description, permissions: body.permissions };
    let role = state.run(move |s| s.roles.update(&caller.0, &org, id, input)).await?;
    let shadows = role.key.system_role();
    Ok(HttpResponse::Ok().json(RoleResponse::from(RoleView::Custom { role, shadows })))
}

/// Delete a custom role. While members hold it, `reassign_to` must name the role they move
/// to (members of a role replacing a system role fall back to that system role).
#[utoipa::path(
    tag = "roles",
    params(("org" = String, Path, description = ORG_PARAM), ("role" = String, Path, description = "Custom role id (`role_…`)."), DeleteRoleParams),
    responses(
        (status = 204, description = "Deleted."),
        (status = 409, description = "`role_in_use`: members hold it and no `reassign_to` was given.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown_role` or `validation_failed` for `reassign_to`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/orgs/{org}/roles/{role}")]
pub async fn delete_role(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    query: web::Query<DeleteRoleParams>,
) -> Result<HttpResponse, ApiError> {
    let (org, id): (OrgRef, RoleId) = org_and(&path.0, &path.1, "role")?;
    let reassign_to = query.into_inner().reassign_to;
    state.run(move |s| s.roles.delete(&caller.0, &org, id, reassign_to)).await?;
    Ok(HttpResponse::NoContent().finish())
}
