//! `/v1/orgs`: organizations.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::org::{
    CreateOrg, LogoUrl, MyOrg, OrgError, OrgName, OrgRef, Organization, PostalAddress, PostalAddressInput, Slug,
    UpdateOrg,
};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{etag, if_match, nullable, page, path_id, Json, PageParams, ORG_PARAM};
use super::policies::RefusalResponse;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_org).service(list_my_orgs).service(get_org).service(update_org).service(delete_org);
}

/// A postal address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[schema(schema_with = address_line)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub line1: String,
    #[schema(schema_with = optional_address_line)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub line2: Option<String>,
    #[schema(schema_with = address_line)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub city: String,
    #[schema(schema_with = optional_address_line)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub region: Option<String>,
    #[schema(schema_with = postal_code)]
    #[validate(length(max = 100, code = "too_long"))]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[schema(schema_with = country)]
    #[validate(length(max = 10, code = "too_long"))]
    pub country: String,
}

/// Longest address line (`PostalAddress`).
const ADDRESS_LINE_MAX_CHARS: usize = 200;

fn address_line() -> Object {
    shape::name(ADDRESS_LINE_MAX_CHARS, Some(1000)).build()
}

fn optional_address_line() -> Object {
    shape::nullable(shape::optional_line(ADDRESS_LINE_MAX_CHARS, Some(1000)))
}

fn postal_code() -> Object {
    shape::nullable(shape::optional_line(ADDRESS_LINE_MAX_CHARS, Some(100)))
}

fn country() -> Object {
    shape::trimmed("[A-Za-z]{2}", Some(10)).examples(["FR"]).build()
}

fn org_name(raw_max: Option<usize>) -> ObjectBuilder {
    shape::name(OrgName::MAX_CHARS, raw_max).examples(["Acme, Inc."])
}

fn slug() -> ObjectBuilder {
    shape::string(Slug::MIN_LEN, Slug::MAX_LEN, "^[a-z0-9]+(-[a-z0-9]+)*$").examples(["acme"])
}

/// A host name of two labels or more, the last holding a letter, at most 253 characters
/// once trailing dots are dropped.
fn domain(raw_max: Option<usize>) -> Object {
    let labels = "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+\
                  (?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.*";
    let length = format!("(?=[A-Za-z0-9.-]{{1,253}}\\.*[{}]*$)", shape::SPACES);
    shape::nullable(shape::trimmed(&format!("{length}{labels}"), raw_max).examples(["acme.com"]))
}

/// An absolute http(s) URL with a host name whose last label starts with a letter (a URL
/// parser reads a host ending in a number as an IPv4 address).
const URL_PATTERN: &str = "^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\\.)*\
                           [A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?::[0-9]{1,4})?\
                           (?:/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?$";

fn logo_url() -> Object {
    shape::nullable(shape::string(10, LogoUrl::MAX_LEN, URL_PATTERN).examples(["https://cdn.acme.com/logo.png"]))
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
    #[schema(schema_with = create_name)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub name: String,
    /// URL handle; derived from the name when absent.
    #[schema(schema_with = slug_or_null)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub slug: Option<String>,
    /// Email domain of the organization.
    #[schema(schema_with = create_domain)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub domain: Option<String>,
    #[schema(schema_with = logo_url)]
    #[validate(length(max = 4096, code = "too_long"))]
    pub logo_url: Option<String>,
    /// IANA time zone name.
    #[schema(value_type = Option<shape::TimeZone>)]
    #[validate(length(max = 100, code = "too_long"))]
    pub timezone: Option<String>,
    #[validate(nested)]
    pub address: Option<Address>,
}

/// A partial update: absent fields are left alone; `null` clears an optional field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrgRequest {
    /// Cannot be cleared.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = update_name)]
    pub name: Option<Option<String>>,
    /// Cannot be cleared.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = slug_set)]
    pub slug: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = update_domain)]
    pub domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = logo_url)]
    pub logo_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<shape::TimeZone>)]
    pub timezone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Address>)]
    pub address: Option<Option<Address>>,
}

