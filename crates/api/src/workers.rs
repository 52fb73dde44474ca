//! Background work the server runs beside the HTTP API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use domain::verified_domain::DomainRecheck;
use infra::PgStore;

/// How many domains one round looks up, each outside any transaction.
const RECHECK_BATCH: i64 = 50;
/// How often a sleeping worker looks whether it should stop.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Re-verifies verified domains once a day each, looking for due ones every `interval`.
/// Several server instances may run one each: a domain's result is applied once.
pub struct DomainRecheckWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DomainRecheckWorker {
    pub fn spawn(recheck: DomainRecheck<PgStore>, interval: Duration) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("domain-recheck".into()).spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let handled = match recheck.run_round(RECHECK_BATCH) {
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
                        round.handled()
                    }
                    Err(error) => {
                        tracing::warn!(%error, "domain re-verification round failed");
                        0
                    }
                };
                // A full batch means more may be due: go on at once.
                if handled < usize::try_from(RECHECK_BATCH).unwrap_or(usize::MAX) {
                    sleep_unless_stopped(&stopping, interval);
                }
            }
        })?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

fn sleep_unless_stopped(stop: &AtomicBool, duration: Duration) {
    let until = Instant::now() + duration;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep(STOP_POLL.min(until.saturating_duration_since(Instant::now())));
    }
}

impl Drop for DomainRecheckWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
