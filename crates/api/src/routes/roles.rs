//! `/v1/orgs/{org}/roles`: system and custom roles.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::authz::Permission;
use orgd_domain::ids::RoleId;
use orgd_domain::org::OrgRef;
use orgd_domain::role::{CreateRole, RoleError, RoleName, RoleView, UpdateRole};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ArrayBuilder, Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{etag, if_match, nullable, org_and, path_id, Json, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
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
    #[schema(example = "Billing admin")]
    pub name: String,
    pub description: Option<String>,
    pub system: bool,
    /// The system role this custom role replaces in this organization, if any.
    pub shadows: Option<String>,
    #[schema(example = json!(["billing:read", "billing:update"]))]
    pub permissions: Vec<&'static str>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// A custom role's version, also its `ETag` on `PATCH`; `null` for system roles.
    pub version: Option<i64>,
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
                version: None,
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
                version: Some(role.version),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    pub data: Vec<RoleResponse>,
}

/// Its schema is written out below: without a `key`, the name must yield one.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleRequest {
    #[validate(length(max = 100, code = "too_long"))]
    pub key: Option<String>,
    #[validate(length(max = 1000, code = "too_long"))]
    pub name: String,
    #[validate(length(max = 5000, code = "too_long"))]
    pub description: Option<String>,
    #[validate(length(max = 200, code = "too_many"))]
    pub permissions: Vec<String>,
}

/// Most permissions a request may list.
const MAX_PERMISSIONS: usize = 200;

/// Longest role description (`role::parse_description`).
const DESCRIPTION_MAX_CHARS: usize = 500;

fn role_name() -> Object {
    shape::name(RoleName::MAX_CHARS, Some(1000)).examples(["Billing admin"]).build()
}

fn role_name_or_null() -> Object {
    shape::nullable(shape::name(RoleName::MAX_CHARS, Some(1000)))
}

fn create_description() -> Object {
    shape::nullable(shape::description(DESCRIPTION_MAX_CHARS, Some(5000)))
}

fn update_description() -> Object {
    shape::nullable(shape::description(DESCRIPTION_MAX_CHARS, None))
}

fn permissions() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(Ref::from_schema_name(shape::Permission::name()))
        .max_items(Some(MAX_PERMISSIONS))
        .description(Some("Catalogue permission names; none may exceed the caller's own."))
        .examples([serde_json::json!(["billing:read", "billing:update"])])
}

/// A name a key can be derived from: its first ASCII letter or digit is a letter, and it
/// does not read `owner`, which is reserved.
const KEYED_NAME: &str = "^(?![^A-Za-z0-9]*[Oo][Ww][Nn][Ee][Rr][^A-Za-z0-9]*$)[^A-Za-z0-9]*[A-Za-z]";

impl PartialSchema for CreateRoleRequest {
    fn schema() -> RefOr<Schema> {
        let key = shape::nullable(shape::role_key(true).description(Some(
            "Stable key; derived from the name when absent. A key equal to a system role's \
             (`admin`, `member`) replaces that role in this organization; `owner` is reserved.",
        )));
        let fields = ObjectBuilder::new()
            .property("key", key)
            .property("name", role_name())
            .required("name")
            .property("description", create_description())
            .property("permissions", permissions())
            .required("permissions")
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
        let keyed =
            ObjectBuilder::new().property("key", ObjectBuilder::new().schema_type(Type::String)).required("key");
        let derivable = ObjectBuilder::new()
            .property("name", ObjectBuilder::new().schema_type(Type::String).pattern(Some(KEYED_NAME)));
        let key_or_name = AnyOfBuilder::new().item(keyed).item(derivable);
        AllOfBuilder::new()
            .item(fields)
            .item(key_or_name)
            .examples([serde_json::json!({
                "key": "billing_admin",
                "name": "Billing admin",
                "description": "Reads and pays the invoices.",
                "permissions": ["billing:read", "billing:update"],
            })])
            .into()
    }
}

impl ToSchema for CreateRoleRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((shape::Permission::name().into_owned(), shape::Permission::schema()));
    }
}

/// Absent (or `null`) fields are kept, but `null` clears the description; the key cannot
/// change.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoleRequest {
    #[schema(schema_with = role_name_or_null)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = update_description)]
    pub description: Option<Option<String>>,
    /// Catalogue permission names; none may exceed the caller's own.
    #[schema(value_type = Option<Vec<shape::Permission>>, max_items = 200)]
    #[validate(length(max = 200, code = "too_many"))]
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteRoleParams {
    /// Role key to move the role's members to; required while members hold the role.
    #[param(schema_with = role_key)]
    pub reassign_to: Option<String>,
}

fn role_key() -> Object {
    shape::role_key(false).build()
}

/// List the organization's roles: system roles (unless replaced) and custom roles.
#[utoipa::path(
    tag = "roles",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, body = RoleList), Errors<RoleError>)
)]
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
    responses((status = 201, body = RoleResponse), Errors<RoleError>)
)]
#[post("/orgs/{org}/roles")]
pub async fn create_role(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: Json<CreateRoleRequest>,
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
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("role" = String, Path, description = "Custom role id (`role_…`)."),
        ("If-Match" = Option<String>, Header, description = "The role's `version` the change is based on."),
    ),
    request_body = UpdateRoleRequest,
    responses((status = 200, description = "The role; `ETag` is its new version.", body = RoleResponse), Errors<RoleError>)
)]
#[patch("/orgs/{org}/roles/{role}")]
pub async fn update_role(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Json<UpdateRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, id): (OrgRef, RoleId) = org_and(&path.0, &path.1, "role")?;
    body.validate()?;
    let body = body.into_inner();
    let input = UpdateRole {
        if_match: if_match(&req)?,
        name: body.name,
        description: body.description,
        permissions: body.permissions,
    };
    let role = state.run(move |s| s.roles.update(&caller.0, &org, id, input)).await?;
    let shadows = role.key.system_role();
    let version = role.version;
    Ok(HttpResponse::Ok().insert_header(etag(version)).json(RoleResponse::from(RoleView::Custom { role, shadows })))
}

/// Delete a custom role. While members hold it, `reassign_to` must name the role they move
/// to (members of a role replacing a system role fall back to that system role).
#[utoipa::path(
    tag = "roles",
    params(("org" = String, Path, description = ORG_PARAM), ("role" = String, Path, description = "Custom role id (`role_…`)."), DeleteRoleParams),
    responses((status = 204, description = "Deleted."), Errors<RoleError>)
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
