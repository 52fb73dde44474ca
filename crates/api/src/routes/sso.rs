//! `/v1/orgs/{org}/sso`: the organization's SSO federation, over SAML or OIDC. Secrets are
//! write-only: a response says whether there is a client secret, never what it is.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use orgd_domain::org::{OrgRef, Patch};
use orgd_domain::policy::{PolicyWrite, Versioned};
use orgd_domain::sso::{
    Connection, ConnectionInput, SecretText, SsoConfig, SsoError, SsoInput, MAX_CLIENT_ID_LEN, MAX_ENTITY_ID_LEN,
    MAX_SECRET_LEN, MAX_URL_LEN,
};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ObjectBuilder, OneOfBuilder, Schema, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::common::{etag, nullable, path_id, Json, ORG_PARAM};
use super::policies::{write_mode, LockoutResponse, WriteParams};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::openapi::{shape, Errors};
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
    /// People whose verified email is in one of the organization's verified domains must
    /// sign in through it (`sso_required`); others, such as contractors, are not affected
    /// (restrict everyone with the sign-in methods policy).
    pub enforced: bool,
    /// `null` until configured.
    pub connection: Option<ConnectionResponse>,
    /// The configuration's version, also its `ETag`; 0 until first written.
    #[schema(example = crate::openapi::example::version)]
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
    /// Only on a dry run (`dry_run=true`, nothing saved): every member and API key the
    /// configuration would keep out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lockout: Option<LockoutResponse>,
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
            lockout: None,
        }
    }

    /// The configuration with its `ETag`.
    fn respond(config: Versioned<SsoConfig>) -> HttpResponse {
        HttpResponse::Ok().insert_header(etag(config.version)).json(Self::new(config, Utc::now()))
    }

    /// A write: the saved configuration with its `ETag`, or on a dry run the proposed one
    /// with who it would keep out.
    fn written(write: PolicyWrite<SsoConfig>) -> HttpResponse {
        if write.applied {
            return Self::respond(write.policy);
        }
        let mut body = Self::new(write.policy, Utc::now());
        body.lockout = Some(write.lockout.into());
        HttpResponse::Ok().json(body)
    }
}

/// The connection to configure; its schema is written out below. (No `Debug`: it may hold
/// a client secret.)
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConnectionRequest {
    Saml {
        idp_entity_id: String,
        sso_url: String,
        certificate: String,
    },
    Oidc {
        issuer: String,
        client_id: String,
        /// Absent: keep the stored secret; `null`: remove it; a string: replace it.
        #[serde(default, deserialize_with = "nullable")]
        client_secret: Option<Option<String>>,
    },
}

impl PartialSchema for ConnectionRequest {
    fn schema() -> RefOr<Schema> {
        let kind = |name: &str| ObjectBuilder::new().schema_type(Type::String).enum_values(Some([name]));
        let saml = ObjectBuilder::new()
            .property("type", kind("saml"))
            .required("type")
            .property(
                "idp_entity_id",
                shape::text_block(MAX_ENTITY_ID_LEN, None)
                    .description(Some("The identity provider's entity id (usually a URL or URN)."))
                    .examples(["https://idp.example.com/saml"]),
            )
            .required("idp_entity_id")
            .property(
                "sso_url",
                shape::https_url(MAX_URL_LEN, true)
                    .description(Some("Where sign-in requests go: an absolute `https` URL, without a fragment."))
                    .examples(["https://idp.example.com/saml/sso"]),
            )
            .required("sso_url")
            .property(
                "certificate",
                shape::pem_certificate().description(Some(
                    "The X.509 certificate the identity provider signs with, as PEM. Refused when unreadable, \
                     expired or not yet valid.",
                )),
            )
            .required("certificate")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let oidc = ObjectBuilder::new()
            .property("type", kind("oidc"))
            .required("type")
            .property(
                "issuer",
                shape::https_url(MAX_URL_LEN, false)
                    .description(Some(
                        "The provider's issuer, where its discovery document is: an absolute `https` URL, \
                         without a query or a fragment.",
                    ))
                    .examples(["https://idp.example.com"]),
            )
            .required("issuer")
            .property(
                "client_id",
                shape::token(MAX_CLIENT_ID_LEN)
                    .description(Some(
                        "The client id the identity provider issued: no spaces, at most 255 bytes once trimmed.",
                    ))
                    .examples(["orgd-client"]),
            )
            .required("client_id")
            .property(
                "client_secret",
                shape::nullable(shape::secret(MAX_SECRET_LEN).description(Some(
                    "Absent: keep the stored secret (only while `issuer` and `client_id` stay the same); \
                     `null`: remove it (a public client); a string: replace it (at most 1024 bytes, no control \
                     characters). Stored encrypted and never shown again.",
                ))),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new().item(saml).item(oidc).description(Some("The connection to configure.")).into()
    }
}

impl ToSchema for ConnectionRequest {}

/// The new configuration; it replaces the stored one (except an omitted client secret). Its
/// schema is written out below: enabling needs a connection, enforcing needs enabling.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoConfigRequest {
    pub enabled: bool,
    #[serde(default)]
    pub enforced: bool,
    #[serde(default)]
    pub connection: Option<ConnectionRequest>,
}

