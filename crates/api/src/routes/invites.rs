//! Invitations: `/v1/orgs/{org}/invites` for the inviting side, `/v1/invites/{token}` for
//! the invited.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::ids::{InviteId, TeamId};
use domain::invite::{CreateInvite, InviteStatus, InviteView};
use domain::org::OrgRef;
use infra::secrets::is_well_formed_invite;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{org_and, page_request, path_id, ListResponse, ORG_PARAM};
use super::orgs::OrgResponse;
use crate::auth::Authenticated;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_invite)
        .service(list_invites)
        .service(resend_invite)
        .service(revoke_invite)
        .service(preview_invite)
        .service(accept_invite);
}

const INVITE_PARAM: &str = "Invite id (`inv_…`).";
const TOKEN_PARAM: &str = "The invite's secret (`orgi_…`), from its link.";

#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionResponse {
    pub member_id: String,
    pub user_id: String,
    pub redeemed_at: DateTime<Utc>,
}

/// An invite, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteResponse {
    #[schema(example = "inv_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    /// `pending`, `accepted`, `exhausted`, `expired` or `revoked`.
    pub status: &'static str,
    pub role: String,
    pub team_id: Option<String>,
    /// Set for email-bound invites: only this verified address may accept.
    pub email: Option<String>,
    pub max_uses: i32,
    pub uses: i32,
    pub expires_at: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub redemptions: Vec<RedemptionResponse>,
}

impl From<InviteView> for InviteResponse {
    fn from(v: InviteView) -> Self {
        let i = v.invite;
        InviteResponse {
            id: i.id.to_string(),
            status: v.status.as_str(),
            role: i.role.to_string(),
            team_id: i.team_id.map(|t| t.to_string()),
            email: i.email.map(|e| e.as_str().to_owned()),
            max_uses: i.max_uses,
            uses: i.uses,
            expires_at: i.expires_at,
            created_by: i.created_by.id(),
            created_at: i.created_at,
            revoked_at: i.revoked_at,
            last_sent_at: i.last_sent_at,
            redemptions: v
                .redemptions
                .into_iter()
                .map(|r| RedemptionResponse {
                    member_id: r.member_id.to_string(),
                    user_id: r.user_id.to_string(),
                    redeemed_at: r.redeemed_at,
                })
                .collect(),
        }
    }
}

/// A new invite with its secret: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvite {
    #[serde(flatten)]
    pub invite: InviteResponse,
    /// The invite's secret. An email invite's recipient gets it by email.
    pub token: String,
    /// The link to share: where the recipient previews and accepts the invite.
    pub accept_url: String,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateInviteRequest {
    /// The role the invitee gets; never `owner`, never wider than the inviter's own.
    #[schema(example = "member")]
    #[validate(length(max = 100, code = "too_long"))]
    pub role: String,
    /// A team (`team_…`) the invitee joins too.
    pub team_id: Option<String>,
    /// Bind the invite to this address and email it there.
    #[validate(length(max = 320, code = "too_long"))]
    pub email: Option<String>,
    /// How many people may use a link invite (default 1; email invites are single-use).
    pub max_uses: Option<i32>,
    /// Default: in 7 days; at most 30 days ahead.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InviteListParams {
    /// Only invites in this status: `pending`, `accepted`, `exhausted`, `expired`, `revoked`.
    pub status: Option<String>,
    /// Page size, 1 to 100 (default 25).
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// What the holder of an invite link sees before accepting.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitePreviewResponse {
    pub organization_name: String,
    pub role: String,
    pub inviter_name: Option<String>,
    pub expires_at: DateTime<Utc>,
    /// Only the invited, verified email address may accept.
    pub email_bound: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedInviteResponse {
    pub organization: OrgResponse,
    pub member_id: String,
    pub role: String,
}

/// An invite secret from a path. One this service could not have issued names nothing.
fn invite_token(raw: &str) -> Result<&str, ApiError> {
    if is_well_formed_invite(raw) {
        Ok(raw)
    } else {
        Err(ApiError::not_found("invite"))
    }
}

/// Create a link or email-bound invite. An email invite is emailed to its address.
#[utoipa::path(
    tag = "invites",
    params(("org" = String, Path, description = ORG_PARAM)),
    request_body = CreateInviteRequest,
    responses(
        (status = 201, body = CreatedInvite),
        (status = 422, description = "`validation_failed`, `owner_not_invitable` or `unknown_role`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orgs/{org}/invites")]
pub async fn create_invite(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: web::Json<CreateInviteRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    body.validate()?;
    let body = body.into_inner();
    let team_id = body.team_id.as_deref().map(|t| path_id::<TeamId>(t, "team")).transpose()?;
    let input = CreateInvite {
        role: body.role,
        team_id,
        email: body.email,
        max_uses: body.max_uses,
        expires_at: body.expires_at,
    };
    let issued = state.run(move |s| s.invites.create(&caller.0, &org, input)).await?;
    let status = issued.invite.status(Utc::now());
    let invite = InviteResponse::from(InviteView { invite: issued.invite, status, redemptions: Vec::new() });
    Ok(HttpResponse::Created().json(CreatedInvite { invite, token: issued.token, accept_url: issued.accept_url }))
}

/// List invites, newest first, with their status, uses and redemptions.
#[utoipa::path(
    tag = "invites",
    params(("org" = String, Path, description = ORG_PARAM), InviteListParams),
    responses(
        (status = 200, body = ListResponse<InviteResponse>),
        (status = 422, description = "`validation_failed`: an unknown `status`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orgs/{org}/invites")]
pub async fn list_invites(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<InviteListParams>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let query = query.into_inner();
    let status = match query.status.as_deref() {
        None => None,
        Some(raw) => Some(InviteStatus::parse(raw).ok_or_else(|| {
            domain::Invalid::field("status", "unknown_status", "one of pending, accepted, exhausted, expired, revoked")
        })?),
    };
    let page = page_request(query.limit, query.cursor.as_deref())?;
    let invites = state.run(move |s| s.invites.list(&caller.0, &org, status, page)).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(invites, InviteResponse::from)))
}

