//! An organization's SSO federation: one SAML or OIDC connection to its identity provider.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use url::Url;

use super::certificate::SigningCertificate;
use super::sealing::Sealed;
use crate::error::{has_forbidden_controls, FieldError, Invalid, ValueError};
use crate::org::Patch;

/// How people of the organization sign in through its identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SsoConfig {
    /// Sign-in through the connection is offered.
    pub enabled: bool,
    /// Members whose email is in one of the organization's verified domains must use it.
    /// Stored for now; enforcing it comes with verified domains.
    pub enforced: bool,
    /// The connection to the identity provider; `None` until one is configured.
    pub connection: Option<Connection>,
}

/// The organization's connection to its identity provider, by protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// A SAML 2.0 connection.
    Saml(SamlConnection),
    /// An OpenID Connect connection.
    Oidc(OidcConnection),
}

impl Connection {
    /// The protocol's name as the HTTP API gives it: `saml` or `oidc`.
    pub const fn protocol(&self) -> &'static str {
        match self {
            Connection::Saml(_) => "saml",
            Connection::Oidc(_) => "oidc",
        }
    }
}

/// A SAML 2.0 connection: where to send people and how to check the provider's assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlConnection {
    /// The identity provider's entity id.
    pub idp_entity_id: String,
    /// Where sign-in requests are sent (HTTPS).
    pub sso_url: String,
    /// The certificate the provider signs its assertions with.
    pub certificate: SigningCertificate,
}

/// An OpenID Connect connection, as a client registered with the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConnection {
    /// The provider's issuer (HTTPS), where its discovery document is.
    pub issuer: String,
    /// The client id the provider issued.
    pub client_id: String,
    /// `None` for a public client.
    pub client_secret: Option<ClientSecret>,
}

/// An OIDC client secret as stored: encrypted, with what may be shown of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecret {
    /// The secret, encrypted at rest.
    pub sealed: Sealed,
    /// Its last four characters, kept only for secrets long enough that they give little
    /// away ([`ClientSecret::MIN_LEN_FOR_HINT`]).
    pub last_four: Option<String>,
}

impl ClientSecret {
    /// The shortest secret whose last four characters are kept as a hint.
    pub const MIN_LEN_FOR_HINT: usize = 16;

    /// The last four characters of `secret` when it is at least
    /// [`MIN_LEN_FOR_HINT`](Self::MIN_LEN_FOR_HINT) long; `None` otherwise.
    pub fn last_four_of(secret: &str) -> Option<String> {
        let chars: Vec<char> = secret.chars().collect();
        (chars.len() >= Self::MIN_LEN_FOR_HINT).then(|| chars[chars.len() - 4..].iter().collect())
    }
}

impl SsoConfig {
    /// Every field but the secret, as the audit log records it.
    pub(crate) fn describe(&self) -> Value {
        let mut fields = json!({
            "enabled": self.enabled,
            "enforced": self.enforced,
            "protocol": self.connection.as_ref().map(Connection::protocol),
        });
        let more = match &self.connection {
            Some(Connection::Saml(saml)) => json!({
                "idp_entity_id": saml.idp_entity_id,
                "sso_url": saml.sso_url,
                "certificate_sha256": saml.certificate.fingerprint_sha256,
                "certificate_not_after": saml.certificate.not_after.to_rfc3339(),
            }),
            Some(Connection::Oidc(oidc)) => json!({ "issuer": oidc.issuer, "client_id": oidc.client_id }),
            None => json!({}),
        };
        if let (Value::Object(fields), Value::Object(more)) = (&mut fields, more) {
            fields.extend(more);
        }
        fields
    }
}

/// A secret as the client sent it; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    /// Wraps a secret the client sent.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for sealing; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(redacted)")
    }
}

/// A new configuration as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct SsoInput {
    /// Offer sign-in through the connection.
    pub enabled: bool,
    /// Require it of members whose email is in a verified domain.
    pub enforced: bool,
    /// The connection; `None` removes it.
    pub connection: Option<ConnectionInput>,
}

