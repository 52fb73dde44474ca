//! The port SSO configurations are stored through.

use super::model::SsoConfig;
use super::sealing::Sealed;
use crate::error::StoreError;
use crate::ids::OrgId;
use crate::policy::Versioned;

/// The port SSO configurations are stored through.
pub trait SsoRepository {
    /// The organization's configuration; `None` if it never wrote one.
    fn find_sso_config(&mut self, org: OrgId) -> Result<Option<Versioned<SsoConfig>>, StoreError>;

    /// Creates or replaces the organization's configuration.
    fn save_sso_config(&mut self, org: OrgId, config: &Versioned<SsoConfig>) -> Result<(), StoreError>;

    /// Up to `limit` organizations whose client secret is sealed under a key other than
    /// `key_id`, with that secret, locked until the transaction ends.
    fn sso_secrets_not_under(&mut self, key_id: &str, limit: i64) -> Result<Vec<(OrgId, Sealed)>, StoreError>;

    /// Replaces a client secret's ciphertext with the same secret sealed anew.
    fn replace_sso_secret(&mut self, org: OrgId, sealed: &Sealed) -> Result<(), StoreError>;
}
