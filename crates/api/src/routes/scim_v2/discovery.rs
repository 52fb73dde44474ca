//! What the service provider supports: `ServiceProviderConfig`, `ResourceTypes`,
//! `Schemas` (RFC 7644 §4).

use actix_web::{get, web, HttpResponse};
use orgd_domain::scim::schema::{ResourceSchema, ALL, GROUP_RESOURCE, USER_RESOURCE};
use orgd_domain::scim::ListResponse;
use serde_json::{json, Value};
use utoipa_actix_web::service_config::ServiceConfig;

use super::examples;
use super::http::{run, static_response, ScimApiError, ScimCaller, ScimErrorBody};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_service_provider_config)
        .service(list_resource_types)
        .service(get_resource_type)
        .service(list_schemas)
        .service(get_schema);
}

const RESOURCES: [ResourceSchema; 2] = [USER_RESOURCE, GROUP_RESOURCE];

/// A resource type as `/ResourceTypes/{id}` returns it.
pub(super) fn resource_type(rt: &ResourceSchema, base_url: &str) -> Value {
    let mut out = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": rt.name,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": rt.core.description,
        "schema": rt.core.id,
        "meta": { "resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/{}", rt.name) },
    });
    if !rt.extensions.is_empty() {
        out["schemaExtensions"] =
            Value::Array(rt.extensions.iter().map(|e| json!({ "schema": e.id, "required": false })).collect());
    }
    out
}

fn listed(resources: Vec<Value>) -> Value {
    let total_results = resources.len() as u64;
    ListResponse { total_results, start_index: 1, resources }.to_json()
}

/// Every resource type, as `/ResourceTypes` returns them.
pub(super) fn resource_types(base_url: &str) -> Value {
    listed(RESOURCES.iter().map(|rt| resource_type(rt, base_url)).collect())
}

/// Every schema, as `/Schemas` returns them.
pub(super) fn schemas(base_url: &str) -> Value {
    listed(ALL.iter().map(|s| s.to_json(base_url)).collect())
}

/// What `/ServiceProviderConfig` returns.
pub(super) fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": orgd_domain::scim::MAX_COUNT },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "The organization's SCIM token (`orgs_…`), issued by PUT /v1/orgs/{org}/scim.",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base_url}/ServiceProviderConfig") },
    })
}

/// Checks the token: discovery is answered to the organization's identity provider only.
async fn authenticate(state: &AppState, caller: ScimCaller) -> Result<String, ScimApiError> {
    let base_url = caller.0.base_url.clone();
    run(state, move |s| s.directory.authenticate(&caller.0)).await?;
    Ok(base_url)
}

/// What this service provider supports: PATCH, filters (up to 1000 results a page),
/// ETags; no bulk, sorting or password changes.
#[utoipa::path(
    tag = "scim-protocol",
    responses(
        (status = 200, description = "The service provider's configuration.", content_type = "application/scim+json", body = Object, example = json!(examples::service_provider_config())),
    ),
    security(("scim_token" = []))
)]
#[get("/ServiceProviderConfig")]
pub async fn get_service_provider_config(
    state: web::Data<AppState>,
    caller: ScimCaller,
) -> Result<HttpResponse, ScimApiError> {
    let base_url = authenticate(&state, caller).await?;
    Ok(static_response(service_provider_config(&base_url)))
}

/// The resource types: `User` (members, with the enterprise extension) and `Group` (teams).
#[utoipa::path(
    tag = "scim-protocol",
    responses(
        (status = 200, description = "A ListResponse of the resource types.", content_type = "application/scim+json", body = Object, example = json!(examples::resource_types())),
    ),
    security(("scim_token" = []))
)]
#[get("/ResourceTypes")]
pub async fn list_resource_types(state: web::Data<AppState>, caller: ScimCaller) -> Result<HttpResponse, ScimApiError> {
    let base_url = authenticate(&state, caller).await?;
    Ok(static_response(resource_types(&base_url)))
}

/// One resource type: `User` or `Group`.
#[utoipa::path(
    tag = "scim-protocol",
    params(("id" = String, Path, description = "`User` or `Group`.")),
    responses(
        (status = 200, description = "The resource type.", content_type = "application/scim+json", body = Object, example = json!(examples::resource_type())),
        (status = 404, description = "No such resource type.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[get("/ResourceTypes/{id}")]
pub async fn get_resource_type(
    state: web::Data<AppState>,
    caller: ScimCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimApiError> {
    let base_url = authenticate(&state, caller).await?;
    let rt = RESOURCES.iter().find(|rt| rt.name == path.as_str()).ok_or_else(|| {
        ScimApiError::new(actix_web::http::StatusCode::NOT_FOUND, None, "no such resource type: `User` or `Group`")
    })?;
    Ok(static_response(resource_type(rt, &base_url)))
}

/// The schemas, attribute by attribute: exactly what is stored and returned.
#[utoipa::path(
    tag = "scim-protocol",
    responses(
        (status = 200, description = "A ListResponse of the schemas.", content_type = "application/scim+json", body = Object, example = json!(examples::schemas())),
    ),
    security(("scim_token" = []))
)]
#[get("/Schemas")]
pub async fn list_schemas(state: web::Data<AppState>, caller: ScimCaller) -> Result<HttpResponse, ScimApiError> {
    let base_url = authenticate(&state, caller).await?;
    Ok(static_response(schemas(&base_url)))
}

/// One schema, by its URN.
#[utoipa::path(
    tag = "scim-protocol",
    params(("id" = String, Path, description = "The schema's URN, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.")),
    responses(
        (status = 200, description = "The schema.", content_type = "application/scim+json", body = Object, example = json!(examples::schema())),
        (status = 404, description = "No such schema.", content_type = "application/scim+json", body = ScimErrorBody),
    ),
    security(("scim_token" = []))
)]
#[get("/Schemas/{id}")]
pub async fn get_schema(
    state: web::Data<AppState>,
    caller: ScimCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimApiError> {
    let base_url = authenticate(&state, caller).await?;
    let schema = ALL
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(path.as_str()))
        .ok_or_else(|| ScimApiError::new(actix_web::http::StatusCode::NOT_FOUND, None, "no such schema"))?;
    Ok(static_response(schema.to_json(&base_url)))
}