/// A connection as the client sent it, before validation.
#[derive(Debug, Clone)]
pub enum ConnectionInput {
    /// A SAML 2.0 connection.
    Saml {
        /// The identity provider's entity id.
        idp_entity_id: String,
        /// Where sign-in requests are sent (HTTPS).
        sso_url: String,
        /// The provider's signing certificate, in PEM.
        certificate: String,
    },
    /// `client_secret`: absent keeps the stored one, `null` clears it.
    Oidc {
        /// The provider's issuer (HTTPS).
        issuer: String,
        /// The client id the provider issued.
        client_id: String,
        /// The client secret: kept, cleared or replaced.
        client_secret: Patch<SecretText>,
    },
}

/// A validated configuration whose client secret is still to be resolved against the
/// stored one and sealed.
#[derive(Debug, Clone)]
pub(crate) struct Proposed {
    pub enabled: bool,
    pub enforced: bool,
    pub connection: Option<ProposedConnection>,
}

#[derive(Debug, Clone)]
pub(crate) enum ProposedConnection {
    Saml(SamlConnection),
    Oidc { issuer: String, client_id: String, client_secret: Patch<SecretText> },
}

/// Longest URL, in bytes once trimmed.
pub const MAX_URL_LEN: usize = 2048;
/// Longest identity provider entity id, in characters once trimmed.
pub const MAX_ENTITY_ID_LEN: usize = 1024;
/// Longest OIDC client id, in bytes once trimmed.
pub const MAX_CLIENT_ID_LEN: usize = 255;
/// Longest OIDC client secret, in bytes.
pub const MAX_SECRET_LEN: usize = 1024;

impl SsoInput {
    /// Validates every field, reporting each bad one (`connection.sso_url`, …) at once.
    pub(crate) fn parse(self, now: DateTime<Utc>) -> Result<Proposed, Invalid> {
        let mut invalid = Invalid::default();
        let connection_sent = self.connection.is_some();
        let connection = match self.connection {
            None => None,
            Some(ConnectionInput::Saml { idp_entity_id, sso_url, certificate }) => {
                let idp_entity_id = invalid.check("connection.idp_entity_id", entity_id(&idp_entity_id));
                let sso_url = invalid.check("connection.sso_url", https_url(&sso_url, true));
                let certificate =
                    invalid.check("connection.certificate", SigningCertificate::parse_current(&certificate, now));
                match (idp_entity_id, sso_url, certificate) {
                    (Some(idp_entity_id), Some(sso_url), Some(certificate)) => {
                        Some(ProposedConnection::Saml(SamlConnection { idp_entity_id, sso_url, certificate }))
                    }
                    _ => None,
                }
            }
            Some(ConnectionInput::Oidc { issuer, client_id, client_secret }) => {
                let issuer = invalid.check("connection.issuer", https_url(&issuer, false));
                let client_id = invalid.check("connection.client_id", client_id_value(&client_id));
                if let Patch::Set(secret) = &client_secret {
                    invalid.check("connection.client_secret", secret_value(secret.expose()));
                }
                match (issuer, client_id) {
                    (Some(issuer), Some(client_id)) => {
                        Some(ProposedConnection::Oidc { issuer, client_id, client_secret })
                    }
                    _ => None,
                }
            }
        };
        if self.enabled && !connection_sent {
            invalid.0.push(FieldError::new(
                "enabled",
                "connection_required",
                "SSO can be enabled only with a `connection`",
            ));
        }
        if self.enforced && !self.enabled {
            invalid.0.push(FieldError::new("enforced", "requires_enabled", "SSO can be enforced only when `enabled`"));
        }
        invalid.into_result()?;
        Ok(Proposed { enabled: self.enabled, enforced: self.enforced, connection })
    }
}

