//! Reading the revision counter, once for many concurrent readers.
//!
//! The API checks its cached answers against the revision on every request, so under load
//! many requests ask for it at the same moment. A request may share another's read only if
//! that read started after the request asked: a read that started earlier may have missed a
//! write committed just before the request arrived. So a few reads run at a time; whoever asks
//! while they are all busy joins the batch waiting for the next free one, whose read starts
//! after everyone in the batch asked and answers all of them. One query then serves a burst of
//! requests, a stalled read holds up only its own batch, and no request ever sees a revision
//! older than the latest commit before it asked.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::{watch, Semaphore};

use crate::Result;

/// How many revision reads may run at once.
const READS_AT_ONCE: usize = 4;

/// Shared reads of the revision counter.
#[derive(Debug)]
pub(crate) struct RevisionReads {
    /// The batch waiting for a free read, if any: the revision its read will see.
    open: Mutex<Option<watch::Receiver<Option<i64>>>>,
    /// Free reads.
    slots: Semaphore,
}

impl Default for RevisionReads {
    fn default() -> Self {
        Self {
            open: Mutex::new(None),
            slots: Semaphore::new(READS_AT_ONCE),
        }
    }
}

impl RevisionReads {
    /// The revision as read by `query`, or by another caller's `query` that started after this
    /// call began.
    pub(crate) async fn read<F, Fut>(&self, query: F) -> Result<i64>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<i64>>,
    {
        let leader = {
            let mut open = self
                .open
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match open.as_ref() {
                // A batch whose leader is still there: its read has not started yet.
                Some(batch) if batch.has_changed().is_ok() => Err(batch.clone()),
                _ => {
                    let (sender, receiver) = watch::channel(None);
                    *open = Some(receiver.clone());
                    Ok((sender, receiver))
                }
            }
        };
        match leader {
            Ok((sender, mine)) => {
                let _slot = self.slots.acquire().await;
                {
                    // Close the batch before reading: whoever asks from now on waits for a
                    // later read.
                    let mut open = self
                        .open
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    if open.as_ref().is_some_and(|batch| batch.same_channel(&mine)) {
                        *open = None;
                    }
                }
                let revision = query().await?;
                sender.send_replace(Some(revision));
                Ok(revision)
            }
            Err(mut batch) => {
                let shared = batch
                    .wait_for(Option::is_some)
                    .await
                    .ok()
                    .and_then(|revision| *revision);
                match shared {
                    Some(revision) => Ok(revision),
                    // The leader failed or gave up: read alone.
                    None => query().await,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn a_read_that_began_before_the_call_is_never_shared() {
        let reads = Arc::new(RevisionReads::default());
        let database = Arc::new(AtomicI64::new(1));
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        // A slow read takes its snapshot (revision 1) and is held up…
        let slow = tokio::spawn({
            let reads = reads.clone();
            let database = database.clone();
            async move {
                reads
                    .read(|| async move {
                        let seen = database.load(Ordering::SeqCst);
                        let _ = entered_tx.send(());
                        let _ = release_rx.await;
                        Ok(seen)
                    })
                    .await
            }
        });
        entered_rx.await.expect("the slow read started");
        // …a write commits, then a reader asks: it must not get the slow read's answer.
        database.store(2, Ordering::SeqCst);
        let later = tokio::spawn({
            let reads = reads.clone();
            let database = database.clone();
            async move {
                reads
                    .read(|| async move { Ok(database.load(Ordering::SeqCst)) })
                    .await
            }
        });
        tokio::task::yield_now().await;
        let _ = release_tx.send(());
        assert_eq!(slow.await.expect("slow").expect("read"), 1);
        assert_eq!(later.await.expect("later").expect("read"), 2);
    }

    #[tokio::test]
    async fn callers_arriving_while_every_read_is_busy_share_the_next_one() {
        let reads = Arc::new(RevisionReads::default());
        let queries = Arc::new(AtomicU64::new(0));
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        // Every read slot is taken by a read held up at the gate…
        let mut busy = Vec::new();
        for started in 1..=READS_AT_ONCE as u64 {
            let (reads, counted, gate) = (reads.clone(), queries.clone(), gate.clone());
            busy.push(tokio::spawn(async move {
                reads
                    .read(|| async move {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let _ = gate.acquire().await.map(|permit| permit.forget());
                        Ok(7)
                    })
                    .await
            }));
            while queries.load(Ordering::SeqCst) < started {
                tokio::task::yield_now().await;
            }
        }
        // …so ten callers arriving now wait together, and one more read serves them all.
        let waiters: Vec<_> = (0..10)
            .map(|_| {
                let (reads, queries) = (reads.clone(), queries.clone());
                tokio::spawn(async move {
                    reads
                        .read(|| async move {
                            queries.fetch_add(1, Ordering::SeqCst);
                            Ok(8)
                        })
                        .await
                })
            })
            .collect();
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        gate.add_permits(READS_AT_ONCE);
        for read in busy {
            assert_eq!(read.await.expect("busy").expect("read"), 7);
        }
        for waiter in waiters {
            assert_eq!(waiter.await.expect("waiter").expect("read"), 8);
        }
        assert_eq!(queries.load(Ordering::SeqCst), READS_AT_ONCE as u64 + 1);
    }

    #[tokio::test]
    async fn a_failed_read_lets_the_next_caller_read() {
        let reads = RevisionReads::default();
        let failed = reads
            .read(|| async { Err(crate::StoreError::NotFound("revision")) })
            .await;
        assert!(failed.is_err());
        assert_eq!(reads.read(|| async { Ok(3) }).await.expect("read"), 3);
    }
}
