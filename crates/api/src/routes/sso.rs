//! `/v1/orgs/{org}/sso`: the organization's SSO federation, over SAML or OIDC. Secrets are
//! write-only: a response says whether there is a client secret, never what it is.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use domain::org::{OrgRef, Patch};
use domain::policy::Versioned;
use domain::sso::{Connection, ConnectionInput, SecretText, SsoConfig, SsoError, SsoInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::common::{etag, if_match, nullable, path_id, ORG_PARAM};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::Errors;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_sso).service(put_sso);
}

/// The identity provider's signing certificate, as read from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateResponse {
    /// The certificate as PEM.
    pub pem: String,
    /// Distinguished name, e.g. `CN=Example IdP signing`.
    pub subject: String,
    pub issuer: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the certificate, as `AB:CD:…`, to compare with the identity provider's.
    pub fingerprint_sha256: String,
    /// The certificate expires within 30 days (or has expired): get the identity
    /// provider's next one before sign-ins fail.
    pub expires_soon: bool,
}

/// The connection to the identity provider.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConnectionResponse {
    Saml {
        idp_entity_id: String,
        sso_url: String,
        certificate: CertificateResponse,
    },
    Oidc {
        issuer: String,
        client_id: String,
        /// A client secret is stored (it is never shown).
        has_client_secret: bool,
        /// The secret's last four characters, for secrets of at least 16.
        client_secret_last4: Option<String>,
    },
}

/// The organization's SSO federation.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoConfigResponse {
    /// Sign-in through the identity provider is offered.
    pub enabled: bool,
    /// Members of the organization's verified domains must sign in through it (stored now,
    /// enforced once verified domains are available).
    pub enforced: bool,
    /// `null` until configured.
    pub connection: Option<ConnectionResponse>,
    /// The configuration's version, also its `ETag`; 0 until first written.
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
}

impl SsoConfigResponse {
    fn new(config: Versioned<SsoConfig>, now: DateTime<Utc>) -> Self {
        let connection = config.policy.connection.map(|connection| match connection {
            Connection::Saml(saml) => ConnectionResponse::Saml {
                idp_entity_id: saml.idp_entity_id,
                sso_url: saml.sso_url,
                certificate: CertificateResponse {
                    expires_soon: saml.certificate.expires_soon(now),
                    pem: saml.certificate.pem,
                    subject: saml.certificate.subject,
                    issuer: saml.certificate.issuer,
                    not_before: saml.certificate.not_before,
                    not_after: saml.certificate.not_after,
                    fingerprint_sha256: saml.certificate.fingerprint_sha256,
                },
            },
            Connection::Oidc(oidc) => ConnectionResponse::Oidc {
                issuer: oidc.issuer,
                client_id: oidc.client_id,
                has_client_secret: oidc.client_secret.is_some(),
                client_secret_last4: oidc.client_secret.and_then(|s| s.last_four),
            },
        });
        Self {
            enabled: config.policy.enabled,
            enforced: config.policy.enforced,
            connection,
            version: config.version,
            updated_at: config.updated_at,
        }
    }

    /// The configuration with its `ETag`.
    fn respond(config: Versioned<SsoConfig>) -> HttpResponse {
        HttpResponse::Ok().insert_header(etag(config.version)).json(Self::new(config, Utc::now()))
    }
}

/// The connection to configure. (No `Debug`: it may hold a client secret.)
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConnectionRequest {
    Saml {
        /// The identity provider's entity id (usually a URL or URN).
        #[schema(example = "https://idp.example.com/saml")]
        idp_entity_id: String,
        /// Where sign-in requests go; `https` only.
        #[schema(example = "https://idp.example.com/saml/sso")]
        sso_url: String,
        /// The X.509 certificate the identity provider signs with, as PEM. Refused when
        /// unreadable, expired or not yet valid.
        certificate: String,
    },
    Oidc {
        /// The provider's issuer URL (`https`), where its discovery document is.
        #[schema(example = "https://idp.example.com")]
        issuer: String,
        client_id: String,
        /// Absent: keep the stored secret (only while `issuer` and `client_id` stay the
        /// same); `null`: remove it (a public client); a string: replace it. Stored
        /// encrypted and never shown again.
        #[serde(default, deserialize_with = "nullable")]
        #[schema(value_type = Option<String>, nullable)]
        client_secret: Option<Option<String>>,
    },
}

/// The new configuration; it replaces the stored one (except an omitted client secret).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoConfigRequest {
    /// Offer sign-in through the identity provider; needs a `connection`, and the `sso`
    /// feature of the plan.
    pub enabled: bool,
    /// Require it of members of the organization's verified domains (needs `enabled`).
    #[serde(default)]
    pub enforced: bool,
    /// `null` or absent: no connection.
    #[serde(default)]
    pub connection: Option<ConnectionRequest>,
}

impl From<SsoConfigRequest> for SsoInput {
    fn from(body: SsoConfigRequest) -> Self {
        let connection = body.connection.map(|c| match c {
            ConnectionRequest::Saml { idp_entity_id, sso_url, certificate } => {
                ConnectionInput::Saml { idp_entity_id, sso_url, certificate }
            }
            ConnectionRequest::Oidc { issuer, client_id, client_secret } => ConnectionInput::Oidc {
                issuer,
                client_id,
                client_secret: Patch::from(client_secret.map(|secret| secret.map(SecretText::new))),
            },
        });
        SsoInput { enabled: body.enabled, enforced: body.enforced, connection }
    }
}

/// Read the SSO configuration. Secrets are never shown.
#[utoipa::path(
    tag = "sso",
    params(("org" = String, Path, description = ORG_PARAM)),
    responses((status = 200, description = "The configuration; `ETag` is its version.", body = SsoConfigResponse), Errors<SsoError>)
)]
#[get("/orgs/{org}/sso")]
pub async fn get_sso(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let config = state.run(move |s| s.sso.get(&caller.0, &org)).await?;
    Ok(SsoConfigResponse::respond(config))
}

/// Replace the SSO configuration: a SAML or OIDC connection to the identity provider.
/// Needs a person (not an API key) with `sso:write`; enabling it needs the `sso` feature
/// of the plan.
#[utoipa::path(
    tag = "sso",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the change is based on."),
    ),
    request_body = SsoConfigRequest,
    responses((status = 200, description = "Saved; `ETag` is the new version.", body = SsoConfigResponse), Errors<SsoError>)
)]
#[put("/orgs/{org}/sso")]
pub async fn put_sso(
    state: web::Data<AppState>,
    caller: Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<SsoConfigRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let version = if_match(&req)?;
    let input = SsoInput::from(body.into_inner());
    let config = state.run(move |s| s.sso.put(&caller.0, &org, input, version)).await?;
    Ok(SsoConfigResponse::respond(config))
}
