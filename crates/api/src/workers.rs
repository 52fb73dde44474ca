//! Background work the server runs beside the HTTP API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use infra::PgStore;
use orgd_domain::events::EventService;
use orgd_domain::idempotency::IdempotencyService;
use orgd_domain::verified_domain::DomainRecheck;
use orgd_domain::webhooks::Dispatcher;

/// How many domains one round looks up, each outside any transaction.
const RECHECK_BATCH: i64 = 50;
/// How many expired rows one statement deletes.
const SWEEP_BATCH: u32 = 1_000;
/// How often a sleeping worker looks whether it should stop.
const STOP_POLL: Duration = Duration::from_millis(100);

/// A thread that runs a round of background work every `interval`, and at once again while
/// a round says more is due. Several server instances may run one each: every job here is
/// safe to run concurrently. Stops when dropped.
pub struct Periodic {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Periodic {
    pub fn spawn(
        name: &str,
        interval: Duration,
        mut round: impl FnMut() -> bool + Send + 'static,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name(name.into()).spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                if !round() {
                    sleep_unless_stopped(&stopping, interval);
                }
            }
        })?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

/// Re-verifies verified domains once a day each, looking for due ones every `interval`; a
/// domain's result is applied once however many instances look.
pub fn recheck_domains(recheck: DomainRecheck<PgStore>, interval: Duration) -> std::io::Result<Periodic> {
    Periodic::spawn("domain-recheck", interval, move || match recheck.run_round(RECHECK_BATCH) {
        Ok(round) => {
            if round.handled() > 0 {
                tracing::info!(
                    still_verified = round.still_verified,
                    lost = round.lost,
                    undecided = round.undecided,
                    last_error = round.last_error.as_deref(),
                    "domains re-verified"
                );
            }
            // A full batch means more may be due.
            round.handled() >= usize::try_from(RECHECK_BATCH).unwrap_or(usize::MAX)
        }
        Err(error) => {
            tracing::warn!(%error, "domain re-verification round failed");
            false
        }
    })
}

/// How many deliveries one round of the dispatcher attempts, all at once: a slow endpoint
/// holds up one of them, not the others.
const DISPATCH_BATCH: u32 = 16;

/// Sends due webhook deliveries; looks for them every `interval` when idle.
pub fn dispatch_webhooks(dispatcher: Dispatcher<PgStore>, interval: Duration) -> std::io::Result<Periodic> {
    Periodic::spawn("webhook-dispatch", interval, move || {
        let claimed = match dispatcher.claim(DISPATCH_BATCH) {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "claiming webhook deliveries failed");
                return false;
            }
        };
        let attempted = claimed.len();
        std::thread::scope(|scope| {
            for delivery in claimed {
                let dispatcher = &dispatcher;
                scope.spawn(move || {
                    if let Err(error) = dispatcher.attempt(delivery) {
                        tracing::warn!(%error, "recording a webhook attempt failed");
                    }
                });
            }
        });
        attempted > 0
    })
}

/// Forgets what is kept for a while only, a batch per statement: responses kept for
/// idempotent retries after a day, events after 30 days.
pub fn sweep_expired(
    idempotency: IdempotencyService<PgStore>,
    events: EventService<PgStore>,
    interval: Duration,
) -> std::io::Result<Periodic> {
    Periodic::spawn("sweeper", interval, move || {
        let swept = [("idempotency records", idempotency.sweep(SWEEP_BATCH)), ("events", events.sweep(SWEEP_BATCH))];
        for (what, outcome) in swept {
            match outcome {
                Ok(0) => {}
                Ok(forgotten) => tracing::info!(forgotten, what, "expired rows swept"),
                Err(error) => tracing::warn!(%error, what, "sweeping expired rows failed"),
            }
        }
        false
    })
}

fn sleep_unless_stopped(stop: &AtomicBool, duration: Duration) {
    let until = Instant::now() + duration;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep(STOP_POLL.min(until.saturating_duration_since(Instant::now())));
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
