//! The threads that run use cases, which block on the database: as many as the store has
//! connections, fed in the order requests arrive.
//!
//! The blocking pool of each actix worker would serve too, but under load it grows a
//! thread for nearly every request in flight (it starts one whenever none is idle at the
//! very moment a task arrives), and the scheduler then picks among them in no order: more
//! memory, more switching, and a long tail of waits. Here a request waits in a queue,
//! holding no thread, until one of a fixed set is free.

use std::panic::AssertUnwindSafe;

use crossbeam_channel::{Receiver, Sender};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads taking jobs from one queue. They end once it is dropped.
pub struct UseCaseThreads {
    queue: Sender<Job>,
}

/// The use case did not answer: its thread panicked, or the threads are gone.
#[derive(Debug, thiserror::Error)]
#[error("the use case ended without an answer")]
pub struct NoAnswer;

impl UseCaseThreads {
    /// Starts `count` threads (at least one).
    pub fn start(count: usize) -> std::io::Result<Self> {
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
        Ok(Self { queue })
    }

    /// Runs `work` on one of the threads, once it is its turn, and answers what it returns.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, NoAnswer> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The request may have gone meanwhile; its answer is then dropped.
            let _ = answer.send(work());
        });
        self.queue.send(job).map_err(|_| NoAnswer)?;
        answered.await.map_err(|_| NoAnswer)
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
        let threads = UseCaseThreads::start(1).unwrap();
        assert_eq!(threads.run(|| 6 * 7).await.unwrap(), 42);
        assert!(threads.run(|| -> u8 { panic!("a broken use case") }).await.is_err());
        let after = tokio::time::timeout(Duration::from_secs(5), threads.run(|| "still here")).await;
        assert_eq!(after.expect("the thread outlived the panic").unwrap(), "still here");
    }

    #[actix_web::test]
    async fn never_runs_more_than_its_threads_at_once() {
        let threads = Arc::new(UseCaseThreads::start(3).unwrap());
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
}
