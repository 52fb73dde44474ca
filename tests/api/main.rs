//! Black-box tests: the real server on a free port, against its own PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod api_keys;
mod audit_log;
mod auth;
pub mod authorization;
mod client_timeouts;
mod docs;
mod domains;
mod entry_cache;
pub mod escalation;
mod events;
mod faults;
mod first_steps;
mod governance;
mod helpers;
mod idempotency;
mod instances;
mod invites;
mod members;
mod members_admin;
mod metrics;
mod mfa;
mod notifications;
mod openapi;
mod operations;
mod orgs;
mod policies;
mod rate_limits;
mod roles;
mod rotation;
mod scim_config;
mod scim_protocol;
mod secrets;
mod shutdown;
mod sso;
mod teams;
mod versions;
mod webhooks;
