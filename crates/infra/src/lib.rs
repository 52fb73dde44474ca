//! Adapters for the domain's ports: PostgreSQL through diesel and r2d2, with the schema's
//! migrations embedded in the binary.

pub mod dns;
pub mod entry_cache;
pub mod mail;
pub mod postgres;
pub mod sealing;
pub mod secrets;
pub mod setup;
#[cfg(feature = "test-db")]
pub mod test_db;
#[cfg(feature = "test-dns")]
pub mod test_dns;
pub mod webhook;

pub use postgres::{OutboxBacklog, OuterTransaction, PgStore, PoolConnections, PoolObserver, PoolSettings};
pub use setup::SetupError;
