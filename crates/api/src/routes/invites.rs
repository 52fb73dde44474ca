//! Invitations: `/v1/orgs/{org}/invites` for the inviting side, `/v1/invites/{token}` for
//! the invited.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::ids::{InviteId, TeamId};
use orgd_domain::invite::{CreateInvite, InviteError, InviteSettings, InviteStatus, InviteView};
use orgd_domain::org::OrgRef;
use orgd_domain::token::{InviteToken, LookupHashes};
use orgd_domain::user::Email;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, Object, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::common::{org_and, page, path_id, status_filter, whole_number, Json, PageParams, ORG_PARAM};
use super::orgs::OrgResponse;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
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
    #[schema(example = crate::openapi::example::member)]
    pub member_id: String,
    #[schema(example = crate::openapi::example::user)]
    pub user_id: String,
    #[schema(example = crate::openapi::example::at)]
    pub redeemed_at: DateTime<Utc>,
}

/// An invite, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteResponse {
    #[schema(example = "inv_0192f0c1a4e37b6c9d5e8f10a2b3c4d5")]
    pub id: String,
    /// `pending`, `accepted`, `exhausted`, `expired` or `revoked`.
    #[schema(example = "pending")]
    pub status: &'static str,
    #[schema(example = "member")]
    pub role: String,
    pub team_id: Option<String>,
    /// Set for email-bound invites: only this verified address may accept.
    pub email: Option<String>,
    #[schema(example = 5)]
    pub max_uses: i32,
    #[schema(example = 1)]
    pub uses: i32,
    #[schema(example = crate::openapi::example::later)]
    pub expires_at: DateTime<Utc>,
    #[schema(example = crate::openapi::example::user)]
    pub created_by: String,
    #[schema(example = crate::openapi::example::at)]
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
    #[schema(example = "orgi_8sK2mQ4vX7bN1cR5tY9wZ3hJ6fD0gL2p")]
    pub token: String,
    /// The link to share: where the recipient previews and accepts the invite.
    #[schema(example = "https://app.example.com/invites/orgi_8sK2mQ4vX7bN1cR5tY9wZ3hJ6fD0gL2p")]
    pub accept_url: String,
}

/// Its schema is written out below: an email invite is for one person.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateInviteRequest {
    #[validate(length(max = 100, code = "too_long"))]
    pub role: String,
    pub team_id: Option<String>,
    #[validate(length(max = 320, code = "too_long"))]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "whole_number")]
    pub max_uses: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl PartialSchema for CreateInviteRequest {
    fn schema() -> RefOr<Schema> {
        let nullable = |kind: Type| SchemaType::from_iter([kind, Type::Null]);
        let fields = ObjectBuilder::new()
            .property(
                "role",
                shape::role_key(true)
                    .description(Some("The role the invitee gets; never `owner`, never wider than the inviter's own."))
                    .examples(["member"]),
            )
            .required("role")
            .property(
                "team_id",
                ObjectBuilder::new()
                    .schema_type(nullable(Type::String))
                    .description(Some("A team (`team_…`) the invitee joins too.")),
            )
            .property(
                "email",
                ObjectBuilder::new()
                    .schema_type(nullable(Type::String))
                    .format(Some(SchemaFormat::Custom("email".to_owned())))
                    .max_length(Some(Email::MAX_LEN))
                    .description(Some("Bind the invite to this address and email it there.")),
            )
            .property(
                "max_uses",
                ObjectBuilder::new()
                    .schema_type(nullable(Type::Integer))
                    .minimum(Some(1))
                    .maximum(Some(InviteSettings::default().max_uses))
                    .description(Some(
                        "How many people may use a link invite (default 1; email invites are single-use).",
                    )),
            )
            .property(
                "expires_at",
                ObjectBuilder::new()
                    .schema_type(nullable(Type::String))
                    .format(Some(SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime)))
                    .description(Some("Default: in 7 days; after now and at most 30 days ahead.")),
            )
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
        let link = ObjectBuilder::new().property("email", ObjectBuilder::new().schema_type(Type::Null));
        let single_use = ObjectBuilder::new().property(
            "max_uses",
            ObjectBuilder::new()
                .schema_type(nullable(Type::Integer))
                .enum_values(Some([serde_json::json!(1), serde_json::Value::Null])),
        );
        AllOfBuilder::new().item(fields).item(AnyOfBuilder::new().item(link).item(single_use)).into()
    }
}

