//! Organization API key secrets: generation, offline recognition, and keyed hashing.
//!
//! A key reads `orgk_` + 32 random base62 characters (about 190 bits) + a 6-character
//! base62 CRC32 of that body. The prefix tells people and secret scanners what it is; the
//! checksum lets a scanner (or this server, before any database work) tell a real key from
//! a typo. Only `HMAC-SHA256(server key, token)` is stored, so a leaked database yields no
//! usable key, and the unique index on that hash is the lookup.

use domain::apikey::{MintedSecret, SecretMinter};
use hmac::{Hmac, Mac};
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::Rng;
use sha2::Sha256;

pub const API_KEY_PREFIX: &str = "orgk_";
pub const INVITE_PREFIX: &str = "orgi_";
const BODY_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn checksum(body: &str) -> String {
    let mut value = crc32fast::hash(body.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

/// True when `token` has the shape and checksum of an API key this service issues.
pub fn is_well_formed_api_key(token: &str) -> bool {
    is_well_formed(token, API_KEY_PREFIX)
}

/// True when `token` has the shape and checksum of an invite secret this service issues.
pub fn is_well_formed_invite(token: &str) -> bool {
    is_well_formed(token, INVITE_PREFIX)
}

fn is_well_formed(token: &str, prefix: &str) -> bool {
    let Some(rest) = token.strip_prefix(prefix) else { return false };
    if rest.len() != BODY_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (body, sum) = rest.split_at(BODY_LEN);
    checksum(body) == sum
}

/// Hashes and mints secrets with the server's HMAC key.
#[derive(Clone)]
pub struct SecretHasher {
    key: Vec<u8>,
}

impl SecretHasher {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    pub fn lookup_hash(&self, token: &str) -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

impl SecretHasher {
    fn mint(&self, prefix: &str) -> MintedSecret {
        let body: String = OsRng.sample_iter(&Alphanumeric).take(BODY_LEN).map(char::from).collect();
        let sum = checksum(&body);
        let token = format!("{prefix}{body}{sum}");
        let hint = format!("{prefix}{}…{}", &body[..4], &sum[CHECKSUM_LEN - 4..]);
        MintedSecret { lookup_hash: self.lookup_hash(&token), hint, token }
    }
}

impl SecretMinter for SecretHasher {
    fn mint_api_key(&self) -> MintedSecret {
        self.mint(API_KEY_PREFIX)
    }

    fn mint_invite(&self) -> MintedSecret {
        self.mint(INVITE_PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_are_recognisable_unique_and_hashed() {
        let hasher = SecretHasher::new(b"k");
        let a = hasher.mint_api_key();
        let b = hasher.mint_api_key();
        assert_ne!(a.token, b.token);
        assert!(is_well_formed_api_key(&a.token), "{}", a.token);
        assert_eq!(a.token.len(), API_KEY_PREFIX.len() + BODY_LEN + CHECKSUM_LEN);
        assert_eq!(a.lookup_hash.len(), 32);
        assert_eq!(hasher.lookup_hash(&a.token), a.lookup_hash);
        assert!(!a.hint.contains(&a.token[9..30]), "the hint does not reveal the secret");
    }

    #[test]
    fn a_typo_fails_the_checksum() {
        let token = SecretHasher::new(b"k").mint_api_key().token;
        let mut chars: Vec<char> = token.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        assert!(!is_well_formed_api_key(&chars.into_iter().collect::<String>()));
        assert!(!is_well_formed_api_key("orgk_short"));
        assert!(!is_well_formed_api_key("eyJhbGciOiJIUzI1NiJ9.e30.x"));
    }

    #[test]
    fn the_hash_depends_on_the_server_key() {
        assert_ne!(SecretHasher::new(b"one").lookup_hash("t"), SecretHasher::new(b"two").lookup_hash("t"));
    }
}
