//! berth router: the HTTP/HTTPS edge that real uWSGI vassals subscribe to.
//!
//! ```no_run
//! # async fn example() -> Result<(), berth_router::RouterError> {
//! let config = berth_router::RouterConfig {
//!     http: Some("127.0.0.1:8080".parse().expect("addr")),
//!     subscription_udp: Some("127.0.0.1:2626".parse().expect("addr")),
//!     ..Default::default()
//! };
//! let router = berth_router::Router::bind(config).await?;
//! println!("listening on {:?}", router.addrs());
//! router.serve(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

pub mod balancer;
mod body;
mod cgi;
pub mod config;
mod domain_keys;
mod exchange;
mod hop_by_hop;
mod host;
mod listener;
mod node;
mod pem_source;
mod proxy;
mod replay;
mod request_head;
mod response;
mod routing_table;
mod stats;
mod subscription;
mod tls;
mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket, UnixDatagram};
use tokio::sync::watch;

pub use balancer::Balancing;
pub use config::{ControlPlane, HttpsConfig, RouterConfig, Timeouts};

use domain_keys::DomainKeys;
use proxy::Proxy;
use replay::ReplayGuard;
use routing_table::RoutingTable;
use subscription::{SubscriptionCounters, Subscriptions};
use tls::TlsAcceptor;

/// Why the router could not start.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// A listener or socket could not be bound.
    #[error("cannot bind {what} {addr}: {source}")]
    Bind {
        /// Which socket.
        what: &'static str,
        /// Its address or path.
        addr: String,
        /// The error.
        source: std::io::Error,
    },
    /// The default certificate or key could not be loaded.
    #[error("default certificate: {0}")]
    Tls(#[from] tls::TlsError),
}

/// Where the router actually listens (ports resolved when 0 was asked for).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoundAddrs {
    /// Plain HTTP.
    pub http: Option<SocketAddr>,
    /// HTTPS.
    pub https: Option<SocketAddr>,
    /// UDP subscriptions.
    pub subscription_udp: Option<SocketAddr>,
    /// Unix datagram subscriptions.
    pub subscription_unix: Option<PathBuf>,
    /// Stats.
    pub stats: Option<SocketAddr>,
}

/// A router whose sockets are bound, ready to [`serve`](Router::serve).
#[derive(Debug)]
pub struct Router {
    config: RouterConfig,
    addrs: BoundAddrs,
    http: Option<TcpListener>,
    https: Option<(TcpListener, TlsAcceptor)>,
    udp: Option<UdpSocket>,
    unix: Option<UnixDatagram>,
    stats: Option<TcpListener>,
    proxy: Arc<Proxy>,
    subs: Arc<Subscriptions>,
}

async fn tcp(
    what: &'static str,
    addr: SocketAddr,
) -> Result<(TcpListener, SocketAddr), RouterError> {
    let bind_err = |source| RouterError::Bind {
        what,
        addr: addr.to_string(),
        source,
    };
    let l = TcpListener::bind(addr).await.map_err(bind_err)?;
    let local = l.local_addr().map_err(bind_err)?;
    Ok((l, local))
}

impl Router {
    /// Bind every configured socket and load the default certificate.
    pub async fn bind(config: RouterConfig) -> Result<Router, RouterError> {
        let table = Arc::new(RoutingTable::new(config.balancing));
        let proxy = Arc::new(Proxy {
            table: table.clone(),
            timeouts: config.timeouts.clone(),
            not_found: Default::default(),
        });
        let keys = config
            .signing_required()
            .then(|| Arc::new(DomainKeys::new(config.sign_check_dir.clone())));
        let subs = Arc::new(Subscriptions {
            table: table.clone(),
            keys,
            replay: ReplayGuard::default(),
            sign_tolerance: config.timeouts.sign_tolerance,
            counters: SubscriptionCounters::default(),
        });
        let mut addrs = BoundAddrs::default();
        let http = match config.http {
            Some(a) => {
                let (l, local) = tcp("HTTP listener", a).await?;
                addrs.http = Some(local);
                Some(l)
            }
            None => None,
        };
        let https = match &config.https {
            Some(h) => {
                let default = tls::default_config(&h.cert, &h.key)?;
                let (l, local) = tcp("HTTPS listener", h.addr).await?;
                addrs.https = Some(local);
                let acceptor =
                    TlsAcceptor::new(default, table.clone(), config.timeouts.tls_handshake);
                Some((l, acceptor))
            }
            None => None,
        };
        let udp = match config.subscription_udp {
            Some(a) => {
                let bind_err = |source| RouterError::Bind {
                    what: "UDP subscription server",
                    addr: a.to_string(),
                    source,
                };
                let s = UdpSocket::bind(a).await.map_err(bind_err)?;
                subscription::enlarge_receive_buffer(&s);
                addrs.subscription_udp = Some(s.local_addr().map_err(bind_err)?);
                Some(s)
            }
            None => None,
        };
        let unix = match &config.subscription_unix {
            Some(p) => {
                let s = subscription::bind_unix(p).map_err(|source| RouterError::Bind {
                    what: "unix subscription server",
                    addr: p.display().to_string(),
                    source,
                })?;
                addrs.subscription_unix = Some(p.clone());
                Some(s)
            }
            None => None,
        };
        let stats = match config.stats {
            Some(a) => {
                let (l, local) = tcp("stats listener", a).await?;
                addrs.stats = Some(local);
                Some(l)
            }
            None => None,
        };
        Ok(Router {
            config,
            addrs,
            http,
            https,
            udp,
            unix,
            stats,
            proxy,
            subs,
        })
    }

    /// Where the router listens.
    pub fn addrs(&self) -> &BoundAddrs {
        &self.addrs
    }

    /// Serve until `shutdown` completes, then stop accepting, let open requests finish
    /// (up to 10 s) and remove the unix subscription socket.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), RouterError> {
        let (stop_tx, stop) = watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(l) = self.http {
            tasks.spawn(listener::serve_http(l, self.proxy.clone(), stop.clone()));
        }
        if let Some((l, acceptor)) = self.https {
            tasks.spawn(listener::serve_https(
                l,
                self.proxy.clone(),
                acceptor,
                stop.clone(),
            ));
        }
        if let Some(s) = self.udp {
            tasks.spawn(subscription::serve_udp(s, self.subs.clone(), stop.clone()));
        }
        if let Some(s) = self.unix {
            tasks.spawn(subscription::serve_unix(s, self.subs.clone(), stop.clone()));
        }
        if let Some(l) = self.stats {
            tasks.spawn(stats::serve(
                l,
                self.proxy.clone(),
                self.subs.clone(),
                stop.clone(),
            ));
        }
        if let (Some(plane), Some(keys)) =
            (self.config.control_plane.clone(), self.subs.keys.clone())
        {
            tasks.spawn(domain_keys::follow_control_plane(keys, plane, stop.clone()));
        }
        tasks.spawn(subscription::expire_loop(
            self.subs.clone(),
            self.config.timeouts.subscription_tolerance,
            stop.clone(),
        ));
        shutdown.await;
        tracing::info!("router shutting down");
        let _ = stop_tx.send(true);
        while tasks.join_next().await.is_some() {}
        if let Some(p) = &self.addrs.subscription_unix {
            let _ = std::fs::remove_file(p);
        }
        Ok(())
    }
}

/// Bind and serve in one call: what `berth router` does.
pub async fn run(
    config: RouterConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RouterError> {
    Router::bind(config).await?.serve(shutdown).await
}

/// Resolves once the shutdown flag turns true (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
