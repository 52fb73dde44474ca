//! The PostgreSQL adapter: one module per port.

mod audit;
mod errors;
mod members;
mod orgs;
pub mod schema;
mod store;
mod users;

pub use store::{PgPool, PgStore, PgTx};
