//! `GET /v1/orgs/{org}/dashboard`: aggregate figures, each section only for who may read
//! its source.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::dashboard::{Dashboard, DashboardError};
use orgd_domain::org::OrgRef;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::common::{path_id, ORG_PARAM};
use super::spend::SpendResponse;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::Errors;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_dashboard);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleCount {
    pub role: String,
    /// Members holding the role, suspended ones included.
    pub members: i64,
    pub suspended: i64,
}

/// Needs `members:read`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembersSection {
    pub total: i64,
    /// Deactivated by the identity provider (SCIM), kept with their role.
    pub suspended: i64,
    /// Roles in key order; roles nobody holds are left out.
    pub by_role: Vec<RoleCount>,
}

/// Needs `security:read`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaSection {
    pub members: i64,
    /// Members who have set up a second factor.
    pub enrolled: i64,
    /// `enrolled / members` in basis points: 10000 is everyone.
    #[schema(minimum = 0, maximum = 10000)]
    pub coverage_bp: i64,
    /// The organization enforces 2FA.
    pub enforced: bool,
}

/// Needs `invites:read`.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitesSection {
    /// Usable: neither revoked, expired nor used up.
    pub pending: i64,
}

/// Needs `teams:read`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamsSection {
    pub total: i64,
}

/// Needs `api_keys:manage`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeysSection {
    /// Neither revoked nor expired.
    pub active: i64,
    pub expiring_within_7_days: i64,
}

/// Needs `audit:read`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditSection {
    pub events_last_30_days: i64,
}

/// The organization at a glance. A section is absent when the caller may not read its
/// source.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<MembersSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invites: Option<InvitesSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teams: Option<TeamsSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_keys: Option<ApiKeysSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditSection>,
    /// Needs `billing:read`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spend: Option<SpendResponse>,
    #[schema(example = crate::openapi::example::at)]
    pub generated_at: DateTime<Utc>,
}

impl From<Dashboard> for DashboardResponse {
    fn from(d: Dashboard) -> Self {
        Self {
            members: d.members.map(|m| MembersSection {
                total: m.total,
                suspended: m.suspended,
                by_role: m
                    .by_role
                    .into_iter()
                    .map(|r| RoleCount { role: r.role.to_string(), members: r.members, suspended: r.suspended })
                    .collect(),
            }),
            mfa: d.mfa.map(|m| MfaSection {
                members: m.members,
                enrolled: m.enrolled,
                coverage_bp: m.coverage_bp,
                enforced: m.enforced,
            }),
            invites: d.invites.map(|i| InvitesSection { pending: i.pending }),
            teams: d.teams.map(|t| TeamsSection { total: t.total }),
            api_keys: d
                .api_keys
                .map(|k| ApiKeysSection { active: k.active, expiring_within_7_days: k.expiring_within_7_days }),
            audit: d.audit.map(|a| AuditSection { events_last_30_days: a.events_last_30_days }),
            spend: d.spend.map(Into::into),
            generated_at: d.generated_at,
        }
    }
}

/// The organization's dashboard: members by role, 2FA coverage, pending invites, teams,
/// API keys, recent audit activity and spend posture, each section shown only to a caller
/// who may read its source. Every figure is a counter or an index range: reading it costs
/// the same for ten members as for a million.
#[utoipa::path(
    tag = "organizations",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, description = "The sections the caller may read.", body = DashboardResponse), Errors<DashboardError>)
)]
#[get("/orgs/{org}/dashboard")]
pub async fn get_dashboard(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let dashboard = state.run(move |s| s.dashboard.get(&caller.0, &org)).await?;
    Ok(HttpResponse::Ok().json(DashboardResponse::from(dashboard)))
}
