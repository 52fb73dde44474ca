use chrono::{DateTime, Utc};

use crate::audit::Actor;
use crate::authz::PermissionSet;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::{ApiKeyId, OrgId};
use crate::pagination::{Page, PageRequest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub name: String,
    pub permissions: PermissionSet,
    /// The recognisable start and end of the secret, e.g. `orgk_Ab…x9Qz`, for people to
    /// tell keys apart; too short to use.
    pub hint: String,
    pub created_by: Actor,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Where the key was last used from, to preview who an IP allowlist would lock out.
    pub last_used_ip: Option<std::net::IpAddr>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Why the key cannot authenticate now, if it cannot.
    pub fn unusable_at(&self, now: DateTime<Utc>) -> Option<&'static str> {
        if self.revoked_at.is_some() {
            Some("revoked")
        } else if self.expires_at.is_some_and(|e| e <= now) {
            Some("expired")
        } else {
            None
        }
    }
}

/// A freshly generated secret: the token for the client, and what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedSecret {
    pub token: String,
    pub lookup_hash: Vec<u8>,
    pub hint: String,
}

/// The port that generates secrets (API keys, invite tokens, SCIM tokens) and hashes
/// them with the server's key.
pub trait SecretMinter: crate::token::TokenHasher + Send + Sync + 'static {
    fn mint_api_key(&self) -> MintedSecret;

    fn mint_invite(&self) -> MintedSecret;

    fn mint_scim_token(&self) -> MintedSecret;

    /// A webhook signing secret as Standard Webhooks receivers take it: `whsec_` and the
    /// base64 of at least 24 random bytes.
    fn mint_webhook_secret(&self) -> String;
}

/// A created key with its secret, which is never shown again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedApiKey {
    pub key: ApiKey,
    pub token: String,
}

#[derive(Debug, Clone, Default)]
pub struct CreateApiKey {
    pub name: String,
    pub permissions: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The port API keys are stored through.
pub trait ApiKeyRepository {
    fn insert_api_key(&mut self, key: &ApiKey, lookup_hash: &[u8]) -> Result<(), StoreError>;

    /// The key with this hash, in any organization, usable or not.
    fn find_api_key_by_hash(&mut self, lookup_hash: &[u8]) -> Result<Option<ApiKey>, StoreError>;

    /// Stores the key's secret under the hash `to` instead of `from` (a hashing-key rotation).
    fn rekey_api_key(&mut self, from: &[u8], to: &[u8]) -> Result<(), StoreError>;

    fn find_api_key(&mut self, org: OrgId, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError>;

    /// The organization's keys, newest first.
    fn list_api_keys(&mut self, org: OrgId, page: PageRequest) -> Result<Page<ApiKey>, StoreError>;

    fn revoke_api_key(&mut self, org: OrgId, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records a use of the key at `at`, from `ip` when known.
    fn touch_api_key(
        &mut self,
        org: OrgId,
        id: ApiKeyId,
        at: DateTime<Utc>,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(), StoreError>;
}