impl PartialSchema for SsoConfigRequest {
    fn schema() -> RefOr<Schema> {
        let connection = OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .item(Ref::from_schema_name(ConnectionRequest::name()))
            .description(Some("`null` or absent: no connection."));
        let fields = ObjectBuilder::new()
            .property(
                "enabled",
                ObjectBuilder::new().schema_type(Type::Boolean).description(Some(
                    "Offer sign-in through the identity provider; needs a `connection`, and the `sso` feature of \
                     the plan.",
                )),
            )
            .required("enabled")
            .property(
                "enforced",
                ObjectBuilder::new().schema_type(Type::Boolean).description(Some(
                    "Require it of members of the organization's verified domains; only with `enabled: true`.",
                )),
            )
            .property("connection", connection)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let connected = ObjectBuilder::new().property("connection", ObjectBuilder::new()).required("connection");
        let enabled_needs_connection = AnyOfBuilder::new().item(shape::field_is("enabled", false)).item(connected);
        let enforced_needs_enabled =
            AnyOfBuilder::new().item(shape::field_is("enforced", false)).item(shape::field_is("enabled", true));
        AllOfBuilder::new()
            .item(fields)
            .item(enabled_needs_connection)
            .item(enforced_needs_enabled)
            .description(Some("The new configuration; it replaces the stored one (except an omitted client secret)."))
            .examples([serde_json::json!({
                "enabled": true,
                "enforced": false,
                "connection": {
                    "type": "oidc",
                    "issuer": "https://idp.example.com",
                    "client_id": "orgd-client",
                    "client_secret": "s3cr3t-from-the-identity-provider",
                },
            })])
            .into()
    }
}

impl ToSchema for SsoConfigRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((ConnectionRequest::name().into_owned(), ConnectionRequest::schema()));
    }
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
/// of the plan. Enforcing it holds the people of the verified domains to SSO, under the
/// no-lock-out rules of every policy write: `dry_run` previews, `force` accepts locking
/// the caller out, and nothing locks out every owner.
#[utoipa::path(
    tag = "sso",
    params(
        ("org" = String, Path, description = ORG_PARAM),
        ("If-Match" = String, Header, description = super::common::IF_MATCH_REQUIRED),
        WriteParams,
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
    params: web::Query<WriteParams>,
    body: Json<SsoConfigRequest>,
) -> Result<HttpResponse, ApiError> {
    let org: OrgRef = path_id(&path, "organization")?;
    let mode = write_mode(&req, &params)?;
    let input = SsoInput::from(body.into_inner());
    let write = state.run(move |s| s.sso.put(&caller.0, &org, input, mode)).await?;
    Ok(SsoConfigResponse::written(write))
}
