//! `berth router`: the HTTP/HTTPS edge on its own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use berth_router::{Balancing, ControlPlane, HttpsConfig, RouterConfig, Timeouts};

/// Flags of `berth router`; each also reads a `BERTH_ROUTER_*` environment variable.
#[derive(Debug, clap::Args)]
pub struct RouterArgs {
    /// Plain HTTP listener.
    #[arg(long, env = "BERTH_ROUTER_HTTP", default_value = "0.0.0.0:80")]
    http: Option<SocketAddr>,
    /// HTTPS listener (needs --cert and --key, the default certificate).
    #[arg(long, env = "BERTH_ROUTER_HTTPS", requires_all = ["cert", "key"])]
    https: Option<SocketAddr>,
    /// PEM certificate chain served when no subscribed domain certificate matches.
    #[arg(long, env = "BERTH_ROUTER_CERT")]
    cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, env = "BERTH_ROUTER_KEY")]
    key: Option<PathBuf>,
    /// UDP subscription server (uWSGI `--subscribe-to`/`--subscribe2` target).
    #[arg(long, env = "BERTH_ROUTER_SUBSCRIPTION_UDP")]
    subscription_udp: Option<SocketAddr>,
    /// Unix datagram subscription server (created mode 0666).
    #[arg(long, env = "BERTH_ROUTER_SUBSCRIPTION_UNIX")]
    subscription_unix: Option<PathBuf>,
    /// Directory of `<domain>.pem` public keys: every subscription must be signed by its key.
    #[arg(long, env = "BERTH_ROUTER_SIGN_CHECK")]
    sign_check: Option<PathBuf>,
    /// Stats listener: Prometheus on /metrics, JSON on /stats.json.
    #[arg(long, env = "BERTH_ROUTER_STATS")]
    stats: Option<SocketAddr>,
    /// Control plane URL to take the domain keys from (subscriptions must then be signed);
    /// several API replicas comma-separated, followed in turn when one does not answer.
    #[arg(long, env = "BERTH_API", requires = "token")]
    api: Option<String>,
    /// The server credential for --api.
    #[arg(long, env = "BERTH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Load balancing: round-robin (weighted) or least-connections.
    #[arg(long, env = "BERTH_ROUTER_BALANCING", default_value = "round-robin")]
    balancing: Balancing,
    /// Seconds without an announce after which a node is dropped.
    #[arg(
        long,
        env = "BERTH_ROUTER_SUBSCRIPTION_TOLERANCE",
        default_value_t = 30
    )]
    subscription_tolerance: u64,
    /// Seconds a signed packet's `unix` may differ from the router's clock.
    #[arg(long, env = "BERTH_ROUTER_SIGN_TOLERANCE", default_value_t = 300)]
    sign_tolerance: u64,
    /// Directory of the router's state (the anti-replay state, `replay.json`), created if
    /// missing.
    #[arg(
        long,
        env = "BERTH_ROUTER_STATE_DIR",
        default_value = "/var/lib/berth/router"
    )]
    state_dir: PathBuf,
    /// Seconds between two summary lines of refused subscriptions (the first few of each
    /// interval are logged one by one).
    #[arg(long, env = "BERTH_ROUTER_REFUSED_LOG_INTERVAL", default_value_t = 10)]
    refused_log_interval: u64,
    /// Threads serving HTTP and HTTPS, each with its own runtime and listeners (default:
    /// one per core).
    #[arg(long, env = "BERTH_ROUTER_THREADS")]
    threads: Option<usize>,
    /// Cluster address (uwsgi.it's fastrouter, e.g. 192.0.2.1:1999): uwsgi requests and
    /// sealed cluster subscriptions from the legion's other members, TCP and UDP.
    #[arg(long, env = "BERTH_ROUTER_CLUSTER_LISTEN", requires = "cluster_peers")]
    cluster_listen: Option<SocketAddr>,
    /// JSON file of the legion's members and key:
    /// `{"key": "<64 hex digits>", "members": ["192.0.2.1:1999", …]}`, re-read every second.
    #[arg(long, env = "BERTH_ROUTER_CLUSTER_PEERS")]
    cluster_peers: Option<PathBuf>,
    /// UDP server of local cluster subscriptions (`cluster-domain` vassals).
    #[arg(long, env = "BERTH_ROUTER_CLUSTER_SUBSCRIPTION_UDP")]
    cluster_subscription_udp: Option<SocketAddr>,
    /// Unix datagram server of local cluster subscriptions (uwsgi.it's
    /// `/run/subscribe/fastrouter`), created mode 0666.
    #[arg(long, env = "BERTH_ROUTER_CLUSTER_SUBSCRIPTION_UNIX")]
    cluster_subscription_unix: Option<PathBuf>,
}

impl RouterArgs {
    fn config(self) -> RouterConfig {
        let https = match (self.https, self.cert, self.key) {
            (Some(addr), Some(cert), Some(key)) => Some(HttpsConfig { addr, cert, key }),
            _ => None,
        };
        RouterConfig {
            http: self.http,
            https,
            subscription_udp: self.subscription_udp,
            subscription_unix: self.subscription_unix,
            sign_check_dir: self.sign_check,
            state_dir: Some(self.state_dir),
            control_plane: self
                .api
                .zip(self.token)
                .map(|(url, token)| ControlPlane { url, token }),
            stats: self.stats,
            balancing: self.balancing,
            listener_threads: self.threads.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            }),
            cluster_listen: self.cluster_listen,
            cluster_peers: self.cluster_peers,
            cluster_subscription_udp: self.cluster_subscription_udp,
            cluster_subscription_unix: self.cluster_subscription_unix,
            timeouts: Timeouts {
                subscription_tolerance: Duration::from_secs(self.subscription_tolerance),
                sign_tolerance: Duration::from_secs(self.sign_tolerance),
                refusal_log_interval: Duration::from_secs(self.refused_log_interval.max(1)),
                ..Timeouts::default()
            },
        }
    }

    /// Run the router until SIGINT or SIGTERM.
    pub fn run(self) -> anyhow::Result<()> {
        // Thread per core: this thread's current-thread runtime serves subscriptions, stats
        // and one share of the HTTP(S) listeners; the router runs the other shares on
        // threads of its own (SO_REUSEPORT), without the work-stealing machinery.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the tokio runtime")?;
        let config = self.config();
        rt.block_on(async move {
            let router = berth_router::Router::bind(config).await?;
            let a = router.addrs();
            for (what, addr) in [
                ("http", a.http.map(|x| x.to_string())),
                ("https", a.https.map(|x| x.to_string())),
                (
                    "subscriptions (udp)",
                    a.subscription_udp.map(|x| x.to_string()),
                ),
                (
                    "subscriptions (unix)",
                    a.subscription_unix
                        .as_ref()
                        .map(|p| p.display().to_string()),
                ),
                ("stats", a.stats.map(|x| x.to_string())),
                ("cluster", a.cluster.map(|x| x.to_string())),
            ] {
                if let Some(addr) = addr {
                    println!("berth router: {what} on {addr}");
                }
            }
            router.serve(crate::api::shutdown_signal()).await?;
            Ok(())
        })
    }
}
