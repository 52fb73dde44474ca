//! Secrets this service issues (API keys, invite tokens, SCIM tokens): drawing them and
//! hashing them. Their format — prefix, random body, checksum — is the domain's
//! ([`orgd_domain::token`]); only `HMAC-SHA256(server key, token)` is stored, so a leaked
//! database yields no usable secret, and an index on that hash is the lookup.

use hmac::{Hmac, Mac};
use orgd_domain::apikey::{MintedSecret, SecretMinter};
use orgd_domain::token::{ApiKeyKind, InviteKind, ScimKind, Token, TokenHasher, TokenKind, BODY_LEN};
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::Rng;
use sha2::Sha256;

/// Hashes and mints secrets with the server's HMAC key.
#[derive(Clone)]
pub struct SecretHasher {
    key: Vec<u8>,
    /// The key `key` replaced, while stored secrets move over to `key`.
    previous: Option<Vec<u8>>,
}

impl SecretHasher {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec(), previous: None }
    }

    /// Hashing under `key`, and finding secrets still stored under `previous`: each moves to
    /// `key` the first time it is used.
    pub fn rotating(key: &[u8], previous: &[u8]) -> Self {
        Self { key: key.to_vec(), previous: Some(previous.to_vec()) }
    }

    fn mint<K: TokenKind>(&self) -> MintedSecret {
        let body: String = OsRng.sample_iter(&Alphanumeric).take(BODY_LEN).map(char::from).collect();
        // A body drawn from the base62 alphabet at the right length always composes.
        let token = Token::<K>::from_body(&body).unwrap_or_else(|_| unreachable!("a base62 body of BODY_LEN"));
        MintedSecret { lookup_hash: self.lookup_hash(token.expose()), hint: token.hint(), token: token.into_secret() }
    }
}

fn hmac(key: &[u8], secret: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(secret.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl TokenHasher for SecretHasher {
    fn lookup_hash(&self, secret: &str) -> Vec<u8> {
        hmac(&self.key, secret)
    }

    fn previous_lookup_hash(&self, secret: &str) -> Option<Vec<u8>> {
        self.previous.as_deref().map(|key| hmac(key, secret))
    }
}

impl SecretMinter for SecretHasher {
    fn mint_api_key(&self) -> MintedSecret {
        self.mint::<ApiKeyKind>()
    }

    fn mint_invite(&self) -> MintedSecret {
        self.mint::<InviteKind>()
    }

    fn mint_scim_token(&self) -> MintedSecret {
        self.mint::<ScimKind>()
    }

    fn mint_webhook_secret(&self) -> String {
        use base64::Engine;
        let bytes: [u8; 32] = OsRng.gen();
        format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use orgd_domain::token::{ApiKeyToken, InviteToken, ScimToken};

    use super::*;

    #[test]
    fn minted_keys_are_recognisable_unique_and_hashed() {
        let hasher = SecretHasher::new(b"k");
        let a = hasher.mint_api_key();
        let b = hasher.mint_api_key();
        assert_ne!(a.token, b.token);
        assert!(ApiKeyToken::parse(&a.token).is_ok(), "{}", a.token);
        assert_eq!(a.token.len(), ApiKeyToken::PREFIX.len() + BODY_LEN + 6);
        assert_eq!(a.lookup_hash.len(), 32);
        assert_eq!(hasher.lookup_hash(&a.token), a.lookup_hash);
        assert!(!a.hint.contains(&a.token[9..30]), "the hint does not reveal the secret");
    }

    #[test]
    fn each_kind_is_minted_with_its_own_prefix() {
        let hasher = SecretHasher::new(b"k");
        assert!(InviteToken::parse(&hasher.mint_invite().token).is_ok());
        let scim = hasher.mint_scim_token();
        assert!(ScimToken::parse(&scim.token).is_ok() && ApiKeyToken::parse(&scim.token).is_err());
        assert_eq!(ScimToken::parse(&scim.token).map(|t| t.lookup_hash(&hasher)), Ok(scim.lookup_hash));
    }

    #[test]
    fn a_typo_fails_the_checksum() {
        let token = SecretHasher::new(b"k").mint_api_key().token;
        let mut chars: Vec<char> = token.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        assert!(ApiKeyToken::parse(&chars.into_iter().collect::<String>()).is_err());
        assert!(ApiKeyToken::parse("orgk_short").is_err());
        assert!(ApiKeyToken::parse("eyJhbGciOiJIUzI1NiJ9.e30.x").is_err());
    }

    #[test]
    fn the_hash_depends_on_the_server_key() {
        assert_ne!(SecretHasher::new(b"one").lookup_hash("t"), SecretHasher::new(b"two").lookup_hash("t"));
    }
}
