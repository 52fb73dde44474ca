//! The PostgreSQL adapter: one module per port.

mod api_keys;
pub mod audit;
mod directory;
mod domains;
mod errors;
mod invites;
mod join_requests;
mod members;
mod mfa;
mod notifications;
mod orgs;
pub mod outbox;
mod policies;
mod roles;
pub mod schema;
mod scim;
mod sso;
mod store;
mod teams;
mod users;

pub use store::{PgPool, PgStore, PgTx};
