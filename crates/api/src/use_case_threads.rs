//! The threads that run use cases, which block on the database: as many as the store has
//! connections, fed in the order requests arrive.
//!
//! The blocking pool of each actix worker would serve too, but under load it grows a
//! thread for nearly every request in flight (it starts one whenever none is idle at the
//! very moment a task arrives), and the scheduler then picks among them in no order: more
//! memory, more switching, and a long tail of waits. Here a request waits in a queue,
//! holding no thread, until one of a fixed set is free.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads taking jobs from one queue. They end once it is dropped.
pub struct UseCaseThreads {
    queue: Sender<Job>,
    longest_wait: Duration,
}

/// Why a use case did not answer.
#[derive(Debug, thiserror::Error)]
pub enum NoAnswer {
    /// It waited for a thread longer than a request waits for a database connection: it is
    /// not run, and the client is told to come back, as a pool timeout would.
    #[error("no thread was free for {0:?}")]
    Overloaded(Duration),
    /// Its thread panicked, or the threads are gone.
    #[error("the use case ended without an answer")]
    Lost,
}

impl UseCaseThreads {
    /// Starts `count` threads (at least one). A use case that waited `longest_wait` for one
    /// is not run.
    pub fn start(count: usize, longest_wait: Duration) -> std::io::Result<Self> {
        let (queue, jobs) = crossbeam_channel::unbounded::<Job>();
        for n in 0..count.max(1) {
            let jobs: Receiver<Job> = jobs.clone();
            std::thread::Builder::new().name(format!("use-case-{n}")).spawn(move || {
                for job in jobs {
                    // A panicking use case fails its own request only; its sender is dropped,
                    // which its caller sees as no answer.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                }
            })?;
        }
        Ok(Self { queue, longest_wait })
    }

    /// Runs `work` on one of the threads, once it is its turn, and answers what it returns.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, NoAnswer> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let (queued, longest_wait) = (Instant::now(), self.longest_wait);
        let job: Job = Box::new(move || {
            let waited = queued.elapsed();
            let outcome = if waited > longest_wait { Err(NoAnswer::Overloaded(waited)) } else { Ok(work()) };
            // The request may have gone meanwhile; its answer is then dropped.
            let _ = answer.send(outcome);
        });
        self.queue.send(job).map_err(|_| NoAnswer::Lost)?;
        answered.await.map_err(|_| NoAnswer::Lost)?
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[actix_web::test]
    async fn runs_work_and_survives_a_panic() {
        let threads = UseCaseThreads::start(1, Duration::from_secs(5)).unwrap();
        assert_eq!(threads.run(|| 6 * 7).await.unwrap(), 42);
        assert!(threads.run(|| -> u8 { panic!("a broken use case") }).await.is_err());
        let after = tokio::time::timeout(Duration::from_secs(5), threads.run(|| "still here")).await;
        assert_eq!(after.expect("the thread outlived the panic").unwrap(), "still here");
    }

    #[actix_web::test]
    async fn never_runs_more_than_its_threads_at_once() {
        let threads = Arc::new(UseCaseThreads::start(3, Duration::from_secs(5)).unwrap());
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let calls = (0..12).map(|_| {
            let (threads, running, most) = (threads.clone(), running.clone(), most.clone());
            async move {
                threads
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
            }
        });
        for answer in futures_util::future::join_all(calls).await {
            answer.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }

    #[actix_web::test]
    async fn a_use_case_that_waited_too_long_is_not_run() {
        let threads = Arc::new(UseCaseThreads::start(1, Duration::from_millis(50)).unwrap());
        let busy = threads.run(|| std::thread::sleep(Duration::from_millis(200)));
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = ran.clone();
        let late = threads.run(move || counted.fetch_add(1, Ordering::SeqCst));
        let (busy, late) = futures_util::future::join(busy, late).await;
        busy.unwrap();
        assert!(matches!(late, Err(NoAnswer::Overloaded(waited)) if waited >= Duration::from_millis(150)));
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert!(threads.run(|| ()).await.is_ok(), "a use case that does not wait runs");
    }
}