/// Email an invite again, with a fresh link (the previous one stops working). At most
/// once a minute per invite.
#[utoipa::path(
    tag = "invites",
    params(("org" = String, Path, description = ORG_PARAM), ("invite" = String, Path, description = INVITE_PARAM)),
    responses(
        (status = 204, description = "Queued for delivery."),
        (status = 410, description = "`invite_expired`, `invite_revoked` or `invite_exhausted`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_an_email_invite`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`resend_too_soon`; see `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orgs/{org}/invites/{invite}/resend")]
pub async fn resend_invite(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id): (OrgRef, InviteId) = org_and(&path.0, &path.1, "invite")?;
    state.run(move |s| s.invites.resend(&caller.0, &org, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revoke an invite: its link stops working at once.
#[utoipa::path(
    tag = "invites",
    params(("org" = String, Path, description = ORG_PARAM), ("invite" = String, Path, description = INVITE_PARAM)),
    responses((status = 204, description = "Revoked (or already revoked)."))
)]
#[delete("/orgs/{org}/invites/{invite}")]
pub async fn revoke_invite(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, id): (OrgRef, InviteId) = org_and(&path.0, &path.1, "invite")?;
    state.run(move |s| s.invites.revoke(&caller.0, &org, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Preview an invite: what its link's holder needs to decide. A dead or unknown invite is
/// a 404 and nothing more.
#[utoipa::path(
    tag = "invites",
    security(()),
    params(("token" = String, Path, description = TOKEN_PARAM)),
    responses(
        (status = 200, body = InvitePreviewResponse),
        (status = 404, description = "`not_found`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/invites/{token}")]
pub async fn preview_invite(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let hash = state.hasher().lookup_hash(invite_token(&path)?);
    let preview = state.run(move |s| s.invites.preview(&hash)).await?;
    Ok(HttpResponse::Ok().json(InvitePreviewResponse {
        organization_name: preview.org_name,
        role: preview.role.to_string(),
        inviter_name: preview.inviter_name,
        expires_at: preview.expires_at,
        email_bound: preview.email_bound,
    }))
}

/// Accept an invite: join its organization with its role (and team).
#[utoipa::path(
    tag = "invites",
    params(("token" = String, Path, description = TOKEN_PARAM)),
    responses(
        (status = 200, body = AcceptedInviteResponse),
        (status = 403, description = "`invite_email_mismatch`: sign in with the invited, verified address.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such invite.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_member`: the invite is not used up.", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`invite_expired`, `invite_revoked`, `invite_exhausted` or `invite_invalid`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/invites/{token}/accept")]
pub async fn accept_invite(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hash = state.hasher().lookup_hash(invite_token(&path)?);
    let accepted = state.run(move |s| s.invites.accept(&caller.0, &hash)).await?;
    Ok(HttpResponse::Ok().json(AcceptedInviteResponse {
        organization: OrgResponse::from(&accepted.org),
        member_id: accepted.membership.id.to_string(),
        role: accepted.membership.role.to_string(),
    }))
}
