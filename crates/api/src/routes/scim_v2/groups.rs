//! `/scim/v2/Groups`: the organization's teams as SCIM Groups (the id is the team id, members by member id).

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::bodies::{GroupResource, PatchOp};
use super::examples;
use super::http::{
    if_match, list_response, query_error, resource_response, run, AttributeParams, ListParams, ScimApiError, ScimBody,
    ScimCaller, ScimErrorBody,
};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_groups)
        .service(create_group)
        .service(get_group)
        .service(replace_group)
        .service(patch_group)
        .service(delete_group);
}

fn selection(params: AttributeParams) -> Result<orgd_domain::scim::resource::Projection, ScimApiError> {
    Ok(orgd_domain::scim::resource::Projection::parse(
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
    )?)
}

/// List groups, filtered and paged. `displayName eq` and `externalId eq` are answered from an index.
#[utoipa::path(
    tag = "scim-protocol",
    params(ListParams),
    responses(
        (status = 200, description = "A ListResponse of groups.", content_type = "application/scim+json", body = Object, example = json!(examples::group_list())),
        (status = 400, description = "`invalidFilter`, `invalidPath` (in `attributes`) or `invalidValue`.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[get("/Groups")]
pub async fn list_groups(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ScimApiError> {
    let params = web::Query::<ListParams>::from_query(req.query_string()).map_err(query_error)?.into_inner();
    let query = params.into_query()?;
    let page = run(&state, move |s| s.directory.list_groups(&caller.0, &query)).await?;
    Ok(list_response(page))
}

/// Create a team from a group; its members are Users of the organization.
#[utoipa::path(
    tag = "scim-protocol",
    request_body(content = GroupResource, content_type = "application/scim+json", description = "A Group resource.", example = examples::group_request),
    responses(
        (status = 201, description = "Created; `Location` is its address, `ETag` its version.", content_type = "application/scim+json", body = Object, example = json!(examples::group())),
        (status = 400, description = "`invalidSyntax` or `invalidValue`.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 409, description = "`uniqueness`: another team has this `displayName` or `externalId`.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 413, description = "The body is larger than 4 MiB.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[post("/Groups")]
pub async fn create_group(
    state: web::Data<AppState>,
    caller: ScimCaller,
    body: ScimBody,
) -> Result<HttpResponse, ScimApiError> {
    let resource = run(&state, move |s| s.directory.create_group(&caller.0, &body.0)).await?;
    let json = resource.json.clone();
    Ok(resource_response(StatusCode::CREATED, resource, json))
}

/// One group.
#[utoipa::path(
    tag = "scim-protocol",
    params(("id" = String, Path, description = "The Group's id (`team_…`)."), AttributeParams),
    responses(
        (status = 200, description = "The Group; `ETag` is its version.", content_type = "application/scim+json", body = Object, example = json!(examples::group())),
        (status = 400, description = "`invalidPath` (in `attributes`).", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 404, description = "No such Group in the token's organization.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[get("/Groups/{id}")]
pub async fn get_group(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimApiError> {
    let params = web::Query::<AttributeParams>::from_query(req.query_string()).map_err(query_error)?.into_inner();
    let projection = selection(params)?;
    let id = path.into_inner();
    let resource = run(&state, move |s| s.directory.get_group(&caller.0, &id)).await?;
    let json = projection.apply(resource.json.clone(), &orgd_domain::scim::schema::GROUP_RESOURCE);
    Ok(resource_response(StatusCode::OK, resource, json))
}

/// Replace a group's attributes. The team's name, external id and members become exactly these.
#[utoipa::path(
    tag = "scim-protocol",
    params(
        ("id" = String, Path, description = "The Group's id (`team_…`)."),
        ("If-Match" = Option<String>, Header, description = "The version (`ETag`) the change is based on."),
    ),
    request_body(content = GroupResource, content_type = "application/scim+json", description = "The whole Group resource.", example = examples::group_request),
    responses(
        (status = 200, description = "Replaced; `ETag` is the new version.", content_type = "application/scim+json", body = Object, example = json!(examples::group())),
        (status = 400, description = "`invalidSyntax`, `invalidValue` or `mutability`.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 404, description = "No such Group in the token's organization.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 409, description = "`uniqueness`: another team has this `displayName` or `externalId`.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 412, description = "`If-Match` names another version.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 413, description = "The body is larger than 4 MiB.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[put("/Groups/{id}")]
pub async fn replace_group(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    path: web::Path<String>,
    body: ScimBody,
) -> Result<HttpResponse, ScimApiError> {
    let (id, version) = (path.into_inner(), if_match(&req));
    let resource = run(&state, move |s| s.directory.replace_group(&caller.0, &id, &body.0, version.as_deref())).await?;
    let json = resource.json.clone();
    Ok(resource_response(StatusCode::OK, resource, json))
}

/// Change a group with PATCH operations (`add`, `replace`, `remove`, in any case), with or
/// without `path`, value filters included (`members[value eq \"mem_…\"]`).
#[utoipa::path(
    tag = "scim-protocol",
    params(
        ("id" = String, Path, description = "The Group's id (`team_…`)."),
        ("If-Match" = Option<String>, Header, description = "The version (`ETag`) the change is based on."),
    ),
    request_body(content = PatchOp, content_type = "application/scim+json", description = "A PatchOp message.", example = examples::group_patch),
    responses(
        (status = 200, description = "Changed; `ETag` is the new version.", content_type = "application/scim+json", body = Object, example = json!(examples::group())),
        (status = 400, description = "`invalidSyntax`, `invalidPath`, `invalidFilter`, `invalidValue`, `noTarget`, `tooMany` or `mutability`.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 404, description = "No such Group in the token's organization.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 409, description = "`uniqueness`: another team has this `displayName` or `externalId`.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 412, description = "`If-Match` names another version.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 413, description = "The body is larger than 4 MiB.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[patch("/Groups/{id}")]
pub async fn patch_group(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    path: web::Path<String>,
    body: ScimBody,
) -> Result<HttpResponse, ScimApiError> {
    let (id, version) = (path.into_inner(), if_match(&req));
    let resource = run(&state, move |s| s.directory.patch_group(&caller.0, &id, &body.0, version.as_deref())).await?;
    let json = resource.json.clone();
    Ok(resource_response(StatusCode::OK, resource, json))
}

/// Delete a team; its members stay in the organization.
#[utoipa::path(
    tag = "scim-protocol",
    params(
        ("id" = String, Path, description = "The Group's id (`team_…`)."),
        ("If-Match" = Option<String>, Header, description = "The version (`ETag`) the deletion is based on."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such Group in the token's organization.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 412, description = "`If-Match` names another version.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[delete("/Groups/{id}")]
pub async fn delete_group(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimApiError> {
    let (id, version) = (path.into_inner(), if_match(&req));
    run(&state, move |s| s.directory.delete_group(&caller.0, &id, version.as_deref())).await?;
    Ok(HttpResponse::NoContent().finish())
}
