//! `/v1/admin`: platform staff's view of every organization, and the platform audit log.
//! Anyone who is not staff (people, API keys, tokens whose staff claim is not trusted) gets
//! 404 on every route here, before their request body is read.

use std::collections::BTreeMap;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{delete, get, patch, post, put, web, FromRequest, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::audit::AuditQuery;
use orgd_domain::ids::OrgId;
use orgd_domain::platform::{AdminOrg, OrgSearchInput, PlatformAuditEvent, PlatformError, SetEntitlements};
use orgd_domain::policy::{Feature, Plan};
use orgd_domain::{AccessError, Caller, Principal};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::AdditionalProperties;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::audit::{AuditListParams, FieldChange, Party};
use super::common::{etag, if_match, page, path_id, Json, PageParams, PlatformSeq};
use super::orgs::{OrgResponse, UpdateOrgRequest};
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_orgs)
        .service(get_org)
        .service(update_org)
        .service(delete_org)
        .service(restore_org)
        .service(set_plan)
        .service(list_platform_audit);
}

const ORG_ID_PARAM: &str = "Organization id (`org_…`), deleted or not.";

/// A caller with a (trusted) staff claim. Anyone else is refused with 404 here, before
/// the request body is read; the use cases check again.
pub struct Staff(pub Caller);

fn staff(req: &HttpRequest) -> Result<Staff, ApiError> {
    let caller = crate::auth::authenticate(req)?.0;
    match &caller.principal {
        Principal::User(identity) if identity.staff.is_some() => Ok(Staff(caller)),
        _ => Err(AccessError::NotFound("resource").into()),
    }
}

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(staff(req))
    }
}

/// An organization as platform staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminOrgResponse {
    #[serde(flatten)]
    pub organization: OrgResponse,
    /// The organization's version: its `ETag`.
    #[schema(example = crate::openapi::example::version)]
    pub version: i64,
    #[schema(example = "team")]
    pub plan: &'static str,
    /// Features granted (`true`) or withheld (`false`) whatever the plan says.
    #[schema(schema_with = overrides_schema)]
    pub overrides: BTreeMap<&'static str, bool>,
    /// What the feature gates allow: the plan's features with the overrides applied.
    #[schema(example = json!(["custom_roles", "audit_export"]))]
    pub features: Vec<&'static str>,
    /// When it was soft-deleted; `null` while live.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<&AdminOrg> for AdminOrgResponse {
    fn from(o: &AdminOrg) -> Self {
        let entitlements = &o.org.entitlements;
        AdminOrgResponse {
            organization: OrgResponse::from(&o.org),
            version: o.org.version,
            plan: entitlements.plan.as_str(),
            overrides: entitlements.overrides.iter().map(|(f, on)| (f.as_str(), *on)).collect(),
            features: entitlements.features().iter().map(|f| f.as_str()).collect(),
            deleted_at: o.deleted_at,
        }
    }
}

/// Feature name → boolean, for the features of the catalogue only.
fn overrides_schema() -> Object {
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    for feature in Feature::ALL {
        object = object.property(feature.as_str(), ObjectBuilder::new().schema_type(Type::Boolean));
    }
    object.additional_properties(Some(AdditionalProperties::FreeForm(false))).build()
}

fn plan_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(Plan::ALL.iter().map(|p| p.as_str())))
}

fn plan_name() -> Object {
    plan_schema().examples(["team"]).build()
}

fn search_text() -> Object {
    shape::optional_line(orgd_domain::platform::MAX_QUERY_CHARS, Some(1000)).build()
}

