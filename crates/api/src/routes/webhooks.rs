//! `/v1/orgs/{org}/webhooks`: endpoints the organization's events are pushed to, their
//! deliveries, and re-sending one.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::ids::{DeliveryId, WebhookId};
use orgd_domain::org::OrgRef;
use orgd_domain::webhooks::{
    CreatedWebhook, Delivery, NewWebhook, Webhook, WebhookError, WebhookPatch, MAX_DESCRIPTION_CHARS, MAX_URL_CHARS,
    SECRET_OVERLAP_MAX_HOURS,
};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Type};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{etag, if_match, nullable, org_and, page, path_id, whole_number, Json, PageParams, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_webhook)
        .service(list_webhooks)
        .service(get_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(rotate_webhook_secret)
        .service(list_deliveries)
        .service(redeliver);
}

const WEBHOOK_PARAM: &str = "Webhook id (`whk_…`).";
const DELIVERY_PARAM: &str = "Delivery id (`dlv_…`).";
/// An event type, or a prefix of them ending in `.*`.
const EVENT_TYPE_PATTERN: &str = r"^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$";

fn url_builder() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_URL_CHARS))
        .description(Some("An https URL (http only where the operator allows internal destinations)."))
        .examples(["https://hooks.acme.com/orgd"])
}

fn url_schema() -> Object {
    url_builder().build()
}

fn url_or_null() -> Object {
    shape::nullable(url_builder())
}

fn event_types_builder() -> ArrayBuilder {
    let item = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(orgd_domain::events::MAX_TYPE_CHARS))
        .pattern(Some(EVENT_TYPE_PATTERN));
    ArrayBuilder::new()
        .items(item)
        .max_items(Some(orgd_domain::events::MAX_TYPES))
        .description(Some("Event types (`team.created`) or prefixes of them (`team.*`); every event when empty."))
}

fn event_types_schema() -> utoipa::openapi::schema::Array {
    event_types_builder().build()
}

fn event_types_or_null() -> utoipa::openapi::schema::Array {
    let mut array = event_types_builder().build();
    array.schema_type = utoipa::openapi::schema::SchemaType::from_iter([Type::Array, Type::Null]);
    array
}

