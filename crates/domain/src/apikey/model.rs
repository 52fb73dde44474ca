use chrono::{DateTime, Utc};

use crate::audit::Actor;
use crate::authz::PermissionSet;
use crate::error::{AccessError, Invalid, StoreError};
use crate::ids::{ApiKeyId, OrgId};
use crate::pagination::{Page, PageRequest};

/// An organization API key: a credential for programs, holding a fixed set of permissions
/// in one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's public id.
    pub id: ApiKeyId,
    /// The organization it acts in.
    pub org_id: OrgId,
    /// A name people tell it apart by.
    pub name: String,
    /// What it may do; never more than its creator held when creating it.
    pub permissions: PermissionSet,
    /// The recognisable start and end of the secret, e.g. `orgk_Ab…x9Qz`, for people to
    /// tell keys apart; too short to use.
    pub hint: String,
    /// Who created it.
    pub created_by: Actor,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// After this instant it no longer authenticates; `None`: it never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it last authenticated a request.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Where the key was last used from, to preview who an IP allowlist would lock out.
    pub last_used_ip: Option<std::net::IpAddr>,
    /// When it was revoked; it never authenticates again.
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
    /// The secret to hand to the client, once.
    pub token: String,
    /// The keyed hash the secret is found by; the secret itself is never stored.
    pub lookup_hash: Vec<u8>,
    /// The recognisable start and end of the secret, for people to tell secrets apart.
    pub hint: String,
}

/// The port that generates secrets (API keys, invite tokens, SCIM tokens) and hashes
/// them with the server's key.
pub trait SecretMinter: crate::token::TokenHasher + Send + Sync + 'static {
    /// A new organization API key (`orgk_…`).
    fn mint_api_key(&self) -> MintedSecret;

    /// A new invite link token (`orgi_…`).
    fn mint_invite(&self) -> MintedSecret;

    /// A new SCIM bearer token (`orgs_…`).
    fn mint_scim_token(&self) -> MintedSecret;

    /// A webhook signing secret as Standard Webhooks receivers take it: `whsec_` and the
    /// base64 of at least 24 random bytes.
    fn mint_webhook_secret(&self) -> String;
}

/// A created key with its secret, which is never shown again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedApiKey {
    /// The key as stored.
    pub key: ApiKey,
    /// The secret (`orgk_…`); only a hash of it is kept.
    pub token: String,
}

/// An API key as a client asks to create it; the use case validates every field.
#[derive(Debug, Clone, Default)]
pub struct CreateApiKey {
    /// A name people tell it apart by.
    pub name: String,
    /// Permission names (`resource:action`); all must be held by the creator.
    pub permissions: Vec<String>,
    /// When it stops working; `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why a use case on API keys failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    /// The caller may not do this in the organization.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The input breaks a rule; lists every bad field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The port API keys are stored through.
pub trait ApiKeyRepository {
    /// Stores a new key with the hash its secret is found by.
    fn insert_api_key(&mut self, key: &ApiKey, lookup_hash: &[u8]) -> Result<(), StoreError>;

    /// The key with this hash, in any organization, usable or not.
    fn find_api_key_by_hash(&mut self, lookup_hash: &[u8]) -> Result<Option<ApiKey>, StoreError>;

    /// Stores the key's secret under the hash `to` instead of `from` (a hashing-key rotation).
    fn rekey_api_key(&mut self, from: &[u8], to: &[u8]) -> Result<(), StoreError>;

    /// The key `id` of organization `org`, revoked or not.
    fn find_api_key(&mut self, org: OrgId, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError>;

    /// The organization's keys, newest first.
    fn list_api_keys(&mut self, org: OrgId, page: PageRequest) -> Result<Page<ApiKey>, StoreError>;

    /// Marks the key revoked at `at`; it never authenticates again.
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