page! {
    /// A page of organizations.
    AdminOrgPage of AdminOrgResponse
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct AdminOrgListParams {
    /// Case-insensitive part of the name, slug or domain, or an organization id.
    #[param(schema_with = search_text)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub q: Option<String>,
    /// Include soft-deleted organizations (default `false`).
    pub include_deleted: Option<bool>,
    /// Only organizations on this plan.
    #[param(schema_with = plan_name)]
    #[validate(length(max = 100, code = "too_long"))]
    pub plan: Option<String>,
}

fn admin_org_ok(org: &AdminOrg) -> HttpResponse {
    HttpResponse::Ok().insert_header(etag(org.org.version)).json(AdminOrgResponse::from(org))
}

/// List every organization, in creation order: search, plan filter, deleted ones on request.
#[utoipa::path(
    tag = "platform staff",
    params(AdminOrgListParams, PageParams),
    responses((status = 200, body = AdminOrgPage), Errors<PlatformError>)
)]
#[get("/admin/orgs")]
pub async fn list_orgs(
    state: web::Data<AppState>,
    caller: Staff,
    query: web::Query<AdminOrgListParams>,
    page: PageParams,
) -> Result<HttpResponse, ApiError> {
    query.validate()?;
    let query = query.into_inner();
    let input =
        OrgSearchInput { q: query.q, include_deleted: query.include_deleted.unwrap_or(false), plan: query.plan };
    let page = page.request();
    let orgs = state.run(move |s| s.platform.list_orgs(&caller.0, input, page)).await?;
    Ok(HttpResponse::Ok().json(AdminOrgPage::of(orgs, |o| AdminOrgResponse::from(&o))))
}

/// Get any organization, deleted or not. The look is recorded in its audit log.
#[utoipa::path(
    tag = "platform staff",
    // `get_org` and its kin name the organization's own operations.
    operation_id = "admin_get_org",
    params(("org" = String, Path, description = ORG_ID_PARAM)),
    responses((status = 200, description = "The organization; `ETag` is its version.", body = AdminOrgResponse), Errors<PlatformError>)
)]
#[get("/admin/orgs/{org}")]
pub async fn get_org(
    state: web::Data<AppState>,
    caller: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgId = path_id(&path, "organization")?;
    let found = state.run(move |s| s.platform.get_org(&caller.0, org)).await?;
    Ok(admin_org_ok(&found))
}

/// Update a live organization as `PATCH /v1/orgs/{org}` does (`staff_admin`). Send
/// `If-Match` with the `ETag` you read to refuse the write if someone changed it since.
#[utoipa::path(
    tag = "platform staff",
    operation_id = "admin_update_org",
    params(
        ("org" = String, Path, description = ORG_ID_PARAM),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the change is based on."),
    ),
    request_body = UpdateOrgRequest,
    responses(
        (status = 200, description = "The updated organization; `ETag` is its new version.", body = AdminOrgResponse),
        Errors<PlatformError>,
    )
)]
#[patch("/admin/orgs/{org}")]
pub async fn update_org(
    state: web::Data<AppState>,
    caller: Staff,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<UpdateOrgRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgId = path_id(&path, "organization")?;
    let expected = if_match(&req)?;
    let input = body.into_inner().into_input()?;
    let updated = state.run(move |s| s.platform.update_org(&caller.0, org, input, expected)).await?;
    Ok(admin_org_ok(&updated))
}

/// Soft-delete a live organization, as its owner would (`staff_admin`).
#[utoipa::path(
    tag = "platform staff",
    operation_id = "admin_delete_org",
    params(("org" = String, Path, description = ORG_ID_PARAM)),
    responses((status = 204, description = "Deleted; restorable."), Errors<PlatformError>)
)]
#[delete("/admin/orgs/{org}")]
pub async fn delete_org(
    state: web::Data<AppState>,
    caller: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgId = path_id(&path, "organization")?;
    state.run(move |s| s.platform.delete_org(&caller.0, org)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Undo a soft delete (`staff_admin`). Refused (409) when the organization is not deleted,
/// or when a live organization took its name or slug meanwhile. Domains it released when
/// deleted stay released.
#[utoipa::path(
    tag = "platform staff",
    params(("org" = String, Path, description = ORG_ID_PARAM)),
    responses((status = 200, description = "The restored organization.", body = AdminOrgResponse), Errors<PlatformError>)
)]
#[post("/admin/orgs/{org}/restore")]
pub async fn restore_org(
    state: web::Data<AppState>,
    caller: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgId = path_id(&path, "organization")?;
    let restored = state.run(move |s| s.platform.restore_org(&caller.0, org)).await?;
    Ok(admin_org_ok(&restored))
}

/// A plan and entitlement overrides, replacing the current ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    #[schema(schema_with = plan_name)]
    pub plan: String,
    /// Features granted (`true`) or withheld (`false`) whatever the plan says; absent ones
    /// follow the plan. Omit or send `{}` for none.
    #[serde(default)]
    #[schema(schema_with = overrides_schema)]
    pub overrides: BTreeMap<String, bool>,
}