impl ToSchema for CreateInviteRequest {}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InviteListParams {
    /// Only invites in this status.
    #[param(schema_with = invite_status)]
    pub status: Option<String>,
}

fn invite_status() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(InviteStatus::ALL.iter().map(|s| s.as_str())))
        .build()
}

page! {
    /// A page of invites.
    InvitePage of InviteResponse
}

/// What the holder of an invite link sees before accepting.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitePreviewResponse {
    #[schema(example = "Acme, Inc.")]
    pub organization_name: String,
    #[schema(example = "member")]
    pub role: String,
    pub inviter_name: Option<String>,
    #[schema(example = crate::openapi::example::later)]
    pub expires_at: DateTime<Utc>,
    /// Only the invited, verified email address may accept.
    pub email_bound: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedInviteResponse {
    pub organization: OrgResponse,
    #[schema(example = crate::openapi::example::member)]
    pub member_id: String,
    #[schema(example = "member")]
    pub role: String,
}

/// The stored hash of an invite secret from a path. One this service could not have
/// issued names nothing.
fn invite_hash(state: &AppState, raw: &str) -> Result<LookupHashes, ApiError> {
    let token = InviteToken::parse(raw).map_err(|_| ApiError::not_found("invite"))?;
    Ok(token.lookup_hashes(state.hasher()))
}

/// Create a link or email-bound invite. An email invite is emailed to its address.
#[utoipa::path(
    tag = "invites",
    params(("org" = String, Path, description = ORG_PARAM)),
    request_body = CreateInviteRequest,
    responses((status = 201, body = CreatedInvite), Errors<InviteError>)
)]
#[post("/orgs/{org}/invites")]
pub async fn create_invite(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: Json<CreateInviteRequest>,
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
    params(("org" = String, Path, description = ORG_PARAM), InviteListParams, PageParams),
    responses((status = 200, body = InvitePage), Errors<InviteError>)
)]
#[get("/orgs/{org}/invites")]
pub async fn list_invites(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    query: web::Query<InviteListParams>,
    page: PageParams,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let status = status_filter(query.status.as_deref(), InviteStatus::ALL, InviteStatus::as_str)?;
    let page = page.request();
    let invites = state.run(move |s| s.invites.list(&caller.0, &org, status, page)).await?;
    Ok(HttpResponse::Ok().json(InvitePage::of(invites, InviteResponse::from)))
}

/// Email an invite again, with a fresh link (the previous one stops working). At most
/// once a minute per invite.
#[utoipa::path(
    tag = "invites",
    params(("org" = String, Path, description = ORG_PARAM), ("invite" = String, Path, description = INVITE_PARAM)),
    responses((status = 204, description = "Queued for delivery."), Errors<InviteError>)
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
    responses((status = 204, description = "Revoked (or already revoked)."), Errors<InviteError>)
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
    responses((status = 200, body = InvitePreviewResponse), Errors<InviteError>)
)]
#[get("/invites/{token}")]
pub async fn preview_invite(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let hash = invite_hash(&state, &path)?;
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
    responses((status = 200, body = AcceptedInviteResponse), Errors<InviteError>)
)]
#[post("/invites/{token}/accept")]
pub async fn accept_invite(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hash = invite_hash(&state, &path)?;
    let accepted = state.run(move |s| s.invites.accept(&caller.0, &hash)).await?;
    Ok(HttpResponse::Ok().json(AcceptedInviteResponse {
        organization: OrgResponse::from(&accepted.org),
        member_id: accepted.membership.id.to_string(),
        role: accepted.membership.role.to_string(),
    }))
}
