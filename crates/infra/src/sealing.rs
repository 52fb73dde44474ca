//! The [`SecretBox`] port with XChaCha20-Poly1305 under the server's encryption key.
//!
//! A sealed secret is `nonce (24 bytes) ‖ ciphertext ‖ tag`, with a fresh random nonce per
//! seal (192-bit nonces make random ones safe however many secrets are sealed) and the
//! record it belongs to as associated data. Its `key_id` is derived from the key, so after
//! a rotation each ciphertext says which key opens it: new secrets are sealed under the
//! current key, and the previous key only opens what it sealed before.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use orgd_domain::sso::{SealError, Sealed, SecretBox};
use sha2::{Digest, Sha256};

/// Bytes of an encryption key.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

struct Keyed {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Keyed {
    fn new(key: &[u8; KEY_LEN]) -> Self {
        Self { id: key_id(key), cipher: XChaCha20Poly1305::new(key.into()) }
    }
}

/// Names a key without revealing it: the start of a SHA-256 of it, domain-separated.
pub fn key_id(key: &[u8; KEY_LEN]) -> String {
    let digest = Sha256::new().chain_update(b"orgd secret box key id\0").chain_update(key).finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Seals under the current key; opens under the current or the previous one.
pub struct AeadSecretBox {
    current: Keyed,
    previous: Option<Keyed>,
}

impl AeadSecretBox {
    pub fn new(current: &[u8; KEY_LEN], previous: Option<&[u8; KEY_LEN]>) -> Self {
        Self { current: Keyed::new(current), previous: previous.map(Keyed::new) }
    }

    fn key(&self, id: &str) -> Option<&Keyed> {
        std::iter::once(&self.current).chain(&self.previous).find(|k| k.id == id)
    }
}

impl SecretBox for AeadSecretBox {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, SealError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .current
            .cipher
            .encrypt(&nonce, Payload { msg: plaintext, aad: context })
            .map_err(|_| SealError::Corrupt(self.current.id.clone()))?;
        Ok(Sealed { key_id: self.current.id.clone(), ciphertext: [nonce.as_slice(), &sealed].concat() })
    }

    fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, SealError> {
        let key = self.key(&sealed.key_id).ok_or_else(|| SealError::UnknownKey(sealed.key_id.clone()))?;
        let corrupt = || SealError::Corrupt(sealed.key_id.clone());
        if sealed.ciphertext.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = sealed.ciphertext.split_at(NONCE_LEN);
        key.cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: context }).map_err(|_| corrupt())
    }

    fn current_key_id(&self) -> &str {
        &self.current.id
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const OLD: [u8; KEY_LEN] = [7; KEY_LEN];
    const NEW: [u8; KEY_LEN] = [9; KEY_LEN];

    #[test]
    fn a_secret_opens_only_under_its_key_and_context() {
        let secrets = AeadSecretBox::new(&OLD, None);
        let sealed = secrets.seal(b"client-secret", b"org_a").unwrap();
        assert_eq!(sealed.key_id, key_id(&OLD));
        assert!(!sealed.ciphertext.windows(13).any(|w| w == b"client-secret"));
        assert_eq!(secrets.open(&sealed, b"org_a").unwrap(), b"client-secret");
        assert_eq!(secrets.open(&sealed, b"org_b"), Err(SealError::Corrupt(sealed.key_id.clone())));
        let again = secrets.seal(b"client-secret", b"org_a").unwrap();
        assert_ne!(again.ciphertext, sealed.ciphertext, "a fresh nonce each time");
        let mut altered = sealed.clone();
        altered.ciphertext[30] ^= 1;
        assert!(secrets.open(&altered, b"org_a").is_err());
        altered.ciphertext.truncate(10);
        assert!(secrets.open(&altered, b"org_a").is_err());
    }

    #[test]
    fn after_a_rotation_the_previous_key_still_opens_what_it_sealed() {
        let before = AeadSecretBox::new(&OLD, None).seal(b"client-secret", b"org_a").unwrap();
        let rotated = AeadSecretBox::new(&NEW, Some(&OLD));
        assert_eq!(rotated.open(&before, b"org_a").unwrap(), b"client-secret");
        let after = rotated.seal(b"client-secret", b"org_a").unwrap();
        assert_eq!(after.key_id, key_id(&NEW), "new secrets are sealed under the current key");
        assert_eq!(rotated.current_key_id(), key_id(&NEW));
        let retired = AeadSecretBox::new(&NEW, None);
        assert_eq!(retired.open(&before, b"org_a"), Err(SealError::UnknownKey(key_id(&OLD))));
        assert_eq!(retired.open(&after, b"org_a").unwrap(), b"client-secret");
    }
}
