//! The secrets this service issues — organization API keys, invite links, SCIM bearer
//! tokens — as values recognised offline.
//!
//! Each reads `<prefix>` + 32 random base62 characters (about 190 bits) + a 6-character
//! base62 CRC32 of that body. The prefix tells people and secret scanners what a secret is;
//! the checksum lets a scanner (or this service, before any database work) tell a real
//! secret from a typo. Parsing is pure; what a secret is stored under (a keyed hash) is
//! the [`TokenHasher`] port's business, so nothing here needs the server's key.

use std::fmt;
use std::marker::PhantomData;

/// The random part of a secret, in base62 characters.
pub const BODY_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The port that turns a presented secret into the keyed hash it is stored under.
pub trait TokenHasher: Send + Sync {
    /// The keyed hash of `secret` under the current key.
    fn lookup_hash(&self, secret: &str) -> Vec<u8>;

    /// The hash under the key the current one replaced, while a rotation is under way.
    fn previous_lookup_hash(&self, _secret: &str) -> Option<Vec<u8>> {
        None
    }
}

/// A presented secret's keyed hashes: under the current key, and under the key it replaced
/// while a rotation is under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupHashes {
    /// The hash under the current key.
    pub current: Vec<u8>,
    /// The hash under the key it replaced, while a rotation is under way.
    pub previous: Option<Vec<u8>>,
}

impl LookupHashes {
    /// Hashes under one key, no rotation under way.
    pub fn current(hash: Vec<u8>) -> Self {
        Self { current: hash, previous: None }
    }

    /// Finds what the secret names by its current hash, else by its previous one; a secret
    /// found by its previous hash is re-keyed (`rekey(from, to)`) in the same transaction, so
    /// that every stored secret moves to the current key the first time it is used and the
    /// previous key can be retired once none is left under it.
    pub fn find<C: ?Sized, T, E>(
        &self,
        ctx: &mut C,
        find: impl Fn(&mut C, &[u8]) -> Result<Option<T>, E>,
        rekey: impl FnOnce(&mut C, &[u8], &[u8]) -> Result<(), E>,
    ) -> Result<Option<T>, E> {
        if let Some(found) = find(ctx, &self.current)? {
            return Ok(Some(found));
        }
        let Some(previous) = &self.previous else { return Ok(None) };
        let Some(found) = find(ctx, previous)? else { return Ok(None) };
        rekey(ctx, previous, &self.current)?;
        Ok(Some(found))
    }
}

/// One kind of secret: its prefix, and what to call it in errors.
pub trait TokenKind {
    /// What every secret of the kind starts with, e.g. `orgk_`.
    const PREFIX: &'static str;
    /// What to call the kind in errors, e.g. `API key`.
    const WHAT: &'static str;
}

/// An organization API key (`orgk_…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyKind {}

/// An invite link's secret (`orgi_…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteKind {}

/// An organization's SCIM bearer token (`orgs_…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimKind {}

impl TokenKind for ApiKeyKind {
    const PREFIX: &'static str = "orgk_";
    const WHAT: &'static str = "API key";
}

impl TokenKind for InviteKind {
    const PREFIX: &'static str = "orgi_";
    const WHAT: &'static str = "invite token";
}

impl TokenKind for ScimKind {
    const PREFIX: &'static str = "orgs_";
    const WHAT: &'static str = "SCIM token";
}

/// An organization API key: `orgk_…`.
pub type ApiKeyToken = Token<ApiKeyKind>;
/// An invite link's secret: `orgi_…`.
pub type InviteToken = Token<InviteKind>;
/// A SCIM bearer token: `orgs_…`.
pub type ScimToken = Token<ScimKind>;

/// A string that is not a well-formed secret of the expected kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this is not a well-formed {what}")]
pub struct MalformedToken {
    /// What the text was meant to be, e.g. `API key`.
    pub what: &'static str,
}

/// A well-formed secret of kind `K`: right prefix, length, alphabet and checksum. Whether
/// it names anything is for the use case to find out. Its `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token<K> {
    secret: String,
    kind: PhantomData<K>,
}

impl<K: TokenKind> Token<K> {
    /// What every secret of the kind starts with.
    pub const PREFIX: &'static str = K::PREFIX;

    /// Accepts a secret with the kind's prefix, the right length and a valid checksum;
    /// recognised offline, without a lookup.
    pub fn parse(raw: &str) -> Result<Self, MalformedToken> {
        let malformed = MalformedToken { what: K::WHAT };
        let rest = raw.strip_prefix(K::PREFIX).ok_or(malformed)?;
        if rest.len() != BODY_LEN + CHECKSUM_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(malformed);
        }
        let (body, sum) = rest.split_at(BODY_LEN);
        if checksum(body) != sum {
            return Err(malformed);
        }
        Ok(Self { secret: raw.to_owned(), kind: PhantomData })
    }

    /// The secret whose random part is `body` ([`BODY_LEN`] base62 characters), with its
    /// prefix and checksum; for the adapter that draws the randomness.
    pub fn from_body(body: &str) -> Result<Self, MalformedToken> {
        Self::parse(&format!("{}{body}{}", K::PREFIX, checksum(body)))
    }

    /// Whether `raw` claims to be this kind of secret (whether or not it is well-formed),
    /// to tell it from other credentials sent the same way.
    pub fn is_claimed_by(raw: &str) -> bool {
        raw.starts_with(K::PREFIX)
    }

    /// The recognisable start and end, e.g. `orgk_Ab12…x9Qz`, for people to tell secrets
    /// apart; far too little of it to use.
    pub fn hint(&self) -> String {
        let rest = &self.secret[K::PREFIX.len()..];
        format!("{}{}…{}", K::PREFIX, &rest[..4], &rest[rest.len() - 4..])
    }

    /// What the secret is stored under.
    pub fn lookup_hash<H: TokenHasher + ?Sized>(&self, hasher: &H) -> Vec<u8> {
        hasher.lookup_hash(&self.secret)
    }

    /// What the secret may be stored under, during a key rotation too.
    pub fn lookup_hashes<H: TokenHasher + ?Sized>(&self, hasher: &H) -> LookupHashes {
        LookupHashes { current: hasher.lookup_hash(&self.secret), previous: hasher.previous_lookup_hash(&self.secret) }
    }

    /// The secret itself, to hand to its holder once.
    pub fn expose(&self) -> &str {
        &self.secret
    }

    /// The secret itself, consuming the token.
    pub fn into_secret(self) -> String {
        self.secret
    }
}

