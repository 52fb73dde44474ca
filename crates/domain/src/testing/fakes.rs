//! Fakes of the ports that are not storage: a secret box and a clock that moves when told.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::sso::{SealError, Sealed, SecretBox};
use crate::time::Clock;

/// "Encrypts" by prefixing the context, under a named key; enough to see what is stored
/// and that the right key and context are used.
pub struct FakeBox {
    /// The name of the key things are "encrypted" under, kept in each sealed value.
    pub key_id: String,
}

impl SecretBox for FakeBox {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, SealError> {
        let ciphertext = [context, b"|", plaintext].concat().iter().map(|b| b ^ 0x55).collect();
        Ok(Sealed { key_id: self.key_id.clone(), ciphertext })
    }

    fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, SealError> {
        let plain: Vec<u8> = sealed.ciphertext.iter().map(|b| b ^ 0x55).collect();
        plain
            .strip_prefix([context, b"|"].concat().as_slice())
            .map(<[u8]>::to_vec)
            .ok_or_else(|| SealError::Corrupt(sealed.key_id.clone()))
    }

    fn current_key_id(&self) -> &str {
        &self.key_id
    }
}

/// A clock that stands still until moved.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock standing at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}