/// Set a live organization's plan and entitlement overrides (`staff_admin`): what its
/// feature gates allow from the next request on.
#[utoipa::path(
    tag = "platform staff",
    params(
        ("org" = String, Path, description = ORG_ID_PARAM),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the change is based on."),
    ),
    request_body = PlanRequest,
    responses(
        (status = 200, description = "The organization; `ETag` is its new version.", body = AdminOrgResponse),
        Errors<PlatformError>,
    )
)]
#[put("/admin/orgs/{org}/plan")]
pub async fn set_plan(
    state: web::Data<AppState>,
    caller: Staff,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<PlanRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgId = path_id(&path, "organization")?;
    let expected = if_match(&req)?;
    let body = body.into_inner();
    let input = SetEntitlements { plan: body.plan, overrides: body.overrides };
    let updated = state.run(move |s| s.platform.set_entitlements(&caller.0, org, input, expected)).await?;
    Ok(admin_org_ok(&updated))
}

/// One record of the platform audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformAuditEventResponse {
    #[schema(example = "evt_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    /// Position in the platform log: newer records have larger numbers.
    #[schema(example = 42)]
    pub seq: i64,
    #[schema(example = "org.plan_changed")]
    pub action: String,
    pub actor: Party,
    /// The organization acted on; its own audit log holds the same record.
    pub org_id: Option<String>,
    pub target: Party,
    /// The fields the change touched, by name; for `staff.accessed`, the route looked at
    /// (`route`).
    #[schema(value_type = BTreeMap<String, FieldChange>, example = json!({"plan": {"from": "team", "to": "enterprise"}}))]
    pub changes: Value,
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(example = "2026-03-02T09:30:00.000000Z")]
    pub occurred_at: DateTime<Utc>,
}

impl From<PlatformAuditEvent> for PlatformAuditEventResponse {
    fn from(e: PlatformAuditEvent) -> Self {
        Self {
            id: e.id.to_string(),
            seq: e.seq,
            action: e.action,
            actor: Party { kind: e.actor_type, id: e.actor_id },
            org_id: e.org_id.map(|o| o.to_string()),
            target: Party { kind: e.target_type, id: e.target_id },
            changes: e.changes,
            request_id: e.request_id,
            client_ip: e.client_ip.map(|ip| ip.to_string()),
            user_agent: e.user_agent,
            occurred_at: e.occurred_at,
        }
    }
}

page! {
    /// A page of the platform audit log, newest first.
    PlatformAuditPage of PlatformAuditEventResponse
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlatformAuditParams {
    /// Only records about this organization (`org_…`).
    #[param(pattern = "^org_[0-9a-f]{32}$")]
    pub org: Option<String>,
}

/// Read the platform audit log, newest first: plan changes, restores, staff changes to
/// organizations and every staff look into one.
#[utoipa::path(
    tag = "platform staff",
    params(PlatformAuditParams, AuditListParams, PageParams<PlatformSeq>),
    responses((status = 200, body = PlatformAuditPage), Errors<PlatformError>)
)]
#[get("/admin/audit-log")]
pub async fn list_platform_audit(
    state: web::Data<AppState>,
    caller: Staff,
    scope: web::Query<PlatformAuditParams>,
    query: web::Query<AuditListParams>,
    page: PageParams<PlatformSeq>,
) -> Result<HttpResponse, ApiError> {
    query.validate()?;
    let org = match scope.into_inner().org {
        Some(raw) => Some(raw.parse::<OrgId>().map_err(|_| {
            orgd_domain::Invalid::field("org", "invalid_id", "an organization id, `org_` and 32 hex digits")
        })?),
        None => None,
    };
    let params = query.into_inner();
    let filter = AuditQuery {
        action: params.action,
        actor: params.actor,
        target: params.target,
        since: params.since,
        until: params.until,
    };
    let before = page.from.map(|seq| seq.0);
    let limit = i64::from(page.limit);
    let page = state.run(move |s| s.platform.list_audit(&caller.0, org, filter, before, limit)).await?;
    let data = page.events.into_iter().map(PlatformAuditEventResponse::from).collect();
    Ok(HttpResponse::Ok().json(PlatformAuditPage::new(data, page.next_before.map(PlatformSeq))))
}