impl<K: TokenKind> fmt::Debug for Token<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(redacted)", K::WHAT)
    }
}

fn checksum(body: &str) -> String {
    let mut value = crc32fast::hash(body.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56";

    #[test]
    fn secrets_issued_before_keep_parsing() {
        // `BODY` with its CRC-32 (zlib's) in base62, as keys have always been minted.
        let issued = "orgk_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op564UdBi9";
        assert_eq!(ApiKeyToken::parse(issued).unwrap(), ApiKeyToken::from_body(BODY).unwrap());
    }

    #[test]
    fn a_composed_secret_parses_as_its_own_kind_only() {
        let key = ApiKeyToken::from_body(BODY).unwrap();
        assert!(key.expose().starts_with("orgk_Ab12"));
        assert_eq!(key.expose().len(), 5 + BODY_LEN + CHECKSUM_LEN);
        assert_eq!(ApiKeyToken::parse(key.expose()).unwrap(), key);
        assert_eq!(InviteToken::parse(key.expose()).unwrap_err().what, "invite token");
        let scim = ScimToken::from_body(BODY).unwrap();
        assert!(ScimToken::is_claimed_by(scim.expose()) && !ApiKeyToken::is_claimed_by(scim.expose()));
        assert!(ApiKeyToken::parse(scim.expose()).is_err());
        assert_ne!(ScimToken::PREFIX, ApiKeyToken::PREFIX);
        assert_ne!(ScimToken::PREFIX, InviteToken::PREFIX);
    }

    #[test]
    fn typos_and_other_shapes_are_refused() {
        let token = InviteToken::from_body(BODY).unwrap().into_secret();
        let mut typo: Vec<char> = token.chars().collect();
        typo[10] = if typo[10] == 'a' { 'b' } else { 'a' };
        let typo: String = typo.into_iter().collect();
        for bad in [typo.as_str(), "orgi_short", "eyJhbGciOiJIUzI1NiJ9.e30.x", "", &format!("{token}x"), &token[1..]] {
            assert!(InviteToken::parse(bad).is_err(), "{bad}");
        }
        let non_ascii = format!("orgi_{}é", &BODY[..BODY_LEN - 2]);
        assert!(InviteToken::parse(&non_ascii).is_err());
        assert!(InviteToken::from_body("not base62 at all, and too long too!").is_err());
    }

    #[test]
    fn the_hint_and_debug_do_not_reveal_the_secret() {
        let token = ScimToken::from_body(BODY).unwrap();
        let hint = token.hint();
        assert!(hint.starts_with("orgs_Ab12…") && hint.chars().count() == 5 + 4 + 1 + 4, "{hint}");
        assert!(!hint.contains(&BODY[4..28]));
        assert_eq!(format!("{token:?}"), "SCIM token(redacted)");
    }

    #[test]
    fn hashing_is_the_port_s() {
        struct Reverse;
        impl TokenHasher for Reverse {
            fn lookup_hash(&self, secret: &str) -> Vec<u8> {
                secret.bytes().rev().collect()
            }
        }
        let token = ApiKeyToken::from_body(BODY).unwrap();
        assert_eq!(token.lookup_hash(&Reverse), token.expose().bytes().rev().collect::<Vec<_>>());
    }

    /// Stored secrets by hash; `find` of [`LookupHashes`] over it.
    fn lookup(stored: &mut Vec<Vec<u8>>, hashes: &LookupHashes) -> Option<Vec<u8>> {
        let found: Result<_, ()> = hashes.find(
            stored,
            |stored, hash| Ok(stored.iter().find(|h| h.as_slice() == hash).cloned()),
            |stored, from, to| {
                stored.iter_mut().filter(|h| h.as_slice() == from).for_each(|h| *h = to.to_vec());
                Ok(())
            },
        );
        found.unwrap()
    }

    #[test]
    fn a_secret_under_the_previous_key_is_found_and_moved_to_the_current_one() {
        let mut stored = vec![b"old".to_vec(), b"other".to_vec()];
        let rotating = LookupHashes { current: b"new".to_vec(), previous: Some(b"old".to_vec()) };
        assert_eq!(lookup(&mut stored, &rotating), Some(b"old".to_vec()));
        assert_eq!(stored, [b"new".to_vec(), b"other".to_vec()]);
        // Found by the current hash from then on, also once the previous key is retired.
        assert_eq!(lookup(&mut stored, &LookupHashes::current(b"new".to_vec())), Some(b"new".to_vec()));
        assert_eq!(lookup(&mut stored, &LookupHashes::current(b"old".to_vec())), None);
        // Without a previous key, nothing under another one is found.
        let unknown = LookupHashes { current: b"x".to_vec(), previous: Some(b"y".to_vec()) };
        assert_eq!(lookup(&mut stored, &unknown), None);
        assert_eq!(stored, [b"new".to_vec(), b"other".to_vec()]);
    }
}