fn description_schema() -> Object {
    shape::nullable(shape::description(MAX_DESCRIPTION_CHARS, Some(1000)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    #[schema(example = "whk_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    #[schema(example = "https://hooks.acme.com/orgd")]
    pub url: String,
    #[schema(example = json!(["organization.membership.created", "team.updated"]))]
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Why the service turned it off: `gone` (it answered 410) or `failing` (three days of
    /// failed deliveries); `null` when enabled or turned off by a person.
    pub disabled_reason: Option<String>,
    /// Until when the previous signing secret still signs beside the current one.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Bumped by every change; also the `ETag`.
    #[schema(example = crate::openapi::example::version)]
    pub version: i64,
    #[schema(example = crate::openapi::example::at)]
    pub created_at: DateTime<Utc>,
    #[schema(example = crate::openapi::example::at)]
    pub updated_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookResponse {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id.to_string(),
            url: w.url,
            event_types: w.event_types,
            description: w.description,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
            previous_secret_expires_at: w.secrets.previous.map(|(_, until)| until),
            version: w.version,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A webhook with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it (Standard Webhooks).
    /// Store it now: it cannot be shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl From<CreatedWebhook> for WebhookWithSecret {
    fn from(c: CreatedWebhook) -> Self {
        Self { webhook: c.webhook.into(), secret: c.secret }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub data: Vec<WebhookResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResponse {
    #[schema(example = crate::openapi::example::at)]
    pub at: DateTime<Utc>,
    /// The endpoint's status; `null` when none came.
    pub status: Option<u16>,
    /// The start of the answer (512 bytes), or why there was none.
    #[schema(example = "HTTP 503 from the endpoint")]
    pub detail: String,
    #[schema(example = 412)]
    pub duration_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    #[schema(example = "dlv_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    /// The event, also the `webhook-id` of every attempt.
    #[schema(example = "evt_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub event_id: String,
    #[schema(example = "organization.membership.created")]
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    #[schema(example = "pending")]
    pub status: &'static str,
    /// The latest 50, oldest first.
    pub attempts: Vec<AttemptResponse>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[schema(example = crate::openapi::example::at)]
    pub created_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type,
            status: d.status.as_str(),
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptResponse { at: a.at, status: a.status, detail: a.detail, duration_ms: a.duration_ms })
                .collect(),
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
        }
    }
}

page! {
    /// A page of a webhook's deliveries, newest first.
    DeliveryPage of DeliveryResponse
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    #[schema(schema_with = url_schema)]
    #[validate(length(max = 2048, code = "too_long"))]
    pub url: String,
    #[serde(default)]
    #[schema(schema_with = event_types_schema)]
    #[validate(length(max = 50, code = "too_many"))]
    pub event_types: Vec<String>,
    #[schema(schema_with = description_schema)]
    #[validate(length(max = 1000, code = "too_long"))]
    pub description: Option<String>,
    /// Default `true`.
    pub enabled: Option<bool>,
}

/// Absent (or `null`) fields are kept, but `null` clears the description.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    #[schema(schema_with = url_or_null)]
    #[validate(length(max = 2048, code = "too_long"))]
    pub url: Option<String>,
    #[schema(schema_with = event_types_or_null)]
    #[validate(length(max = 50, code = "too_many"))]
    pub event_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = description_schema)]
    pub description: Option<Option<String>>,
    /// Turning it back on clears `disabled_reason`.
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the old secret keeps signing beside the new one, 0 to 72 (default 24).
    #[schema(minimum = 0, maximum = 72, example = 24)]
    #[serde(default, deserialize_with = "whole_number")]
    #[validate(range(min = 0, max = 72, code = "out_of_range"))]
    pub overlap_hours: Option<i64>,
}

fn webhook_path(path: &(String, String)) -> Result<(OrgRef, WebhookId), ApiError> {
    org_and(&path.0, &path.1, "webhook")
}

/// Register an endpoint (`webhooks:manage`). Events of the chosen types are delivered to it
/// as Standard Webhooks requests signed with the secret in the answer, which is shown only
/// this once. The URL must reach the public internet.
#[utoipa::path(
    tag = "webhooks",
    params(("org" = String, Path, description = ORG_PARAM)),
    request_body = CreateWebhookRequest,
    responses((status = 201, body = WebhookWithSecret), Errors<WebhookError>)
)]
#[post("/orgs/{org}/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: Json<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    body.validate()?;
    let body = body.into_inner();
    let input = NewWebhook {
        url: body.url,
        event_types: body.event_types,
        description: body.description,
        enabled: body.enabled,
    };
    let created = state.run(move |s| s.webhooks.create(&caller.0, &org, input)).await?;
    let response = WebhookWithSecret::from(created);
    Ok(HttpResponse::Created().insert_header(etag(response.webhook.version)).json(response))
}

/// The organization's webhooks (`webhooks:manage`).
#[utoipa::path(
    tag = "webhooks",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, body = WebhookList), Errors<WebhookError>)
)]
#[get("/orgs/{org}/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let all = state.run(move |s| s.webhooks.list(&caller.0, &org)).await?;
    Ok(HttpResponse::Ok().json(WebhookList { data: all.into_iter().map(WebhookResponse::from).collect() }))
}

/// One webhook (`webhooks:manage`).
#[utoipa::path(
    tag = "webhooks",
    params(("org" = String, Path, description = ORG_PARAM), ("webhook" = String, Path, description = WEBHOOK_PARAM)),
    responses((status = 200, description = "The webhook; `ETag` is its version.", body = WebhookResponse), Errors<WebhookError>)
)]
#[get("/orgs/{org}/webhooks/{webhook}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = webhook_path(&path)?;
    let webhook = state.run(move |s| s.webhooks.get(&caller.0, &org, id)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(webhook.version)).json(WebhookResponse::from(webhook)))
}

