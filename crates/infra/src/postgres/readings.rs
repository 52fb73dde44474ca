//! What an operator's metrics read from the store: the pool's connections and its waits,
//! the entry cache's lookups, and the deliveries waiting in the outbox.

use std::sync::Arc;
use std::time::Duration;

use diesel::r2d2::event::{CheckoutEvent, TimeoutEvent};
use diesel::r2d2::HandleEvent;
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use orgd_domain::StoreError;

use super::errors::store_error;
use super::prepared::prepared;
use super::store::PgStore;
use crate::entry_cache::Lookups;

/// Told of every wait for one of the pool's connections ([`PgStore::observed`]). Called on
/// the waiting thread, so it must be quick.
pub trait PoolObserver: Send + Sync {
    /// A connection was handed out after waiting `waited` for it.
    fn checked_out(&self, waited: Duration);
    /// No connection came free within the acquire timeout.
    fn timed_out(&self);
}

/// The pool's events, as r2d2 reports them, passed on to a [`PoolObserver`].
pub(super) struct PoolEvents(pub(super) Arc<dyn PoolObserver>);

impl std::fmt::Debug for PoolEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PoolEvents")
    }
}

impl HandleEvent for PoolEvents {
    fn handle_checkout(&self, event: CheckoutEvent) {
        self.0.checked_out(event.duration());
    }

    fn handle_timeout(&self, _: TimeoutEvent) {
        self.0.timed_out();
    }
}

/// The pool's open connections, by whether a request holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConnections {
    pub in_use: u32,
    pub idle: u32,
}

/// What waits to be delivered (emails and webhook deliveries), and what was given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct OutboxBacklog {
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    #[diesel(sql_type = BigInt)]
    pub dead_letters: i64,
}

/// Each count is read from a partial index of its status, so the query stays cheap however
/// many deliveries were made.
const BACKLOG: &str = "SELECT
    (SELECT count(*) FROM outbox_emails WHERE status = 'pending')
        + (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS pending,
    (SELECT count(*) FROM outbox_emails WHERE status = 'dead')
        + (SELECT count(*) FROM webhook_deliveries WHERE status = 'failed') AS dead_letters";

impl PgStore {
    pub fn pool_connections(&self) -> PoolConnections {
        let state = self.pool().state();
        PoolConnections {
            in_use: state.connections.saturating_sub(state.idle_connections),
            idle: state.idle_connections,
        }
    }

    /// Since start; none without an entry cache.
    pub fn entry_cache_lookups(&self) -> Lookups {
        self.entry_cache().map(|cache| cache.lookups()).unwrap_or_default()
    }

    pub fn outbox_backlog(&self) -> Result<OutboxBacklog, StoreError> {
        prepared(diesel::sql_query(BACKLOG)).get_result(&mut *self.connection()?).map_err(store_error)
    }
}
