//! Organization API keys: org-scoped credentials for programs.
//!
//! A key is shown once, at creation; only its keyed hash is stored. It acts as its
//! organization with exactly the permissions it was given, which can never exceed its
//! creator's at the time.

mod model;
mod service;

pub use model::{ApiKey, ApiKeyError, ApiKeyRepository, CreateApiKey, IssuedApiKey, MintedSecret, SecretMinter};
pub use service::ApiKeyService;
