//! `/scim/v2/Users`: the organization's members as SCIM Users (the id is the member id).

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::bodies::{PatchOp, UserResource};
use super::examples;
use super::http::{
    if_match, list_response, query_error, resource_response, run, AttributeParams, ListParams, ScimApiError, ScimBody,
    ScimCaller, ScimErrorBody,
};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_users)
        .service(create_user)
        .service(get_user)
        .service(replace_user)
        .service(patch_user)
        .service(delete_user);
}

fn selection(params: AttributeParams) -> Result<orgd_domain::scim::resource::Projection, ScimApiError> {
    Ok(orgd_domain::scim::resource::Projection::parse(
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
    )?)
}

/// List users, filtered and paged. Every member is listed, also those who joined otherwise than by SCIM; `userName eq` (what identity providers probe before creating) is answered from an index.
#[utoipa::path(
    tag = "scim-protocol",
    params(ListParams),
    responses(
        (status = 200, description = "A ListResponse of users.", content_type = "application/scim+json", body = Object, example = json!(examples::user_list())),
        (status = 400, description = "`invalidFilter`, `invalidPath` (in `attributes`) or `invalidValue`.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[get("/Users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ScimApiError> {
    let params = web::Query::<ListParams>::from_query(req.query_string()).map_err(query_error)?.into_inner();
    let query = params.into_query()?;
    let page = run(&state, move |s| s.directory.list_users(&caller.0, &query)).await?;
    Ok(list_response(page))
}

/// Provision a member: a person who may never have signed in yet, linked to their sign-in the first time they sign in with this email verified. `active: false` creates them suspended.
#[utoipa::path(
    tag = "scim-protocol",
    request_body(content = UserResource, content_type = "application/scim+json", description = "A User resource.", example = examples::user_request),
    responses(
        (status = 201, description = "Created; `Location` is its address, `ETag` its version.", content_type = "application/scim+json", body = Object, example = json!(examples::user())),
        (status = 400, description = "`invalidSyntax` or `invalidValue`.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 409, description = "`uniqueness`: another member has this `userName` (or, for a member the identity provider never described, this email).", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 413, description = "The body is larger than 4 MiB.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[post("/Users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: ScimCaller,
    body: ScimBody,
) -> Result<HttpResponse, ScimApiError> {
    let resource = run(&state, move |s| s.directory.create_user(&caller.0, &body.0)).await?;
    let json = resource.json.clone();
    Ok(resource_response(StatusCode::CREATED, resource, json))
}

/// One user.
#[utoipa::path(
    tag = "scim-protocol",
    params(("id" = String, Path, description = "The User's id (`mem_…`)."), AttributeParams),
    responses(
        (status = 200, description = "The User; `ETag` is its version.", content_type = "application/scim+json", body = Object, example = json!(examples::user())),
        (status = 400, description = "`invalidPath` (in `attributes`).", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 404, description = "No such User in the token's organization.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[get("/Users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimApiError> {
    let params = web::Query::<AttributeParams>::from_query(req.query_string()).map_err(query_error)?.into_inner();
    let projection = selection(params)?;
    let id = path.into_inner();
    let resource = run(&state, move |s| s.directory.get_user(&caller.0, &id)).await?;
    let json = projection.apply(resource.json.clone(), &orgd_domain::scim::schema::USER_RESOURCE);
    Ok(resource_response(StatusCode::OK, resource, json))
}

/// Replace a user's attributes. `active: false` suspends the membership (keeping role and teams), `active: true` restores it. A member who joined otherwise is taken over by the identity provider.
#[utoipa::path(
    tag = "scim-protocol",
    params(
        ("id" = String, Path, description = "The User's id (`mem_…`)."),
        ("If-Match" = Option<String>, Header, description = "The version (`ETag`) the change is based on."),
    ),
    request_body(content = UserResource, content_type = "application/scim+json", description = "The whole User resource.", example = examples::user_request),
    responses(
        (status = 200, description = "Replaced; `ETag` is the new version.", content_type = "application/scim+json", body = Object, example = json!(examples::user())),
        (status = 400, description = "`invalidSyntax`, `invalidValue` or `mutability` (the last active owner is not deactivated).", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 404, description = "No such User in the token's organization.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 409, description = "`uniqueness`: another member has this `userName` (or, for a member the identity provider never described, this email).", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 412, description = "`If-Match` names another version.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 413, description = "The body is larger than 4 MiB.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[put("/Users/{id}")]
pub async fn replace_user(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    path: web::Path<String>,
    body: ScimBody,
) -> Result<HttpResponse, ScimApiError> {
    let (id, version) = (path.into_inner(), if_match(&req));
    let resource = run(&state, move |s| s.directory.replace_user(&caller.0, &id, &body.0, version.as_deref())).await?;
    let json = resource.json.clone();
    Ok(resource_response(StatusCode::OK, resource, json))
}

/// Change a user with PATCH operations (`add`, `replace`, `remove`, in any case), with or
/// without `path`, value filters included (`emails[type eq \"work\"].value`).
#[utoipa::path(
    tag = "scim-protocol",
    params(
        ("id" = String, Path, description = "The User's id (`mem_…`)."),
        ("If-Match" = Option<String>, Header, description = "The version (`ETag`) the change is based on."),
    ),
    request_body(content = PatchOp, content_type = "application/scim+json", description = "A PatchOp message.", example = examples::user_patch),
    responses(
        (status = 200, description = "Changed; `ETag` is the new version.", content_type = "application/scim+json", body = Object, example = json!(examples::user())),
        (status = 400, description = "`invalidSyntax`, `invalidPath`, `invalidFilter`, `invalidValue`, `noTarget`, `tooMany` or `mutability` (the last active owner is not deactivated).", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 404, description = "No such User in the token's organization.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 409, description = "`uniqueness`: another member has this `userName` (or, for a member the identity provider never described, this email).", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 412, description = "`If-Match` names another version.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 413, description = "The body is larger than 4 MiB.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[patch("/Users/{id}")]
pub async fn patch_user(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    path: web::Path<String>,
    body: ScimBody,
) -> Result<HttpResponse, ScimApiError> {
    let (id, version) = (path.into_inner(), if_match(&req));
    let resource = run(&state, move |s| s.directory.patch_user(&caller.0, &id, &body.0, version.as_deref())).await?;
    let json = resource.json.clone();
    Ok(resource_response(StatusCode::OK, resource, json))
}

/// Remove a member from the organization. An owner is never removed through SCIM (`mutability`): deactivate them with `active: false`.
#[utoipa::path(
    tag = "scim-protocol",
    params(
        ("id" = String, Path, description = "The User's id (`mem_…`)."),
        ("If-Match" = Option<String>, Header, description = "The version (`ETag`) the deletion is based on."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "`mutability`: owners are not removed through SCIM.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 404, description = "No such User in the token's organization.", content_type = "application/scim+json", body = ScimErrorBody),
        (status = 412, description = "`If-Match` names another version.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[delete("/Users/{id}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimApiError> {
    let (id, version) = (path.into_inner(), if_match(&req));
    run(&state, move |s| s.directory.delete_user(&caller.0, &id, version.as_deref())).await?;
    Ok(HttpResponse::NoContent().finish())
}
