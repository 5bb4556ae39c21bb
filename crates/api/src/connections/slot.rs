//! One connection's place under the cap: what it is doing (reading a head, idle between
//! requests, serving), the deadline that goes with it, and the signal that asks it to close.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request head, or part way through one: closed at the deadline. A new
    /// connection starts here, its deadline counted from the accept.
    Head(Instant),
    /// Between two requests on a kept-alive connection: closed at the deadline unless a byte
    /// of the next request arrives first.
    Idle(Instant),
    /// Serving this many requests (HTTP/2 may serve several): no deadline here, the body
    /// deadline and the handlers bound them.
    Busy(usize),
}

impl Phase {
    fn deadline(self) -> Option<Instant> {
        match self {
            Phase::Head(deadline) | Phase::Idle(deadline) => Some(deadline),
            Phase::Busy(_) => None,
        }
    }
}

/// Why a connection was closed by its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// The request head did not arrive in time.
    Head,
    /// The connection stayed idle too long between requests.
    Idle,
}

/// The state of one connection, shared by its task, its socket and its requests.
pub(crate) struct Slot {
    phase: watch::Sender<Phase>,
    head_timeout: Duration,
    idle_timeout: Duration,
    /// Set once the connection was asked to close to make room.
    draining: AtomicBool,
    drain: Notify,
}

impl Slot {
    /// A slot for a connection accepted now.
    pub(crate) fn new(head_timeout: Duration, idle_timeout: Duration) -> Slot {
        Slot {
            phase: watch::Sender::new(Phase::Head(Instant::now() + head_timeout)),
            head_timeout,
            idle_timeout,
            draining: AtomicBool::new(false),
            drain: Notify::new(),
        }
    }

    /// Bytes arrived: on an idle connection they start the next request's head.
    fn bytes_arrived(&self) {
        self.phase.send_if_modified(|phase| match phase {
            Phase::Idle(_) => {
                *phase = Phase::Head(Instant::now() + self.head_timeout);
                true
            }
            _ => false,
        });
    }

    /// A request head was read: the connection is busy until the answer is sent.
    pub(crate) fn begin_request(self: &Arc<Self>) -> RequestGuard {
        self.phase.send_modify(|phase| {
            *phase = match *phase {
                Phase::Busy(requests) => Phase::Busy(requests + 1),
                _ => Phase::Busy(1),
            }
        });
        RequestGuard(self.clone())
    }

    fn end_request(&self) {
        self.phase.send_modify(|phase| {
            *phase = match *phase {
                Phase::Busy(requests) if requests > 1 => Phase::Busy(requests - 1),
                _ => Phase::Idle(Instant::now() + self.idle_timeout),
            }
        });
    }

    fn is_busy(&self) -> bool {
        matches!(*self.phase.borrow(), Phase::Busy(_))
    }

    /// Resolves when the current phase's deadline passes.
    pub(crate) async fn expired(&self) -> Expiry {
        let mut phase = self.phase.subscribe();
        loop {
            let current = *phase.borrow_and_update();
            match current.deadline() {
                Some(deadline) if deadline <= Instant::now() => {
                    return match current {
                        Phase::Idle(_) => Expiry::Idle,
                        _ => Expiry::Head,
                    };
                }
                Some(deadline) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => {}
                        _ = phase.changed() => {}
                    }
                }
                None => {
                    // The sender lives in this slot, so `changed` fails only never.
                    let _ = phase.changed().await;
                }
            }
        }
    }

    /// Asks the connection to close to make room, unless it is serving a request or was
    /// asked already; says whether it asked.
    fn ask_to_close(&self) -> bool {
        if self.is_busy() || self.draining.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.drain.notify_one();
        true
    }

    /// Resolves when the connection was asked to close to make room.
    pub(crate) async fn asked_to_close(&self) {
        self.drain.notified().await;
    }
}

/// Marks a request as served when dropped (with the answer's body, once it is sent).
pub(crate) struct RequestGuard(Arc<Slot>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// The connections alive, oldest first, so that the oldest idle ones make room first.
#[derive(Default)]
pub(crate) struct Registry {
    slots: Mutex<BTreeMap<u64, Arc<Slot>>>,
    next: std::sync::atomic::AtomicU64,
}

impl Registry {
    /// Files `slot` until the returned guard is dropped.
    pub(crate) fn register(self: &Arc<Self>, slot: Arc<Slot>) -> Registered {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut slots) = self.slots.lock() {
            slots.insert(id, slot);
        }
        Registered {
            registry: self.clone(),
            id,
        }
    }

    /// Asks up to `count` connections that are not serving a request (silent, part way
    /// through a head, or idle between requests) to close, oldest first; says how many.
    pub(crate) fn close_idle(&self, count: usize) -> usize {
        let Ok(slots) = self.slots.lock() else {
            return 0;
        };
        slots
            .values()
            .filter(|slot| slot.ask_to_close())
            .take(count)
            .count()
    }
}

/// Removes its connection from the registry when dropped.
pub(crate) struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut slots) = self.registry.slots.lock() {
            slots.remove(&self.id);
        }
    }
}

/// A socket that tells its slot when bytes arrive.
pub(crate) struct TrackedIo<T> {
    inner: T,
    slot: Arc<Slot>,
}

impl<T> TrackedIo<T> {
    /// `inner`, reporting to `slot`.
    pub(crate) fn new(inner: T, slot: Arc<Slot>) -> Self {
        TrackedIo { inner, slot }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.slot.bytes_arrived();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_carry_their_deadlines() {
        let (head, idle) = (Duration::from_millis(50), Duration::from_millis(150));
        let slot = Arc::new(Slot::new(head, idle));
        let started = Instant::now();
        assert_eq!(slot.expired().await, Expiry::Head);
        assert!(started.elapsed() >= head);

        let slot = Arc::new(Slot::new(head, idle));
        let request = slot.begin_request();
        assert!(
            !slot.ask_to_close(),
            "a busy connection is not closed to make room"
        );
        let busy = tokio::time::timeout(head * 2, slot.expired()).await;
        assert!(busy.is_err(), "a busy connection has no deadline");
        drop(request);
        let since = Instant::now();
        assert_eq!(slot.expired().await, Expiry::Idle);
        assert!(since.elapsed() >= idle);
        assert!(slot.ask_to_close());
        assert!(!slot.ask_to_close(), "asked once");
    }
}
