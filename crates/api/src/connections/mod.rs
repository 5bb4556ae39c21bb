//! Serving connections the way nginx does against slow and silent clients: a deadline for
//! each request head, an idle timeout between kept-alive requests, a deadline for each
//! request body, and a cap on open connections. At the cap, the oldest connections that are
//! not serving a request (silent, part way through a head, or idle between requests) are
//! closed to make room, as nginx reuses its idle connections first; a new connection waits
//! for a place only while every connection is serving a request.

mod bodies;
mod slot;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

pub use bodies::{is_body_timeout, BodyTimedOut};
use bodies::{DeadlineBody, GuardedBody};
use slot::{Registry, Slot, TrackedIo};

/// How long a client may take to send a request head, by default.
pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a kept-alive connection may stay idle between requests, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a client may take to send a request body, by default.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// The cap on open connections when nothing says otherwise (the binary derives its own from
/// the file descriptor limit).
pub const DEFAULT_MAX_CONNECTIONS: usize = 768;

/// How many idle connections are closed at once when the cap is reached (nginx: 32).
const CLOSE_AT_ONCE: usize = 32;
/// How long a connection asked to close may take to finish what it is sending.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How long the API waits for in-flight requests when it stops.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// How often the "connection limit reached" warning may be logged.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The limits every connection is served under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client may take to send a whole request head: from the accept for the
    /// first request, from its first byte for the next ones.
    pub head_timeout: Duration,
    /// How long a kept-alive connection may wait for the next request.
    pub idle_timeout: Duration,
    /// How long a client may take to send a whole request body, from the end of its head.
    pub body_timeout: Duration,
    /// How many connections may be open at once.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            head_timeout: DEFAULT_HEAD_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Logs the "connection limit reached" warning at most every [`WARN_EVERY`].
struct CapWarning(Mutex<Option<Instant>>);

impl CapWarning {
    fn warn(&self, max_connections: usize, closed: usize) {
        let Ok(mut last) = self.0.lock() else {
            return;
        };
        if last.is_some_and(|last| last.elapsed() < WARN_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        tracing::warn!(
            max_connections,
            closed_idle = closed,
            "the API reached its connection limit; closing the oldest idle connections"
        );
    }
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes; then stops
/// accepting, lets in-flight requests finish (for up to 30 s) and closes the rest.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let registry = Arc::new(Registry::default());
    let (stop, stopping) = watch::channel(false);
    let warning = CapWarning(Mutex::new(None));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().keep_alive(true);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error, &registry).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                warning.warn(max, registry.close_idle(CLOSE_AT_ONCE));
                tokio::select! {
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    _ = &mut shutdown => break,
                }
            }
        };
        let connection = Connection {
            app: app.clone(),
            limits,
            peer,
            registry: registry.clone(),
            stopping: stopping.clone(),
            builder: builder.clone(),
        };
        tokio::spawn(connection.run(stream, permit));
    }
    drop(listener);
    stop.send_replace(true);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(STOP_GRACE + CLOSE_GRACE, permits.acquire_many(all)).await;
    Ok(())
}

/// An accept that failed: connection errors are the client's; anything else (out of file
/// descriptors) is logged, idle connections make room, and accepting pauses a moment.
async fn accept_failed(error: std::io::Error, registry: &Registry) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    let closed = registry.close_idle(CLOSE_AT_ONCE);
    tracing::error!(%error, closed_idle = closed, "the API cannot accept connections");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// One accepted connection and what serving it needs.
struct Connection {
    app: Router,
    limits: ConnectionLimits,
    peer: SocketAddr,
    registry: Arc<Registry>,
    stopping: watch::Receiver<bool>,
    builder: auto::Builder<TokioExecutor>,
}

impl Connection {
    /// Serves the connection until the client closes it, a deadline passes, it is asked to
    /// make room or the API stops.
    async fn run(self, stream: TcpStream, _permit: OwnedSemaphorePermit) {
        let Connection {
            app,
            limits,
            peer,
            registry,
            mut stopping,
            builder,
        } = self;
        let slot = Arc::new(Slot::new(limits.head_timeout, limits.idle_timeout));
        let _registered = registry.register(slot.clone());
        let requests = slot.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let guard = requests.begin_request();
            let mut request = request
                .map(|body| Body::new(DeadlineBody::new(Body::new(body), limits.body_timeout)));
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await?;
                Ok::<_, Infallible>(response.map(|body| Body::new(GuardedBody::new(body, guard))))
            }
        });
        let io = TokioIo::new(TrackedIo::new(stream, slot.clone()));
        let mut connection = pin!(builder.serve_connection_with_upgrades(io, service));
        let mut closing = false;
        let give_up = tokio::time::sleep(STOP_GRACE);
        let mut give_up = pin!(give_up);
        loop {
            let grace = tokio::select! {
                _ = connection.as_mut() => return,
                expiry = slot.expired(), if !closing => {
                    tracing::debug!(%peer, ?expiry, "closing a slow connection");
                    CLOSE_GRACE
                }
                _ = slot.asked_to_close(), if !closing => CLOSE_GRACE,
                _ = stopping.wait_for(|stopping| *stopping), if !closing => STOP_GRACE,
                _ = &mut give_up, if closing => return,
            };
            closing = true;
            connection.as_mut().graceful_shutdown();
            give_up.as_mut().reset(Instant::now() + grace);
        }
    }
}
