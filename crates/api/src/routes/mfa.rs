//! The 2FA dashboard, `/v1/orgs/{org}/mfa`, and reminders to members without a second
//! factor, `/v1/orgs/{org}/mfa/reminders`.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::org::OrgRef;
use orgd_domain::policy::{MfaError, MfaMember, MfaReminders, MfaTotals, REMINDER_INTERVAL};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::common::{page, path_id, PageParams, ORG_PARAM};
use super::policies::MfaPolicyResponse;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::Errors;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_mfa_dashboard).service(send_mfa_reminders);
}

/// A member and their second factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaMemberResponse {
    #[schema(example = "mem_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub member_id: String,
    #[schema(example = "usr_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub user_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    #[schema(example = "member")]
    pub role: String,
    /// A token of theirs has proved a second factor. Identity providers report the
    /// methods of one sign-in, not enrolment, so once set this stays set.
    pub mfa_enrolled: bool,
    /// Second-factor methods seen in their tokens (RFC 8176 `amr` names).
    #[schema(example = json!(["otp", "hwk"]))]
    pub mfa_methods: Vec<String>,
    /// When they were last seen, to within five minutes.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When this organization last reminded them to set up a second factor.
    pub last_reminded_at: Option<DateTime<Utc>>,
}

impl From<MfaMember> for MfaMemberResponse {
    fn from(m: MfaMember) -> Self {
        Self {
            member_id: m.member_id.to_string(),
            user_id: m.user_id.to_string(),
            name: m.name,
            email: m.email.map(|e| e.as_str().to_owned()),
            role: m.role.to_string(),
            mfa_enrolled: m.mfa_enrolled,
            mfa_methods: m.mfa_methods,
            last_seen_at: m.last_seen_at,
            last_reminded_at: m.last_reminded_at,
        }
    }
}

/// How many members have a second factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaTotalsResponse {
    pub members: u64,
    pub enrolled: u64,
    pub not_enrolled: u64,
    /// `enrolled / members` in basis points (10000 is everyone), rounded down: 3333 is
    /// 33.33 %, and 10000 never shows while a member lacks a second factor.
    #[schema(maximum = 10000, example = 3333)]
    pub coverage_basis_points: u32,
}

impl From<MfaTotals> for MfaTotalsResponse {
    fn from(t: MfaTotals) -> Self {
        Self {
            members: t.members,
            enrolled: t.enrolled,
            not_enrolled: t.not_enrolled(),
            coverage_basis_points: t.coverage_basis_points(),
        }
    }
}

page! {
    /// A page of members with their second factor.
    MfaMemberPage of MfaMemberResponse
}

/// The 2FA dashboard: the policy, totals and a page of members.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaDashboardResponse {
    pub policy: MfaPolicyResponse,
    /// On the first page only (no `cursor`); `null` on later pages, which do not count the
    /// organization again.
    pub totals: Option<MfaTotalsResponse>,
    #[serde(flatten)]
    pub members: MfaMemberPage,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MfaDashboardParams {
    /// Only members with (`true`) or without (`false`) a second factor. Totals always
    /// count everyone.
    pub enrolled: Option<bool>,
}

/// Who in the organization has a second factor: the enforcement policy, totals and
/// members in join order, optionally only those with or without one. Totals come on the
/// first page only: counting passes over every membership of the organization.
#[utoipa::path(
    tag = "security",
    params(("org" = String, Path, description = ORG_PARAM), MfaDashboardParams, PageParams),
    responses((status = 200, body = MfaDashboardResponse), Errors<MfaError>)
)]
#[get("/orgs/{org}/mfa")]
pub async fn get_mfa_dashboard(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<MfaDashboardParams>,
    page: PageParams,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let enrolled = query.enrolled;
    let page = page.request();
    let dashboard = state.run(move |s| s.mfa.dashboard(&caller.0, &org, enrolled, page)).await?;
    Ok(HttpResponse::Ok().json(MfaDashboardResponse {
        policy: dashboard.policy.into(),
        totals: dashboard.totals.map(Into::into),
        members: MfaMemberPage::of(dashboard.members, MfaMemberResponse::from),
    }))
}

/// What a round of reminders did.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRemindersResponse {
    /// Members without a second factor who were sent a notification, and an email when
    /// they have a verified address.
    #[schema(example = 12)]
    pub reminded: u64,
    /// Of those, how many by email too.
    #[schema(example = 9)]
    pub emailed: u64,
    /// Members without a second factor left alone: reminded within the last 24 hours.
    #[schema(example = 3)]
    pub skipped: u64,
}

impl From<MfaReminders> for MfaRemindersResponse {
    fn from(r: MfaReminders) -> Self {
        Self { reminded: r.reminded, emailed: r.emailed, skipped: r.skipped }
    }
}

/// Remind every member without a second factor to set one up: an in-app notification and
/// an email (to a verified address) each, at most once a day per member. Records one
/// `security.mfa_reminders_sent` audit event with the counts.
#[utoipa::path(
    tag = "security",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, body = MfaRemindersResponse), Errors<MfaError>)
)]
#[post("/orgs/{org}/mfa/reminders")]
pub async fn send_mfa_reminders(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let sent = state.run(move |s| s.mfa.remind(&caller.0, &org)).await?;
    Ok(HttpResponse::Ok().json(MfaRemindersResponse::from(sent)))
}

// The documentation above says "24 hours" and "once a day": keep them true.
const _: () = assert!(REMINDER_INTERVAL.num_seconds() == 86_400);
