//! Usage and spend: `/v1/orgs/{org}/usage`, `…/spend` and `…/spend/limits`. Amounts are
//! integers of micro-units of the organization's currency.

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::org::OrgRef;
use orgd_domain::spend::{
    BudgetWindow, Posture, Recorded, SpendError, SpendLimitsInput, SpendStatus, UsageInput, TEXT_PATTERN,
};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{etag, path_id, whole_number, Json, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(record_usage).service(get_spend).service(put_spend_limits);
}

fn idempotency_key() -> ObjectBuilder {
    shape::string(1, UsageInput::MAX_KEY_LEN, TEXT_PATTERN).examples([serde_json::json!("req_01J9Z3")])
}

fn label(example: &str) -> Object {
    shape::nullable(shape::string(1, UsageInput::MAX_NAME_LEN, TEXT_PATTERN).examples([example]))
}

fn model_label() -> Object {
    label("gpt-4o-mini")
}

fn feature_label() -> Object {
    label("chat")
}

/// The header a replayed usage event is answered with.
pub const REPLAYED: &str = "Idempotent-Replayed";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageRequest {
    /// Unique per event: a retry with the same key is counted once and answered with the
    /// first event; the same key with another amount, model, feature or time is refused.
    #[schema(schema_with = idempotency_key)]
    pub idempotency_key: String,
    /// The cost in micro-units (millionths) of the organization's currency.
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 1000000000000000_i64, example = 1250)]
    #[serde(deserialize_with = "whole_number")]
    pub amount_micros: Option<i64>,
    #[schema(schema_with = model_label)]
    pub model: Option<String>,
    /// What the usage was for, e.g. `chat` or `embeddings`.
    #[schema(schema_with = feature_label)]
    pub feature: Option<String>,
    /// When it happened; within the last 35 days and not ahead of the server's clock by
    /// more than 5 minutes. Absent: now.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A recorded usage event.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageEventResponse {
    #[schema(example = "use_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    #[schema(example = "req_01J9Z3")]
    pub idempotency_key: String,
    #[schema(example = 1250)]
    pub amount_micros: i64,
    pub model: Option<String>,
    pub feature: Option<String>,
    #[schema(example = crate::openapi::example::at)]
    pub occurred_at: DateTime<Utc>,
    #[schema(example = crate::openapi::example::at)]
    pub recorded_at: DateTime<Utc>,
}

impl From<Recorded> for UsageEventResponse {
    fn from(r: Recorded) -> Self {
        let e = r.event;
        Self {
            id: e.id.to_string(),
            idempotency_key: e.idempotency_key,
            amount_micros: e.amount_micros,
            model: e.model,
            feature: e.feature,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
        }
    }
}

/// How spend stands against its budget.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostureName {
    Ok,
    Warning,
    OverBudget,
    Blocked,
}

impl From<Posture> for PostureName {
    fn from(p: Posture) -> Self {
        match p {
            Posture::Ok => PostureName::Ok,
            Posture::Warning => PostureName::Warning,
            Posture::OverBudget => PostureName::OverBudget,
            Posture::Blocked => PostureName::Blocked,
        }
    }
}

/// The period a budget applies to, in the organization's time zone.
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum WindowName {
    Daily,
    /// Monday to Sunday.
    Weekly,
    Monthly,
}

impl From<BudgetWindow> for WindowName {
    fn from(w: BudgetWindow) -> Self {
        match w {
            BudgetWindow::Daily => WindowName::Daily,
            BudgetWindow::Weekly => WindowName::Weekly,
            BudgetWindow::Monthly => WindowName::Monthly,
        }
    }
}

/// Spend in the current budget window.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpendResponse {
    /// ISO 4217.
    #[schema(example = "USD")]
    pub currency: String,
    pub window: WindowName,
    /// When the window opened: local midnight in the organization's time zone.
    #[schema(example = "2026-03-01T00:00:00Z")]
    pub window_start: DateTime<Utc>,
    #[schema(example = "2026-04-01T00:00:00Z")]
    pub window_end: DateTime<Utc>,
    #[schema(example = 412500000)]
    pub spend_micros: i64,
    /// Null: no budget, the posture is always `ok`.
    pub budget_micros: Option<i64>,
    /// The share of the budget, in percent, from which the posture is `warning`.
    #[schema(example = 80)]
    pub warning_percent: u8,
    #[schema(example = 50000000)]
    pub max_overage_micros: i64,
    /// Budget less spend: negative once past the budget.
    pub remaining_micros: Option<i64>,
    /// What may still be spent before the posture is `blocked`.
    pub allowance_micros: Option<i64>,
    /// `ok`, `warning` (at or past the warning share), `over_budget` (past the budget,
    /// within the overage), `blocked` (past budget and overage).
    pub posture: PostureName,
    /// The limits' version, also the `ETag` of `…/spend/limits`.
    #[schema(example = crate::openapi::example::version)]
    pub limits_version: i64,
}

