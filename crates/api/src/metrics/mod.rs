//! Prometheus metrics for operators, served on a listener of their own
//! (`ORGD_METRICS_BIND`, [`listener`]), never on the public one.
//!
//! Requests are counted as they are answered ([`requests`]); what the store knows (its
//! pool, the entry cache, the outbox) is read when scraped ([`readings`]). Each server has
//! its own registry, so servers sharing a process (as the tests' do) report only their own.

pub mod listener;
mod readings;
mod requests;

use std::sync::Arc;

use infra::{PgStore, PoolObserver};
use prometheus::core::Collector;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

pub use requests::record;

use self::readings::{PoolWaits, Readings};

/// Request durations, in seconds: most answers take milliseconds.
const REQUEST_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Every series one server reports.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    rate_limit_rejections: IntCounterVec,
    policy_refusals: IntCounterVec,
    pool_waits: Arc<PoolWaits>,
}

/// Registers `collector` and hands it back for recording.
fn registered<C: Collector + Clone + 'static>(registry: &Registry, collector: C) -> prometheus::Result<C> {
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let by_request = ["method", "route", "status"];
        let requests = registered(
            &registry,
            IntCounterVec::new(
                Opts::new("orgd_http_requests_total", "HTTP requests answered, by route pattern."),
                &by_request,
            )?,
        )?;
        let durations = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "orgd_http_request_duration_seconds",
                    "Time from a request's arrival to its response, by route pattern.",
                )
                .buckets(REQUEST_BUCKETS.to_vec()),
                &by_request,
            )?,
        )?;
        let rate_limit_rejections = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "orgd_rate_limit_rejections_total",
                    "Requests refused with 429 by a rate limit: ip, credential, invites or scim.",
                ),
                &["scope"],
            )?,
        )?;
        let policy_refusals = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "orgd_policy_refusals_total",
                    "Requests an organization's security policy refused, by problem code.",
                ),
                &["code"],
            )?,
        )?;
        let pool_waits = Arc::new(PoolWaits::new(&registry)?);
        let build_info = registered(
            &registry,
            IntGaugeVec::new(Opts::new("orgd_build_info", "The running version, always 1."), &["version"])?,
        )?;
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        Ok(Self { registry, requests, durations, rate_limit_rejections, policy_refusals, pool_waits })
    }

    /// What the main pool tells of its waits; give it to [`PgStore::observed`].
    pub fn pool_observer(&self) -> Arc<dyn PoolObserver> {
        self.pool_waits.clone()
    }

    /// Reads `store`'s pool, entry cache and outbox at every scrape.
    pub fn read_from(&self, store: PgStore) -> prometheus::Result<()> {
        self.registry.register(Box::new(Readings::new(store)?))
    }

    /// Every series in Prometheus' text format. Blocks: the outbox is read from the database.
    pub fn render(&self) -> prometheus::Result<String> {
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}