/// Change a webhook's URL, event types, description, or whether it is enabled.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("webhook" = String, Path, description = WEBHOOK_PARAM),
        ("If-Match" = Option<String>, Header, description = "The webhook's `version` the change is based on."),
    ),
    request_body = UpdateWebhookRequest,
    responses((status = 200, description = "The webhook; `ETag` is its new version.", body = WebhookResponse), Errors<WebhookError>)
)]
#[patch("/orgs/{org}/webhooks/{webhook}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Json<UpdateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = webhook_path(&path)?;
    body.validate()?;
    let body = body.into_inner();
    let patch = WebhookPatch {
        url: body.url,
        event_types: body.event_types,
        description: body.description,
        enabled: body.enabled,
        if_match: if_match(&req)?,
    };
    let webhook = state.run(move |s| s.webhooks.update(&caller.0, &org, id, patch)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(webhook.version)).json(WebhookResponse::from(webhook)))
}

/// Delete a webhook and its deliveries.
#[utoipa::path(
    tag = "webhooks",
    params(("org" = String, Path, description = ORG_PARAM), ("webhook" = String, Path, description = WEBHOOK_PARAM)),
    responses((status = 204, description = "Deleted."), Errors<WebhookError>)
)]
#[delete("/orgs/{org}/webhooks/{webhook}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = webhook_path(&path)?;
    state.run(move |s| s.webhooks.delete(&caller.0, &org, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new signing secret, shown this once. For `overlap_hours` deliveries carry a signature
/// with each of the new and the old secret (`webhook-signature: v1,… v1,…`), so the receiver
/// can switch over without refusing any.
#[utoipa::path(
    tag = "webhooks",
    params(("org" = String, Path, description = ORG_PARAM), ("webhook" = String, Path, description = WEBHOOK_PARAM)),
    request_body = RotateSecretRequest,
    responses((status = 200, body = WebhookWithSecret), Errors<WebhookError>)
)]
#[post("/orgs/{org}/webhooks/{webhook}/rotate-secret")]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    body: Json<RotateSecretRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = webhook_path(&path)?;
    body.validate()?;
    let overlap = body.into_inner().overlap_hours.unwrap_or(24).min(SECRET_OVERLAP_MAX_HOURS);
    let rotated = state.run(move |s| s.webhooks.rotate_secret(&caller.0, &org, id, overlap)).await?;
    let response = WebhookWithSecret::from(rotated);
    Ok(HttpResponse::Ok().insert_header(etag(response.webhook.version)).json(response))
}

/// The webhook's deliveries, newest first, with their attempts and the endpoint's answers.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("webhook" = String, Path, description = WEBHOOK_PARAM),
        PageParams,
    ),
    responses((status = 200, body = DeliveryPage), Errors<WebhookError>)
)]
#[get("/orgs/{org}/webhooks/{webhook}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
    page: PageParams,
) -> Result<HttpResponse, ApiError> {
    let (org, id) = webhook_path(&path)?;
    let page = page.request();
    let deliveries = state.run(move |s| s.webhooks.deliveries(&caller.0, &org, id, page)).await?;
    Ok(HttpResponse::Ok().json(DeliveryPage::of(deliveries, DeliveryResponse::from)))
}

/// Send a delivery again, at once, whatever became of it. The receiver gets the same
/// `webhook-id`, so one that processed it already can tell.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("webhook" = String, Path, description = WEBHOOK_PARAM),
        ("delivery" = String, Path, description = DELIVERY_PARAM),
    ),
    responses((status = 200, description = "Pending again.", body = DeliveryResponse), Errors<WebhookError>)
)]
#[post("/orgs/{org}/webhooks/{webhook}/deliveries/{delivery}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, webhook): (OrgRef, WebhookId) = org_and(&path.0, &path.1, "webhook")?;
    let delivery: DeliveryId = path_id(&path.2, "delivery")?;
    let pending = state.run(move |s| s.webhooks.redeliver(&caller.0, &org, webhook, delivery)).await?;
    Ok(HttpResponse::Ok().json(DeliveryResponse::from(pending)))
}
