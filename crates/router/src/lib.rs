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

mod cluster;
pub mod config;
mod downstream;
mod routing;
mod stats;
mod subscription;
mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket, UnixDatagram};
use tokio::sync::watch;

pub use config::{ControlPlane, HttpsConfig, RouterConfig, Timeouts};
pub use routing::balancer::Balancing;

use downstream::proxy::Proxy;
use downstream::tls_acceptor::TlsAcceptor;
use routing::table::RoutingTable;
use subscription::apply::{SubscriptionCounters, Subscriptions};
use subscription::domain_keys::DomainKeys;
use subscription::path_worker::PathWorker;
use subscription::refusal_log::RefusalLog;
use subscription::replay::ReplayGuard;
use subscription::sni_loader::SniLoader;

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
    Tls(#[from] routing::domain_tls::TlsError),
    /// The state directory could not be created.
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        /// The directory.
        path: String,
        /// The error.
        source: std::io::Error,
    },
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
    /// The cluster address (TCP and UDP).
    pub cluster: Option<SocketAddr>,
}

/// A router whose sockets are bound, ready to [`serve`](Router::serve).
#[derive(Debug)]
pub struct Router {
    config: RouterConfig,
    addrs: BoundAddrs,
    http: Option<TcpListener>,
    https: Option<(TcpListener, TlsAcceptor)>,
    /// The listeners of the router's own listener threads, one entry per thread.
    workers: Vec<WorkerListeners>,
    udp: Option<UdpSocket>,
    unix: Option<UnixDatagram>,
    stats: Option<TcpListener>,
    proxy: Arc<Proxy>,
    subs: Arc<Subscriptions>,
    cluster: Option<cluster::server::Cluster>,
}

/// The HTTP and HTTPS listeners of one listener thread (not yet registered with a
/// runtime: the thread's own runtime takes them).
#[derive(Debug, Default)]
struct WorkerListeners {
    http: Option<std::net::TcpListener>,
    https: Option<std::net::TcpListener>,
}

/// A listener on `addr`; with `threads` > 1, a group of `SO_REUSEPORT` listeners: the
/// first for the caller's runtime, the others for the listener threads.
async fn tcp(
    what: &'static str,
    addr: SocketAddr,
    threads: usize,
) -> Result<(TcpListener, SocketAddr, Vec<std::net::TcpListener>), RouterError> {
    let bind_err = |source| RouterError::Bind {
        what,
        addr: addr.to_string(),
        source,
    };
    let (l, rest) = if threads > 1 {
        let mut group = downstream::reuseport::group(addr, threads).map_err(bind_err)?;
        let first = group.remove(0);
        (TcpListener::from_std(first).map_err(bind_err)?, group)
    } else {
        (TcpListener::bind(addr).await.map_err(bind_err)?, Vec::new())
    };
    let local = l.local_addr().map_err(bind_err)?;
    Ok((l, local, rest))
}

