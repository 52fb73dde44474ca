//! SSO federation: an organization's connection to its identity provider, over SAML (with
//! the provider's signing certificate) or OIDC (with a client secret encrypted at rest
//! through the [`SecretBox`] port and never shown again).

mod certificate;
mod model;
mod repo;
mod sealing;
mod service;

pub use certificate::{SigningCertificate, EXPIRY_WARNING};
pub use model::{
    ClientSecret, Connection, ConnectionInput, OidcConnection, SamlConnection, SecretText, SsoConfig, SsoInput,
    MAX_CLIENT_ID_LEN, MAX_ENTITY_ID_LEN, MAX_SECRET_LEN, MAX_URL_LEN,
};
pub use repo::SsoRepository;
pub use sealing::{reseal_in_batches, SealError, Sealed, SecretBox};
pub use service::{SsoError, SsoService};

#[cfg(test)]
mod tests;
