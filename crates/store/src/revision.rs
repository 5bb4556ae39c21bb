//! Reading the revision counter, once for many concurrent readers.
//!
//! The API checks its cached answers against the revision on every request, so under load
//! many requests ask for it at the same moment. A request may share another's read only if
//! that read started after the request asked: a read that started earlier may have missed a
//! write committed just before the request arrived. So reads run one at a time, and whoever
//! asks while a read is under way waits for the next read, which starts when the current one
//! ends and answers everyone who waited for it. One query then serves a whole burst of
//! requests, and no request ever sees a revision older than the latest commit before it asked.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Mutex;

use crate::Result;

/// Serialised, shared reads of the revision counter.
#[derive(Debug, Default)]
pub(crate) struct RevisionReads {
    /// How many reads have started.
    started: AtomicU64,
    /// The last read that finished: its number and the revision it saw. Held while a read
    /// runs, so that reads run one at a time and waiters queue (fairly) behind it.
    last: Mutex<(u64, i64)>,
}

impl RevisionReads {
    /// The revision as read by `query`, or as read by another caller's `query` that started
    /// after this call began.
    pub(crate) async fn read<F, Fut>(&self, query: F) -> Result<i64>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<i64>>,
    {
        // Reads numbered up to `started` may have begun before this call; the next one cannot.
        let wanted = self.started.load(Ordering::SeqCst) + 1;
        let mut last = self.last.lock().await;
        if last.0 >= wanted {
            return Ok(last.1);
        }
        let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let revision = query().await?;
        *last = (number, revision);
        Ok(revision)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicI64;
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
    async fn waiters_share_the_next_read() {
        let reads = Arc::new(RevisionReads::default());
        let queries = Arc::new(AtomicU64::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let first = tokio::spawn({
            let (reads, queries, gate) = (reads.clone(), queries.clone(), gate.clone());
            async move {
                reads
                    .read(|| async move {
                        queries.fetch_add(1, Ordering::SeqCst);
                        gate.notified().await;
                        Ok(7)
                    })
                    .await
            }
        });
        while queries.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // Ten readers arrive while the first read is under way: one more read serves them all.
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
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        assert_eq!(first.await.expect("first").expect("read"), 7);
        for waiter in waiters {
            assert_eq!(waiter.await.expect("waiter").expect("read"), 8);
        }
        assert_eq!(queries.load(Ordering::SeqCst), 2);
    }
}
