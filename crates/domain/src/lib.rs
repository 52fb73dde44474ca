//! The pure domain of the organization service.
//!
//! Entities, validated value objects, the permission model, every business rule and the
//! use-case services, plus the ports (traits) those services need. No database, web
//! framework or async runtime is reachable from here, so another Rust service can depend
//! on this crate alone — for example to run the same authorization decision in-process.

pub mod access;
pub mod apikey;
pub mod audit;
pub mod authz;
pub mod context;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod invite;
pub mod join;
pub mod llm;
pub mod mail;
pub mod member;
pub mod notification;
pub mod org;
pub mod pagination;
pub mod platform;
pub mod policy;
pub mod role;
pub mod scim;
pub mod spend;
pub mod sso;
pub mod store;
pub mod team;
pub mod text;
pub mod time;
pub mod token;
pub mod user;
pub mod verified_domain;
pub mod webhooks;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use context::{ApiKeyCredential, Caller, Identity, Principal, RequestMeta};
pub use error::{AccessError, FieldError, Invalid, StoreError};
pub use store::{Store, Tx};

#[cfg(test)]
mod governance_tests;
