use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::sso::Sealed;
use crate::token::LookupHashes;

/// The longest key accepted; UUIDs and ULIDs fit many times over.
pub const MAX_KEY_CHARS: usize = 255;

/// A client's name for one intended effect.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// An `Idempotency-Key` header that is empty, too long, or not visible ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters, optionally in double quotes")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    /// Reads the header value: a structured-field string (`"…"`, as the draft specifies) or
    /// the bare value most clients send. Escapes are refused rather than interpreted, so one
    /// key has one spelling.
    pub fn parse(header: &str) -> Result<Self, InvalidIdempotencyKey> {
        let inner = match header.strip_prefix('"') {
            Some(rest) => rest.strip_suffix('"').ok_or(InvalidIdempotencyKey)?,
            None => header,
        };
        let visible = |c: char| c.is_ascii_graphic() && c != '"' && c != '\\';
        if inner.is_empty() || inner.len() > MAX_KEY_CHARS || !inner.chars().all(visible) {
            return Err(InvalidIdempotencyKey);
        }
        Ok(Self(inner.to_owned()))
    }

    /// The key, without its quotes.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two requests the same request: method, target and body, hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a request with this method, target (path and query) and body.
    pub fn of(method: &str, target: &str, body: &[u8]) -> Self {
        let mut hash = Sha256::new();
        for part in [method.as_bytes(), target.as_bytes()] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        hash.update(body);
        Self(hash.finalize().into())
    }
}

/// A response as the transport will send it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers that describe the body and the resource (content type, location,
    /// entity tag), in order.
    pub headers: Vec<(String, String)>,
    /// The body, as sent.
    pub body: Vec<u8>,
}

impl StoredResponse {
    /// Only what succeeded is kept: a refused or failed request had no effect, so its retry
    /// is a new attempt.
    pub fn is_kept(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The credential a request presented, to confirm that a replay answers a caller who still
/// authenticates: a revoked API key or a rotated SCIM token gets no kept response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// A person's token, which the transport verified (signature, expiry).
    User,
    /// An organization API key, by the hashes it may be stored under.
    ApiKey(LookupHashes),
    /// A SCIM bearer token, by the hashes it may be stored under.
    ScimToken(LookupHashes),
}

/// A kept response at rest: the body sealed, the rest in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The request's fingerprint, to refuse the key's reuse for another request.
    pub fingerprint: Fingerprint,
    /// The HTTP status.
    pub status: u16,
    /// The headers kept, in order.
    pub headers: Vec<(String, String)>,
    /// The body, encrypted at rest.
    pub body: Sealed,
    /// When the response was kept; it is forgotten a day later.
    pub created_at: DateTime<Utc>,
}

/// Whose keys a key is among: a key names an effect of one caller only, so another caller
/// using the same key neither replays nor blocks it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyScope(String);

impl IdempotencyScope {
    /// A person, by the identity provider's subject.
    pub fn of_user(subject: &str) -> Self {
        Self(format!("user:{subject}"))
    }

    /// A bearer secret (`kind` `api_key` or `scim_token`), by a hash of the secret itself
    /// rather than of the server's keyed hash, so that the scope outlives a rotation of the
    /// hashing key. The secrets are random (about 190 bits): the hash reveals nothing.
    pub fn of_secret(kind: &str, secret: &str) -> Self {
        let digest = Sha256::new().chain_update(b"orgd idempotency scope\0").chain_update(secret.as_bytes()).finalize();
        Self(format!("{kind}:{}", hex(&digest)))
    }

    /// The scope as stored, e.g. `user:<subject>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
