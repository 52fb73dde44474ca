//! The PostgreSQL adapter: one module per port.

pub mod access_signals;
mod api_keys;
pub mod audit;
mod dashboard;
mod directory;
mod domains;
mod errors;
mod events;
mod idempotency;
mod invites;
mod join_requests;
mod llm;
mod members;
mod mfa;
mod notifications;
mod orgs;
pub mod outbox;
mod platform;
mod policies;
mod prepared;
mod readings;
mod roles;
pub mod schema;
mod scim;
mod spend;
mod sso;
mod store;
mod teams;
mod users;
mod webhooks;

pub use readings::{OutboxBacklog, PoolConnections, PoolObserver};
pub use store::{OuterTransaction, PgPool, PgStore, PgTx, PoolSettings};