fn entity_id(raw: &str) -> Result<String, ValueError> {
    let value = raw.trim();
    if value.is_empty() || value.chars().count() > MAX_ENTITY_ID_LEN || has_forbidden_controls(value) {
        return Err(ValueError::new(
            "invalid_entity_id",
            format!("the identity provider's entity id: 1 to {MAX_ENTITY_ID_LEN} characters, usually a URL or URN"),
        ));
    }
    Ok(value.to_owned())
}

/// An absolute `https` URL. An issuer (`with_query: false`) takes no query either, as
/// OIDC discovery appends a path to it.
fn https_url(raw: &str, with_query: bool) -> Result<String, ValueError> {
    let raw = raw.trim();
    let url = Url::parse(raw)
        .ok()
        .filter(|u| raw.len() <= MAX_URL_LEN && u.has_host() && u.fragment().is_none())
        .ok_or_else(|| {
            ValueError::new(
                "invalid_url",
                format!("an absolute https URL of at most {MAX_URL_LEN} characters, without a fragment"),
            )
        })?;
    if url.scheme() != "https" {
        return Err(ValueError::new(
            "https_required",
            "use an https:// URL: the identity provider is reached only over TLS",
        ));
    }
    if !with_query && url.query().is_some() {
        return Err(ValueError::new("invalid_url", "an issuer has no query string"));
    }
    Ok(raw.to_owned())
}

fn client_id_value(raw: &str) -> Result<String, ValueError> {
    let value = raw.trim();
    if value.is_empty() || value.len() > MAX_CLIENT_ID_LEN || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ValueError::new(
            "invalid_client_id",
            format!("the client id the identity provider issued: 1 to {MAX_CLIENT_ID_LEN} characters, no spaces"),
        ));
    }
    Ok(value.to_owned())
}

fn secret_value(secret: &str) -> Result<(), ValueError> {
    if secret.is_empty() || secret.len() > MAX_SECRET_LEN || secret.chars().any(char::is_control) {
        return Err(ValueError::new(
            "invalid_client_secret",
            format!("1 to {MAX_SECRET_LEN} characters without control characters; send `null` to remove the secret"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Duration;

    use super::*;
    use crate::sso::certificate::tests::certificate;

    fn fields(err: Invalid) -> Vec<(String, &'static str)> {
        err.0.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn every_bad_field_is_reported_by_its_path() {
        let now = Utc::now();
        let expired = certificate(now - Duration::days(10), now - Duration::days(1));
        let saml = SsoInput {
            enabled: true,
            enforced: false,
            connection: Some(ConnectionInput::Saml {
                idp_entity_id: " ".into(),
                sso_url: "http://idp.example.com/sso".into(),
                certificate: expired,
            }),
        };
        assert_eq!(
            fields(saml.parse(now).unwrap_err()),
            vec![
                ("connection.idp_entity_id".to_owned(), "invalid_entity_id"),
                ("connection.sso_url".to_owned(), "https_required"),
                ("connection.certificate".to_owned(), "certificate_expired"),
            ]
        );
        let oidc = SsoInput {
            enabled: false,
            enforced: true,
            connection: Some(ConnectionInput::Oidc {
                issuer: "https://idp.example.com/?tenant=1".into(),
                client_id: "a b".into(),
                client_secret: Patch::Set(SecretText::new(String::new())),
            }),
        };
        assert_eq!(
            fields(oidc.parse(now).unwrap_err()),
            vec![
                ("connection.issuer".to_owned(), "invalid_url"),
                ("connection.client_id".to_owned(), "invalid_client_id"),
                ("connection.client_secret".to_owned(), "invalid_client_secret"),
                ("enforced".to_owned(), "requires_enabled"),
            ]
        );
        let nothing = SsoInput { enabled: true, ..Default::default() };
        assert_eq!(fields(nothing.parse(now).unwrap_err()), vec![("enabled".to_owned(), "connection_required")]);
    }

    #[test]
    fn only_long_secrets_show_their_last_four_characters() {
        assert_eq!(ClientSecret::last_four_of("0123456789abcdef").as_deref(), Some("cdef"));
        assert_eq!(ClientSecret::last_four_of("short-secret"), None);
    }
}