// The bounds of `CreateOrgRequest`'s validation, before the domain's own.
fn create_name() -> Object {
    org_name(Some(1000)).build()
}

fn create_domain() -> Object {
    domain(Some(1000))
}

fn update_name() -> Object {
    org_name(None).build()
}

fn update_domain() -> Object {
    domain(None)
}

fn slug_or_null() -> Object {
    shape::nullable(slug())
}

fn slug_set() -> Object {
    slug().build()
}

impl UpdateOrgRequest {
    pub(crate) fn into_input(self) -> Result<UpdateOrg, ApiError> {
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
    #[schema(example = "Acme, Inc.")]
    pub name: String,
    #[schema(example = "acme")]
    pub slug: String,
    pub domain: Option<String>,
    pub logo_url: Option<String>,
    pub timezone: Option<String>,
    pub address: Option<Address>,
    #[schema(example = crate::openapi::example::at)]
    pub created_at: DateTime<Utc>,
    #[schema(example = crate::openapi::example::at)]
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
    /// The caller's membership id; `null` for an organization platform staff reach
    /// without one (`access: staff`).
    pub member_id: Option<String>,
    #[schema(example = "owner")]
    pub role: String,
    /// How the caller reaches the organization: `direct` (member) or `staff`.
    #[schema(example = "direct")]
    pub access: String,
    /// The organization `me` resolves to (the earliest joined).
    pub is_default: bool,
    /// Catalogue permissions the caller's role lacks here; anything not listed is allowed.
    #[schema(example = json!(["billing:update"]))]
    pub denied_permissions: Vec<String>,
    /// Set when a policy of the organization refuses the caller's current sign-in: every
    /// request into it would get this problem code, until the caller does what `detail`
    /// says (e.g. signs in with 2FA, or from an allowed network).
    pub blocked_by: Option<RefusalResponse>,
}

impl From<MyOrg> for MyOrgResponse {
    fn from(mine: MyOrg) -> Self {
        MyOrgResponse {
            organization: OrgResponse::from(&mine.org),
            member_id: mine.membership.as_ref().map(|m| m.id.to_string()),
            role: mine.grant.role.to_string(),
            access: mine.grant.access.as_str().to_owned(),
            is_default: mine.is_default,
            denied_permissions: mine.grant.denied().iter().map(|p| p.as_str().to_owned()).collect(),
            blocked_by: mine.blocked_by.as_ref().map(RefusalResponse::from),
        }
    }
}

page! {
    /// A page of the caller's organizations.
    MyOrgPage of MyOrgResponse
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
        Errors<OrgError>,
    )
)]
#[post("/orgs")]
pub async fn create_org(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: Json<CreateOrgRequest>,
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
#[utoipa::path(
    tag = "organizations",
    params(PageParams),
    responses((status = 200, body = MyOrgPage), Errors<OrgError>)
)]
#[get("/orgs")]
pub async fn list_my_orgs(
    state: web::Data<AppState>,
    caller: Authenticated,
    page: PageParams,
) -> Result<HttpResponse, ApiError> {
    let page = page.request();
    let orgs = state.run(move |s| s.orgs.list_mine(&caller.0, page)).await?;
    Ok(HttpResponse::Ok().json(MyOrgPage::of(orgs, MyOrgResponse::from)))
}

/// Get an organization.
#[utoipa::path(
    tag = "organizations",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, description = "The organization; `ETag` is its version.", body = OrgResponse), Errors<OrgError>)
)]
#[get("/orgs/{org}")]
pub async fn get_org(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let view = state
        .run_from_memory(
            (caller.0, org),
            |s, (caller, org)| s.orgs.get_from_memory(caller, org),
            |s, (caller, org)| s.orgs.get(caller, org),
        )
        .await?;
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
        Errors<OrgError>,
    )
)]
#[patch("/orgs/{org}")]
pub async fn update_org(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<UpdateOrgRequest>,
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
    responses((status = 204, description = "Deleted."), Errors<OrgError>)
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
