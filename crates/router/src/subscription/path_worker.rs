//! Blocking work on paths that senders name (reading key files, sending acks), kept off
//! the tasks that apply subscriptions and serve requests: a few jobs at a time on tokio's
//! blocking threads, the others waiting their turn, each with a deadline that counts the
//! wait too. A job past its deadline keeps its slot until it really ends, so stuck file
//! systems cannot pile up threads.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// Jobs running at once; further ones wait for a slot.
pub const PARALLEL_JOBS: usize = 4;

/// Why a job gave no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathWorkError {
    /// The job did not end within the deadline (waiting for a slot included).
    #[error("reading took longer than {0:?}")]
    Deadline(Duration),
    /// The job panicked.
    #[error("the reading job failed")]
    Failed,
}

/// Runs blocking jobs with a deadline, [`PARALLEL_JOBS`] at a time.
#[derive(Debug)]
pub struct PathWorker {
    permits: Arc<Semaphore>,
    deadline: Duration,
}

impl PathWorker {
    /// A worker whose jobs must end within `deadline`.
    pub fn new(deadline: Duration) -> PathWorker {
        PathWorker {
            permits: Arc::new(Semaphore::new(PARALLEL_JOBS)),
            deadline,
        }
    }

    /// Run `job` on a blocking thread once a slot is free and wait for it, at most the
    /// deadline from now.
    pub async fn run<T, F>(&self, job: F) -> Result<T, PathWorkError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permits = self.permits.clone();
        let slot_and_job = async move {
            let permit = permits
                .acquire_owned()
                .await
                .map_err(|_| PathWorkError::Failed)?;
            tokio::task::spawn_blocking(move || {
                let _slot = permit;
                job()
            })
            .await
            .map_err(|_| PathWorkError::Failed)
        };
        tokio::time::timeout(self.deadline, slot_and_job)
            .await
            .unwrap_or(Err(PathWorkError::Deadline(self.deadline)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slow_jobs_hit_the_deadline_and_hold_their_slot() {
        let worker = PathWorker::new(Duration::from_millis(50));
        assert_eq!(worker.run(|| 7).await, Ok(7));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for _ in 0..PARALLEL_JOBS {
            let rx = rx.clone();
            let stuck = worker
                .run(move || {
                    let _ = rx.lock().map(|r| r.recv());
                })
                .await;
            assert_eq!(
                stuck,
                Err(PathWorkError::Deadline(Duration::from_millis(50)))
            );
        }
        assert_eq!(
            worker.run(|| 7).await,
            Err(PathWorkError::Deadline(Duration::from_millis(50))),
            "no slot is free while the stuck jobs run"
        );
        drop(tx);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(worker.run(|| 7).await, Ok(7));
    }
}
