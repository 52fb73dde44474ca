//! `/v1/orgs/{org}/scim`: whether the organization's identity provider provisions its
//! members over SCIM, and the bearer token it does so with — shown once, when issued.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::org::OrgRef;
use orgd_domain::policy::Versioned;
use orgd_domain::scim::{ScimConfig, ScimError};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AdditionalProperties, AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::common::{etag, path_id, Json, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_scim).service(put_scim);
}

/// The organization's SCIM provisioning settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimConfigResponse {
    pub enabled: bool,
    /// A token is issued; there is one exactly while provisioning is enabled.
    pub has_token: bool,
    /// The token's recognisable start and end, e.g. `orgs_Ab12…x9Qz`.
    #[schema(example = "orgs_Ab12…x9Qz")]
    pub token_hint: Option<String>,
    pub token_created_at: Option<DateTime<Utc>>,
    /// Which role the members of a group (team) get, the first that applies winning;
    /// leaving every mapped group takes such a role back to `member`. Never `owner`.
    pub group_roles: Vec<GroupRoleMapping>,
    /// The settings' version, also their `ETag`; 0 until first written.
    #[schema(example = crate::openapi::example::version)]
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Members of the team (the SCIM group) get the role.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRoleMapping {
    #[schema(example = "team_01hzy3v4k8d7f2g9a6s5q0w1e3")]
    pub team_id: String,
    /// A role key of the organization, not `owner`.
    #[schema(example = "admin", min_length = 1, max_length = 40, pattern = "^(?!owner$)[a-z][a-z0-9_-]{0,39}$")]
    pub role: String,
}

impl From<Versioned<ScimConfig>> for ScimConfigResponse {
    fn from(config: Versioned<ScimConfig>) -> Self {
        let token = config.policy.token;
        Self {
            enabled: config.policy.enabled,
            has_token: token.is_some(),
            token_created_at: token.as_ref().map(|t| t.created_at),
            token_hint: token.map(|t| t.hint),
            group_roles: config
                .policy
                .group_roles
                .into_iter()
                .map(|g| GroupRoleMapping { team_id: g.team.to_string(), role: g.role.to_string() })
                .collect(),
            version: config.version,
            updated_at: config.updated_at,
        }
    }
}

/// The settings after a write, with the token if this write issued one.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimConfigWrite {
    #[serde(flatten)]
    pub config: ScimConfigResponse,
    /// The bearer token the identity provider authenticates with (`orgs_…`), when this
    /// write issued one. It is shown this once; only a keyed hash of it is kept.
    #[schema(example = "orgs_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56x9Qz")]
    pub token: Option<String>,
}

/// Its schema is written out below: rotating the token needs `enabled: true`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimConfigRequest {
    pub enabled: bool,
    #[serde(default)]
    pub rotate_token: bool,
    /// Replaces the mappings when given; absent keeps them.
    #[serde(default)]
    pub group_roles: Option<Vec<GroupRoleMapping>>,
}

impl PartialSchema for ScimConfigRequest {
    fn schema() -> RefOr<Schema> {
        let fields = ObjectBuilder::new()
            .property(
                "enabled",
                ObjectBuilder::new().schema_type(Type::Boolean).description(Some(
                    "Provisioning on or off. Turning it on issues a token if there is none and needs the `scim` \
                     feature of the plan; turning it off revokes the token at once.",
                )),
            )
            .required("enabled")
            .property(
                "group_roles",
                utoipa::openapi::schema::ArrayBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::Array, Type::Null]))
                    .items(GroupRoleMapping::schema())
                    .max_items(Some(orgd_domain::scim::MAX_GROUP_ROLES))
                    .description(Some(
                        "Replaces the group-to-role mappings (absent or `null` keeps them): members of each team get its role, \
                         the first mapping that applies winning. A role is never `owner`, and only one the caller \
                         could give.",
                    )),
            )
            .property(
                "rotate_token",
                ObjectBuilder::new().schema_type(Type::Boolean).description(Some(
                    "Issue a new token, revoking the current one at once; only with `enabled: true`.",
                )),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let rotation_needs_enabled =
            AnyOfBuilder::new().item(shape::field_is("rotate_token", false)).item(shape::field_is("enabled", true));
        AllOfBuilder::new().item(fields).item(rotation_needs_enabled).into()
    }
}

impl ToSchema for ScimConfigRequest {}

/// Read the SCIM provisioning settings. The token is never shown here.
#[utoipa::path(
    tag = "scim",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, description = "The settings; `ETag` is their version.", body = ScimConfigResponse), Errors<ScimError>)
)]
#[get("/orgs/{org}/scim")]
pub async fn get_scim(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let config = state.run(move |s| s.scim.get(&caller.0, &org)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(config.version)).json(ScimConfigResponse::from(config)))
}

/// Turn SCIM provisioning on or off, or rotate its token. Owners only (`scim:write`),
/// signed in as a person.
#[utoipa::path(
    tag = "scim",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("If-Match" = String, Header, description = super::common::IF_MATCH_REQUIRED),
    ),
    request_body = ScimConfigRequest,
    responses((status = 200, description = "Saved; `ETag` is the new version. `token` is set when this write issued one.", body = ScimConfigWrite), Errors<ScimError>)
)]
#[put("/orgs/{org}/scim")]
pub async fn put_scim(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<ScimConfigRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let version = super::common::required_if_match(&req)?;
    let ScimConfigRequest { enabled, rotate_token, group_roles } = body.into_inner();
    let group_roles = group_roles.map(|list| {
        list.into_iter().map(|g| orgd_domain::scim::GroupRoleInput { team: g.team_id, role: g.role }).collect()
    });
    let write = state.run(move |s| s.scim.put(&caller.0, &org, enabled, rotate_token, group_roles, version)).await?;
    let body = ScimConfigWrite { token: write.token, config: ScimConfigResponse::from(write.config) };
    // The body may carry a token shown this once: no cache may keep it.
    Ok(HttpResponse::Ok()
        .insert_header(etag(body.config.version))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(body))
}
