//! What the store knows, read at each scrape: the pool's connections, the entry cache's
//! lookups and the outbox; and the pool's waits, which it reports as they happen.

use std::time::Duration;

use infra::{PgStore, PoolObserver};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use super::registered;

/// Waits for a connection, in seconds: nothing at all while the pool has one free.
const CHECKOUT_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// How long requests waited for one of the main pool's connections, and how often in vain.
pub(super) struct PoolWaits {
    checkout_wait: Histogram,
    timeouts: IntCounter,
}

impl PoolWaits {
    pub(super) fn new(registry: &Registry) -> prometheus::Result<Self> {
        let checkout_wait = Histogram::with_opts(
            HistogramOpts::new(
                "orgd_db_pool_checkout_wait_seconds",
                "Time waited for a connection of the main database pool.",
            )
            .buckets(CHECKOUT_BUCKETS.to_vec()),
        )?;
        let timeouts = IntCounter::new(
            "orgd_db_pool_timeouts_total",
            "Waits for a connection of the main pool that ended at ORGD_DB_POOL_TIMEOUT_SECS (answered 503).",
        )?;
        Ok(Self { checkout_wait: registered(registry, checkout_wait)?, timeouts: registered(registry, timeouts)? })
    }
}

impl PoolObserver for PoolWaits {
    fn checked_out(&self, waited: Duration) {
        self.checkout_wait.observe(waited.as_secs_f64());
    }

    fn timed_out(&self) {
        self.timeouts.inc();
    }
}

/// The series read from the store when scraped.
pub(super) struct Readings {
    store: PgStore,
    pool: IntGaugeVec,
    outbox_pending: IntGauge,
    outbox_dead_letters: IntGauge,
    /// Describes the lookups; each scrape reports a copy holding the cache's own counts.
    cache_lookups: IntCounterVec,
}

fn cache_lookups() -> prometheus::Result<IntCounterVec> {
    IntCounterVec::new(
        Opts::new(
            "orgd_entry_cache_lookups_total",
            "Lookups of the entry cache: answered from memory (hit) or left to the database (miss).",
        ),
        &["result"],
    )
}

impl Readings {
    pub(super) fn new(store: PgStore) -> prometheus::Result<Self> {
        Ok(Self {
            store,
            pool: IntGaugeVec::new(
                Opts::new("orgd_db_pool_connections", "Open connections of the main database pool, by state."),
                &["state"],
            )?,
            outbox_pending: IntGauge::new(
                "orgd_outbox_pending",
                "Emails and webhook deliveries waiting to be delivered.",
            )?,
            outbox_dead_letters: IntGauge::new(
                "orgd_outbox_dead_letters",
                "Emails and webhook deliveries given up on after their last attempt.",
            )?,
            cache_lookups: cache_lookups()?,
        })
    }

    fn lookups_now(&self) -> Vec<MetricFamily> {
        let lookups = self.store.entry_cache_lookups();
        let Ok(counted) = cache_lookups() else { return Vec::new() };
        counted.with_label_values(&["hit"]).inc_by(lookups.hits);
        counted.with_label_values(&["miss"]).inc_by(lookups.misses);
        counted.collect()
    }
}

impl Collector for Readings {
    fn desc(&self) -> Vec<&Desc> {
        [self.pool.desc(), self.outbox_pending.desc(), self.outbox_dead_letters.desc(), self.cache_lookups.desc()]
            .concat()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let connections = self.store.pool_connections();
        self.pool.with_label_values(&["in_use"]).set(connections.in_use.into());
        self.pool.with_label_values(&["idle"]).set(connections.idle.into());
        let mut families = self.pool.collect();
        families.extend(self.lookups_now());
        match self.store.outbox_backlog() {
            Ok(backlog) => {
                self.outbox_pending.set(backlog.pending);
                self.outbox_dead_letters.set(backlog.dead_letters);
                families.extend(self.outbox_pending.collect());
                families.extend(self.outbox_dead_letters.collect());
            }
            // Left out rather than reported stale; the pool's series tell why.
            Err(error) => tracing::warn!(%error, "metrics: the outbox could not be read"),
        }
        families
    }
}
