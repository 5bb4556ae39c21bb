//! The cluster role's sockets, bound together: the cluster address (TCP for uwsgi requests
//! from members, UDP for their sealed subscriptions), the local cluster subscription
//! sockets, and the table of local cluster nodes they feed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket, UnixDatagram};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::cluster::forward::Forwarder;
use crate::cluster::peers::Peers;
use crate::config::RouterConfig;
use crate::routing::table::RoutingTable;
use crate::subscription::apply::{SubscriptionCounters, Subscriptions};
use crate::subscription::refusal_log::RefusalLog;
use crate::subscription::replay::ReplayGuard;
use crate::subscription::sni_loader::SniLoader;
use crate::RouterError;

/// The cluster role, bound.
#[derive(Debug)]
pub struct Cluster {
    /// Where the cluster address listens (port resolved).
    pub addr: SocketAddr,
    listener: TcpListener,
    socket: Arc<UdpSocket>,
    peers: Arc<Peers>,
    /// Local cluster subscriptions (their own table, their own replay state).
    local: Arc<Subscriptions>,
    udp: Option<UdpSocket>,
    unix: Option<UnixDatagram>,
    unix_path: Option<PathBuf>,
}

fn bind_err(what: &'static str, addr: String) -> impl FnOnce(std::io::Error) -> RouterError {
    move |source| RouterError::Bind { what, addr, source }
}

impl Cluster {
    /// Bind the cluster sockets when `config` asks for a cluster address; local cluster
    /// subscriptions are checked as `main`'s are (the same keys and limits).
    pub async fn bind(
        config: &RouterConfig,
        main: &Subscriptions,
    ) -> Result<Option<Cluster>, RouterError> {
        let Some(asked) = config.cluster_listen else {
            return Ok(None);
        };
        let listener = TcpListener::bind(asked)
            .await
            .map_err(bind_err("cluster listener", asked.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(bind_err("cluster listener", asked.to_string()))?;
        let socket = Arc::new(
            UdpSocket::bind(addr)
                .await
                .map_err(bind_err("cluster UDP socket", addr.to_string()))?,
        );
        crate::subscription::sockets::enlarge_receive_buffer(&*socket);
        let peers = Arc::new(Peers::new(config.cluster_peers.clone()));
        peers.reload();
        let table = Arc::new(RoutingTable::new(config.balancing));
        let local = Arc::new(Subscriptions {
            table,
            keys: main.keys.clone(),
            replay: Arc::new(ReplayGuard::default()),
            sign_tolerance: main.sign_tolerance,
            counters: SubscriptionCounters::default(),
            refusals: Arc::new(RefusalLog::new(config.timeouts.refusal_log_interval)),
            sni: SniLoader::new(main.worker.clone()),
            worker: main.worker.clone(),
            forward: Some(Arc::new(Forwarder {
                peers: peers.clone(),
                socket: socket.clone(),
                own: addr,
                worker: main.worker.clone(),
            })),
        });
        let udp = match config.cluster_subscription_udp {
            Some(a) => {
                let s = UdpSocket::bind(a)
                    .await
                    .map_err(bind_err("cluster subscription server", a.to_string()))?;
                crate::subscription::sockets::enlarge_receive_buffer(&s);
                Some(s)
            }
            None => None,
        };
        let unix = match &config.cluster_subscription_unix {
            Some(p) => Some(crate::subscription::sockets::bind_unix(p).map_err(bind_err(
                "cluster unix subscription server",
                p.display().to_string(),
            ))?),
            None => None,
        };
        Ok(Some(Cluster {
            addr,
            listener,
            socket,
            peers,
            local,
            udp,
            unix,
            unix_path: config.cluster_subscription_unix.clone(),
        }))
    }

    /// Start every task of the role on `tasks`, remote subscriptions going to `main`.
    pub fn serve(
        self,
        tasks: &mut JoinSet<()>,
        main: Arc<Subscriptions>,
        config: &RouterConfig,
        stop: &watch::Receiver<bool>,
    ) -> Option<PathBuf> {
        tasks.spawn(crate::cluster::peers::follow(
            self.peers.clone(),
            stop.clone(),
        ));
        tasks.spawn(crate::cluster::listener::serve(
            self.listener,
            self.peers.clone(),
            self.local.table.clone(),
            config.timeouts.clone(),
            stop.clone(),
        ));
        tasks.spawn(crate::cluster::receive::serve(
            self.socket,
            self.peers,
            main,
            stop.clone(),
        ));
        if let Some(s) = self.udp {
            tasks.spawn(crate::subscription::sockets::serve_udp(
                s,
                self.local.clone(),
                stop.clone(),
            ));
        }
        if let Some(s) = self.unix {
            tasks.spawn(crate::subscription::sockets::serve_unix(
                s,
                self.local.clone(),
                stop.clone(),
            ));
        }
        tasks.spawn(crate::subscription::sockets::expire_loop(
            self.local,
            config.timeouts.subscription_tolerance,
            stop.clone(),
        ));
        self.unix_path
    }
}
