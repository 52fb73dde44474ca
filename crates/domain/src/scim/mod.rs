//! SCIM provisioning: whether an organization's identity provider may provision its
//! members, and the bearer token it does so with (shown once, stored as a keyed hash).

pub mod filter;
mod model;
pub mod path;
mod service;

pub use model::{ScimConfig, ScimRepository, StoredScimToken};
pub use service::{ScimError, ScimService, ScimWrite};

#[cfg(test)]
mod tests;
