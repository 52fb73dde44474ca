//! The PostgreSQL adapter: one module per port.

mod api_keys;
pub mod audit;
mod errors;
mod invites;
mod members;
mod orgs;
pub mod outbox;
mod roles;
pub mod schema;
mod store;
mod teams;
mod users;

pub use store::{PgPool, PgStore, PgTx};
