//! `/v1/orgs`: organizations.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use domain::org::{CreateOrg, MyOrg, OrgRef, Organization, PostalAddress, PostalAddressInput, UpdateOrg};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{etag, if_match, nullable, path_id, ListResponse, PageParams, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_org).service(list_my_orgs).service(get_org).service(update_org).service(delete_org);
}

/// A postal address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[validate(length(max = 1000, code = "too_long"))]
    pub line1: String,
    #[validate(length(max = 1000, code = "too_long"))]
    pub line2: Option<String>,
    #[validate(length(max = 1000, code = "too_long"))]
    pub city: String,
    #[validate(length(max = 1000, code = "too_long"))]
    pub region: Option<String>,
    #[validate(length(max = 100, code = "too_long"))]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[schema(example = "FR")]
    #[validate(length(max = 10, code = "too_long"))]
    pub country: String,
}

impl From<Address> for PostalAddressInput {
    fn from(a: Address) -> Self {
        PostalAddressInput {
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

impl From<&PostalAddress> for Address {
    fn from(a: &PostalAddress) -> Self {
        Address {
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    /// Display name, unique among organizations (case-insensitive); 1 to 100 characters.
    #[schema(example = "Acme, Inc.")]
    #[validate(length(max = 1000, code = "too_long"))]
    pub name: String,
    /// URL handle; derived from the name when absent.
    #[schema(example = "acme")]
    #[validate(length(max = 1000, code = "too_long"))]
    pub slug: Option<String>,
    /// Email domain of the organization.
    #[schema(example = "acme.com")]
    #[validate(length(max = 1000, code = "too_long"))]
    pub domain: Option<String>,
    #[schema(example = "https://cdn.acme.com/logo.png")]
    #[validate(length(max = 4096, code = "too_long"))]
    pub logo_url: Option<String>,
    /// IANA time zone name.
    #[schema(example = "Europe/Paris")]
    #[validate(length(max = 100, code = "too_long"))]
    pub timezone: Option<String>,
    #[validate(nested)]
    pub address: Option<Address>,
}

/// A partial update: absent fields are left alone; `null` clears an optional field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgRequest {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub slug: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub logo_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub timezone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Address>)]
    pub address: Option<Option<Address>>,
}

impl UpdateOrgRequest {
    fn into_input(self) -> Result<UpdateOrg, ApiError> {
        if let Some(Some(address)) = &self.address {
            address.validate().map_err(|e| {
                let mut nested = validator::ValidationErrors::new();
                nested.errors_mut().insert("address".into(), validator::ValidationErrorsKind::Struct(Box::new(e)));
                ApiError::from(nested)
            })?;
        }
        Ok(UpdateOrg {
            name: self.name.into(),
            slug: self.slug.into(),
            domain: self.domain.into(),
            logo_url: self.logo_url.into(),
            timezone: self.timezone.into(),
            address: self.address.map(|a| a.map(PostalAddressInput::from)).into(),
        })
    }
}

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgResponse {
    #[schema(example = "org_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    pub name: String,
    pub slug: String,
    pub domain: Option<String>,
    pub logo_url: Option<String>,
    pub timezone: Option<String>,
    pub address: Option<Address>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Organization> for OrgResponse {
    fn from(org: &Organization) -> Self {
        OrgResponse {
            id: org.id.to_string(),
            name: org.name.as_str().to_owned(),
            slug: org.slug.as_str().to_owned(),
            domain: org.domain.as_ref().map(|d| d.as_str().to_owned()),
            logo_url: org.logo_url.as_ref().map(|u| u.as_str().to_owned()),
            timezone: org.timezone.map(|t| t.as_str().to_owned()),
            address: org.address.as_ref().map(Address::from),
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// One of the caller's organizations, with the caller's place in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyOrgResponse {
    pub organization: OrgResponse,
    /// The caller's membership id.
    pub member_id: String,
    #[schema(example = "owner")]
    pub role: String,
    /// How the caller reaches the organization: `direct` (member) or `staff`.
    #[schema(example = "direct")]
    pub access: String,
    /// The organization `me` resolves to (the earliest joined).
    pub is_default: bool,
    /// Catalogue permissions the caller's role lacks here; anything not listed is allowed.
    pub denied_permissions: Vec<String>,
}

impl From<MyOrg> for MyOrgResponse {
    fn from(mine: MyOrg) -> Self {
        MyOrgResponse {
            organization: OrgResponse::from(&mine.org),
            member_id: mine.membership.id.to_string(),
            role: mine.grant.role.to_string(),
            access: mine.grant.access.as_str().to_owned(),
            is_default: mine.is_default,
            denied_permissions: mine.grant.denied().iter().map(|p| p.as_str().to_owned()).collect(),
        }
    }
}

fn org_ok(status: actix_web::http::StatusCode, org: &Organization) -> HttpResponse {
    HttpResponse::build(status).insert_header(etag(org.version)).json(OrgResponse::from(org))
}

/// Create an organization; the caller becomes its owner.
#[utoipa::path(
    tag = "organizations",
    request_body = CreateOrgRequest,
    responses(
        (status = 201, description = "Created. `Location` names it, `ETag` is its version.", body = OrgResponse),
        (status = 409, description = "`org_name_taken` or `org_slug_taken`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, with every bad field.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orgs")]
pub async fn create_org(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<CreateOrgRequest>,
) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let body = body.into_inner();
    let input = CreateOrg {
        name: body.name,
        slug: body.slug,
        domain: body.domain,
        logo_url: body.logo_url,
        timezone: body.timezone,
        address: body.address.map(PostalAddressInput::from),
    };
    let created = state.run(move |s| s.orgs.create(&caller.0, input)).await?;
    let mut response = org_ok(actix_web::http::StatusCode::CREATED, &created.org);
    if let Ok(location) = header::HeaderValue::from_str(&format!("/v1/orgs/{}", created.org.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// List the caller's organizations, in the order joined.
#[utoipa::path(tag = "organizations", params(PageParams), responses((status = 200, body = ListResponse<MyOrgResponse>)))]
#[get("/orgs")]
pub async fn list_my_orgs(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page_request()?;
    let orgs = state.run(move |s| s.orgs.list_mine(&caller.0, page)).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(orgs, MyOrgResponse::from)))
}

/// Get an organization.
#[utoipa::path(
    tag = "organizations",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, description = "The organization; `ETag` is its version.", body = OrgResponse))
)]
#[get("/orgs/{org}")]
pub async fn get_org(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let view = state.run(move |s| s.orgs.get(&caller.0, &org)).await?;
    Ok(org_ok(actix_web::http::StatusCode::OK, &view.org))
}

/// Update an organization partially. Send `If-Match` with the `ETag` you read to refuse
/// the write if someone changed it since.
#[utoipa::path(
    tag = "organizations",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the change is based on."),
    ),
    request_body = UpdateOrgRequest,
    responses(
        (status = 200, description = "The updated organization; `ETag` is its new version.", body = OrgResponse),
        (status = 409, description = "`org_name_taken` or `org_slug_taken`.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`: the organization changed since the `If-Match` version.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, with every bad field.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/orgs/{org}")]
pub async fn update_org(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<UpdateOrgRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let expected = if_match(&req)?;
    let input = body.into_inner().into_input()?;
    let view = state.run(move |s| s.orgs.update(&caller.0, &org, input, expected)).await?;
    Ok(org_ok(actix_web::http::StatusCode::OK, &view.org))
}

/// Delete an organization (soft: platform staff can restore it). It disappears from every
/// read at once and its name becomes free.
#[utoipa::path(
    tag = "organizations",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 204, description = "Deleted."))
)]
#[delete("/orgs/{org}")]
pub async fn delete_org(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    state.run(move |s| s.orgs.delete(&caller.0, &org)).await?;
    Ok(HttpResponse::NoContent().finish())
}
