//! The HTTP and HTTPS accept loops: HTTP/1.1 keep-alive, HTTP/2 (ALPN on TLS, prior
//! knowledge on plain HTTP), upgrades, header timeouts and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::downstream::proxy::{ClientConn, Proxy};
use crate::downstream::tls_acceptor::TlsAcceptor;

/// How long open connections get to finish after shutdown is asked for.
const DRAIN: Duration = Duration::from_secs(10);

/// Held by every connection task; the drain waits until all are dropped.
type Alive = mpsc::Sender<()>;

fn builder(proxy: &Proxy) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(proxy.timeouts.header_read)
        .keep_alive(true);
    b.http2().timer(TokioTimer::new());
    b
}

/// Serve one client connection until it ends, or finish it gracefully on shutdown.
async fn serve_connection<I>(
    io: I,
    conn: ClientConn,
    proxy: Arc<Proxy>,
    mut shutdown: watch::Receiver<bool>,
    _alive: Alive,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = Arc::new(conn);
    let p = proxy.clone();
    let service = service_fn(move |req| p.clone().handle(conn.clone(), req));
    let builder = builder(&proxy);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        r = connection.as_mut() => r,
        _ = crate::stopped(&mut shutdown) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "client connection ended with an error");
    }
}

/// Accept until shutdown; `on_accept` makes the task for each connection.
async fn accept_loop<F, Fut>(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    mut on_accept: F,
) where
    F: FnMut(tokio::net::TcpStream, std::net::SocketAddr, Alive) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (alive, mut all_done) = mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(on_accept(stream, remote, alive.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = crate::stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    drop(alive);
    if tokio::time::timeout(DRAIN, all_done.recv()).await.is_err() {
        tracing::info!("connections still open after the drain time; leaving them");
    }
}

/// Serve plain HTTP on `listener` until `shutdown` turns true, then drain.
pub async fn serve_http(listener: TcpListener, proxy: Arc<Proxy>, shutdown: watch::Receiver<bool>) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let stop = shutdown.clone();
    accept_loop(listener, shutdown, |stream, remote, alive| {
        let conn = ClientConn::new(remote, port, None);
        serve_connection(stream, conn, proxy.clone(), stop.clone(), alive)
    })
    .await;
}

/// Serve HTTPS on `listener` until `shutdown` turns true, then drain.
pub async fn serve_https(
    listener: TcpListener,
    proxy: Arc<Proxy>,
    acceptor: TlsAcceptor,
    shutdown: watch::Receiver<bool>,
) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let stop = shutdown.clone();
    accept_loop(listener, shutdown, |stream, remote, alive| {
        let acceptor = acceptor.clone();
        let proxy = proxy.clone();
        let stop = stop.clone();
        async move {
            match acceptor.accept(stream).await {
                Ok((tls, info)) => {
                    let conn = ClientConn::new(remote, port, Some(info));
                    serve_connection(tls, conn, proxy, stop, alive).await;
                }
                Err(e) => tracing::debug!(%remote, error = %e, "TLS handshake failed"),
            }
        }
    })
    .await;
}