/// Serve the listeners of one listener thread on a runtime of its own until `stop`.
fn serve_worker(
    listeners: WorkerListeners,
    proxy: Arc<Proxy>,
    acceptor: Option<TlsAcceptor>,
    stop: watch::Receiver<bool>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!(error = %e, "cannot start a listener thread's runtime");
            return;
        }
    };
    rt.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(l) = listeners.http {
            match TcpListener::from_std(l) {
                Ok(l) => {
                    tasks.spawn(downstream::listener::serve_http(
                        l,
                        proxy.clone(),
                        stop.clone(),
                    ));
                }
                Err(e) => tracing::warn!(error = %e, "HTTP listener thread cannot listen"),
            }
        }
        if let (Some(l), Some(acceptor)) = (listeners.https, acceptor) {
            match TcpListener::from_std(l) {
                Ok(l) => {
                    tasks.spawn(downstream::listener::serve_https(l, proxy, acceptor, stop));
                }
                Err(e) => tracing::warn!(error = %e, "HTTPS listener thread cannot listen"),
            }
        }
        while tasks.join_next().await.is_some() {}
    });
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
        let keys = config.signing_required().then(|| {
            Arc::new(DomainKeys::new(
                config.sign_check_dir.clone(),
                table.clone(),
            ))
        });
        let replay = match &config.state_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| RouterError::StateDir {
                    path: dir.display().to_string(),
                    source,
                })?;
                ReplayGuard::restored(subscription::replay_state::load(
                    &dir.join(subscription::replay_state::FILE_NAME),
                    subscription::replay::now_unix(),
                    config.timeouts.sign_tolerance,
                ))
            }
            None => ReplayGuard::default(),
        };
        let worker = Arc::new(PathWorker::new(config.timeouts.file_read));
        let subs = Arc::new(Subscriptions {
            table: table.clone(),
            keys,
            replay: Arc::new(replay),
            sign_tolerance: config.timeouts.sign_tolerance,
            counters: SubscriptionCounters::default(),
            refusals: Arc::new(RefusalLog::new(config.timeouts.refusal_log_interval)),
            sni: SniLoader::new(worker.clone()),
            worker,
            forward: None,
        });
        let mut addrs = BoundAddrs::default();
        let threads = config.listener_threads.max(1);
        let mut workers: Vec<WorkerListeners> =
            (1..threads).map(|_| WorkerListeners::default()).collect();
        let http = match config.http {
            Some(a) => {
                let (l, local, rest) = tcp("HTTP listener", a, threads).await?;
                for (w, l) in workers.iter_mut().zip(rest) {
                    w.http = Some(l);
                }
                addrs.http = Some(local);
                Some(l)
            }
            None => None,
        };
        let https = match &config.https {
            Some(h) => {
                let default = routing::domain_tls::default_config(&h.cert, &h.key)?;
                let (l, local, rest) = tcp("HTTPS listener", h.addr, threads).await?;
                for (w, l) in workers.iter_mut().zip(rest) {
                    w.https = Some(l);
                }
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
                subscription::sockets::enlarge_receive_buffer(&s);
                addrs.subscription_udp = Some(s.local_addr().map_err(bind_err)?);
                Some(s)
            }
            None => None,
        };
        let unix = match &config.subscription_unix {
            Some(p) => {
                let s =
                    subscription::sockets::bind_unix(p).map_err(|source| RouterError::Bind {
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
                let (l, local, _) = tcp("stats listener", a, 1).await?;
                addrs.stats = Some(local);
                Some(l)
            }
            None => None,
        };
        let cluster = cluster::server::Cluster::bind(&config, &subs).await?;
        addrs.cluster = cluster.as_ref().map(|c| c.addr);
        Ok(Router {
            cluster,
            config,
            addrs,
            http,
            https,
            workers,
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
        let acceptor = self.https.as_ref().map(|(_, a)| a.clone());
        let mut threads = Vec::new();
        for (i, listeners) in self.workers.into_iter().enumerate() {
            let (proxy, acceptor, stop) = (self.proxy.clone(), acceptor.clone(), stop.clone());
            match std::thread::Builder::new()
                .name(format!("router-{}", i + 1))
                .spawn(move || serve_worker(listeners, proxy, acceptor, stop))
            {
                Ok(t) => threads.push(t),
                Err(e) => tracing::warn!(error = %e, "cannot start a listener thread"),
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(l) = self.http {
            tasks.spawn(downstream::listener::serve_http(
                l,
                self.proxy.clone(),
                stop.clone(),
            ));
        }
        if let Some((l, acceptor)) = self.https {
            tasks.spawn(downstream::listener::serve_https(
                l,
                self.proxy.clone(),
                acceptor,
                stop.clone(),
            ));
        }
        if let Some(s) = self.udp {
            tasks.spawn(subscription::sockets::serve_udp(
                s,
                self.subs.clone(),
                stop.clone(),
            ));
        }
        if let Some(s) = self.unix {
            tasks.spawn(subscription::sockets::serve_unix(
                s,
                self.subs.clone(),
                stop.clone(),
            ));
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
            tasks.spawn(subscription::domain_keys::follow_control_plane(
                keys,
                plane,
                stop.clone(),
            ));
        }
        if let Some(dir) = &self.config.state_dir {
            tasks.spawn(subscription::replay_state::keep_saved(
                self.subs.replay.clone(),
                dir.join(subscription::replay_state::FILE_NAME),
                stop.clone(),
            ));
        }
        tasks.spawn(subscription::sockets::expire_loop(
            self.subs.clone(),
            self.config.timeouts.subscription_tolerance,
            stop.clone(),
        ));
        let cluster_unix = self
            .cluster
            .and_then(|c| c.serve(&mut tasks, self.subs.clone(), &self.config, &stop));
        shutdown.await;
        tracing::info!("router shutting down");
        let _ = stop_tx.send(true);
        while tasks.join_next().await.is_some() {}
        for t in threads {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        for p in self.addrs.subscription_unix.iter().chain(&cluster_unix) {
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
