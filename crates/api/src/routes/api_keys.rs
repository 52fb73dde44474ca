//! `/v1/orgs/{org}/api-keys`: organization API keys.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::apikey::{ApiKey, ApiKeyError, CreateApiKey};
use orgd_domain::authz::Permission;
use orgd_domain::ids::ApiKeyId;
use orgd_domain::org::OrgRef;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{org_and, page, path_id, Json, PageParams, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_api_key).service(list_api_keys).service(revoke_api_key);
}

/// An API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    #[schema(example = "key_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    #[schema(example = "CI deploys")]
    pub name: String,
    /// Start and end of the secret, to tell keys apart.
    #[schema(example = "orgk_Ab3d…9xQz")]
    pub hint: String,
    #[schema(example = json!(["members:read"]))]
    pub permissions: Vec<&'static str>,
    /// `user` or `api_key`, and its id.
    #[schema(example = crate::openapi::example::user)]
    pub created_by: String,
    #[schema(example = crate::openapi::example::at)]
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyResponse {
    fn from(key: ApiKey) -> Self {
        ApiKeyResponse {
            id: key.id.to_string(),
            name: key.name,
            hint: key.hint,
            permissions: key.permissions.iter().map(Permission::as_str).collect(),
            created_by: key.created_by.id(),
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

/// A new key, with its secret: shown this once, never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyResponse,
    /// Send as `Authorization: Bearer <secret>`. Store it now: it cannot be shown again.
    #[schema(example = "orgk_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z0a9xQz")]
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    #[schema(schema_with = key_name)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub name: String,
    /// Catalogue permission names; none may exceed the caller's own.
    #[schema(value_type = Vec<shape::Permission>, min_items = 1, max_items = 200, example = json!(["members:read"]))]
    #[validate(length(min = 1, max = 200))]
    pub permissions: Vec<String>,
    /// When the key stops working; never, when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Longest key name (`apikey::parse_name`).
const NAME_MAX_CHARS: usize = 100;

fn key_name() -> Object {
    shape::name(NAME_MAX_CHARS, Some(1000)).examples(["CI deploys"]).build()
}

page! {
    /// A page of API keys.
    ApiKeyPage of ApiKeyResponse
}

/// Create an API key. The response holds its secret, shown only this once.
#[utoipa::path(
    tag = "api keys",
    params(("org" = String, Path, description = ORG_PARAM)),
    request_body = CreateApiKeyRequest,
    responses((status = 201, body = CreatedApiKey), Errors<ApiKeyError>)
)]
#[post("/orgs/{org}/api-keys")]
pub async fn create_api_key(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: Json<CreateApiKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    body.validate()?;
    let body = body.into_inner();
    let input = CreateApiKey { name: body.name, permissions: body.permissions, expires_at: body.expires_at };
    let issued = state.run(move |s| s.api_keys.create(&caller.0, &org, input)).await?;
    Ok(HttpResponse::Created().json(CreatedApiKey { key: issued.key.into(), secret: issued.token }))
}

/// List the organization's API keys, newest first. Secrets are never shown.
#[utoipa::path(
    tag = "api keys",
    params(("org" = String, Path, description = ORG_PARAM), PageParams),
    responses((status = 200, body = ApiKeyPage), Errors<ApiKeyError>)
)]
#[get("/orgs/{org}/api-keys")]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    page: PageParams,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let page = page.request();
    let keys = state.run(move |s| s.api_keys.list(&caller.0, &org, page)).await?;
    Ok(HttpResponse::Ok().json(ApiKeyPage::of(keys, ApiKeyResponse::from)))
}

/// Revoke an API key: it stops working at once.
#[utoipa::path(
    tag = "api keys",
    params(("org" = String, Path, description = ORG_PARAM), ("key" = String, Path, description = "API key id (`key_…`).")),
    responses((status = 204, description = "Revoked (or already revoked)."), Errors<ApiKeyError>)
)]
#[delete("/orgs/{org}/api-keys/{key}")]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id): (OrgRef, ApiKeyId) = org_and(&path.0, &path.1, "API key")?;
    state.run(move |s| s.api_keys.revoke(&caller.0, &org, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