impl From<SpendStatus> for SpendResponse {
    fn from(s: SpendStatus) -> Self {
        let limits = s.limits.policy;
        Self {
            currency: limits.currency.as_str().to_owned(),
            window: limits.window.into(),
            window_start: s.window_starts_at,
            window_end: s.window_ends_at,
            spend_micros: s.spend_micros,
            budget_micros: limits.budget_micros,
            warning_percent: limits.warning_percent,
            max_overage_micros: limits.max_overage_micros,
            remaining_micros: s.remaining_micros(),
            allowance_micros: s.allowance_micros(),
            posture: s.posture.into(),
            limits_version: s.limits.version,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SpendLimitsRequest {
    /// ISO 4217 code of the amounts; default `USD`.
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// Default `monthly`.
    pub window: Option<WindowName>,
    /// The budget per window; null or absent: none.
    #[schema(minimum = 0, maximum = 1000000000000000_i64, example = 500000000)]
    #[serde(default, deserialize_with = "whole_number")]
    pub budget_micros: Option<i64>,
    /// Default 80.
    #[schema(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "whole_number")]
    pub warning_percent: Option<i64>,
    /// How far past the budget spend may go before it is `blocked`; default 0.
    #[schema(minimum = 0, maximum = 1000000000000000_i64)]
    #[serde(default, deserialize_with = "whole_number")]
    pub max_overage_micros: Option<i64>,
}

/// Record one metered usage event (an API key with `usage:write`, typically a gateway).
/// Recording never waits on the organization's audit log; when spend crosses into
/// `warning`, `over_budget` or `blocked`, that is audited and emailed to the owners, once
/// per window and level.
#[utoipa::path(
    tag = "governance",
    params(("org" = String, Path, description = ORG_PARAM)),
    request_body = UsageRequest,
    responses(
        (status = 201, description = "Recorded.", body = UsageEventResponse),
        (status = 200, description = "Recorded before under this idempotency key: the first event, counted once; `Idempotent-Replayed: true`.", body = UsageEventResponse),
        Errors<SpendError>
    )
)]
#[post("/orgs/{org}/usage")]
pub async fn record_usage(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: Json<UsageRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let b = body.into_inner();
    let input = UsageInput {
        idempotency_key: b.idempotency_key,
        // `null` is no amount: out of range like a negative one.
        amount_micros: b.amount_micros.unwrap_or(-1),
        model: b.model,
        feature: b.feature,
        occurred_at: b.occurred_at,
    };
    let recorded = state.run(move |s| s.spend.record_usage(&caller.0, &org, &input)).await?;
    let mut response = if recorded.replayed { HttpResponse::Ok() } else { HttpResponse::Created() };
    if recorded.replayed {
        response.insert_header((REPLAYED, "true"));
    }
    Ok(response.json(UsageEventResponse::from(recorded)))
}

/// Spend, budget and posture of the current budget window. Never gated by plan.
#[utoipa::path(
    tag = "governance",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, description = "The current window; `ETag` is the limits' version.", body = SpendResponse), Errors<SpendError>)
)]
#[get("/orgs/{org}/spend")]
pub async fn get_spend(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let status = state.run(move |s| s.spend.status(&caller.0, &org)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(status.limits.version)).json(SpendResponse::from(status)))
}

/// Set the budget per window, the warning share and the overage allowed. Answers the
/// current window under the new limits.
#[utoipa::path(
    tag = "governance",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("If-Match" = String, Header, description = super::common::IF_MATCH_REQUIRED),
    ),
    request_body = SpendLimitsRequest,
    responses((status = 200, description = "Saved; `ETag` is the new limits version.", body = SpendResponse), Errors<SpendError>)
)]
#[put("/orgs/{org}/spend/limits")]
pub async fn put_spend_limits(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<SpendLimitsRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    body.validate()?;
    let expected = super::common::required_if_match(&req)?;
    let b = body.into_inner();
    let input = SpendLimitsInput {
        currency: b.currency,
        window: b.window.map(|w| BudgetWindow::from(w).as_str().to_owned()),
        budget_micros: b.budget_micros,
        warning_percent: b.warning_percent,
        max_overage_micros: b.max_overage_micros,
    };
    let status = state.run(move |s| s.spend.put_limits(&caller.0, &org, &input, expected)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(status.limits.version)).json(SpendResponse::from(status)))
}

impl From<WindowName> for BudgetWindow {
    fn from(w: WindowName) -> Self {
        match w {
            WindowName::Daily => BudgetWindow::Daily,
            WindowName::Weekly => BudgetWindow::Weekly,
            WindowName::Monthly => BudgetWindow::Monthly,
        }
    }
}
