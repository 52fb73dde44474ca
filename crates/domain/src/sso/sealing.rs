//! The port secrets that must be read back (unlike API keys, which are only compared) are
//! encrypted at rest through.

/// A secret encrypted under one of the server's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Names the key that sealed it, so that after a key rotation the previous key still
    /// opens what it sealed.
    pub key_id: String,
    /// Whatever the adapter needs to open it (nonce, ciphertext, tag).
    pub ciphertext: Vec<u8>,
}

/// Why a sealed secret could not be sealed or opened. A server fault, never the caller's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The ciphertext names a key this server does not hold (the value).
    #[error("sealed under key `{0}`, which is neither the current nor the previous encryption key")]
    UnknownKey(String),
    /// The ciphertext does not open under its key (named): altered, or sealed for another
    /// context.
    #[error("the ciphertext does not open under key `{0}`: altered, or sealed for another record")]
    Corrupt(String),
}

/// Authenticated encryption under the server's current key, opening with the current or
/// the previous one. `context` binds a ciphertext to its place (e.g. one organization's
/// OIDC client secret), so a ciphertext copied to another row does not open there.
pub trait SecretBox: Send + Sync + 'static {
    /// Encrypts `plaintext` under the current key, bound to `context`.
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, SealError>;

    /// Decrypts `sealed`, which must have been sealed for `context`.
    fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, SealError>;

    /// The id of the key new secrets are sealed under.
    fn current_key_id(&self) -> &str;
}

impl From<SealError> for crate::StoreError {
    fn from(err: SealError) -> Self {
        crate::StoreError::Internal(err.to_string())
    }
}

/// Re-seals stored secrets under the current key, one transaction per batch, until a batch
/// comes up short: `reseal_batch` re-seals at most the limit it is given and answers how
/// many it did. Answers the total.
pub fn reseal_in_batches<S: crate::store::Store>(
    store: &S,
    batch: i64,
    reseal_batch: impl Fn(&mut dyn crate::store::Tx, i64) -> Result<usize, crate::StoreError>,
) -> Result<usize, crate::StoreError> {
    let batch = batch.max(1);
    let mut total = 0;
    loop {
        let done = store.transaction(|tx| reseal_batch(tx, batch))?;
        total += done;
        if i64::try_from(done).map_or(true, |done| done < batch) {
            return Ok(total);
        }
    }
}
