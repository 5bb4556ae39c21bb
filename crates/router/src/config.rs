//! What the router is told to do: listeners, subscription sockets, signing, timeouts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::routing::balancer::Balancing;

/// The HTTPS listener and its default certificate.
#[derive(Debug, Clone)]
pub struct HttpsConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// PEM certificate chain served when no subscription's SNI certificate matches.
    pub cert: PathBuf,
    /// PEM private key of `cert`.
    pub key: PathBuf,
}

/// The control plane the domain keys come from.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    /// Base URL, e.g. `http://127.0.0.1:8080`, or several API replicas comma-separated;
    /// `/node/v1/domain-keys` is appended.
    pub url: String,
    /// The server credential, sent as `Authorization: Bearer`.
    pub token: String,
}

/// Time limits of the router.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// A node that has not announced itself for this long is dropped (uwsgi.it: 30 s).
    pub subscription_tolerance: Duration,
    /// A signed packet's `unix` may differ from the router's clock by at most this.
    pub sign_tolerance: Duration,
    /// Time to read a request head, and idle time between keep-alive requests.
    pub header_read: Duration,
    /// Time to connect to a node.
    pub upstream_connect: Duration,
    /// Time for a node to answer with its response head.
    pub upstream_response: Duration,
    /// Time for a TLS handshake.
    pub tls_handshake: Duration,
    /// Time to read the key and certificate files a subscription names.
    pub file_read: Duration,
    /// At most one summary line of refused subscriptions per this interval.
    pub refusal_log_interval: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            subscription_tolerance: Duration::from_secs(30),
            sign_tolerance: Duration::from_secs(300),
            header_read: Duration::from_secs(10),
            upstream_connect: Duration::from_secs(10),
            upstream_response: Duration::from_secs(500),
            tls_handshake: Duration::from_secs(10),
            file_read: Duration::from_secs(2),
            refusal_log_interval: Duration::from_secs(10),
        }
    }
}

/// Everything `berth router` (or `berth up`) configures. Every listener is optional; bind
/// to port 0 to get an ephemeral port and read it back from [`crate::BoundAddrs`].
#[derive(Debug, Clone, Default)]
pub struct RouterConfig {
    /// Plain HTTP listener.
    pub http: Option<SocketAddr>,
    /// HTTPS listener with its default certificate.
    pub https: Option<HttpsConfig>,
    /// UDP subscription server.
    pub subscription_udp: Option<SocketAddr>,
    /// Unix datagram subscription server (created mode 0666, as uwsgi.it does).
    pub subscription_unix: Option<PathBuf>,
    /// Directory of `<key>.pem` public keys, as uWSGI's `subscriptions-sign-check`.
    pub sign_check_dir: Option<PathBuf>,
    /// Directory of the router's state (`replay.json`, the anti-replay state), created if
    /// missing; without it the anti-replay state lives in memory only.
    pub state_dir: Option<PathBuf>,
    /// Control plane to take the domain → public key map from.
    pub control_plane: Option<ControlPlane>,
    /// Stats listener: Prometheus text on `/metrics`, JSON on `/stats.json`.
    pub stats: Option<SocketAddr>,
    /// How a node is chosen among a domain's nodes.
    pub balancing: Balancing,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Threads serving the HTTP and HTTPS listeners. With N > 1 the router runs N - 1
    /// threads of its own, each with a single-threaded runtime and its own
    /// `SO_REUSEPORT` listeners (the kernel spreads connections over them), besides the
    /// caller's runtime; 0 or 1: the caller's runtime only.
    pub listener_threads: usize,
    /// The cluster address (uwsgi.it's fastrouter, `:1999`): uwsgi requests from the other
    /// legion members over TCP, their sealed cluster subscriptions over UDP, both on this
    /// address, which must be this server's address as the members file lists it.
    pub cluster_listen: Option<SocketAddr>,
    /// The legion's members and key (see `cluster::peers`), re-read every second.
    pub cluster_peers: Option<PathBuf>,
    /// UDP server of local cluster subscriptions (uwsgi.it's `/run/subscribe/fastrouter`).
    pub cluster_subscription_udp: Option<SocketAddr>,
    /// Unix datagram server of local cluster subscriptions (created mode 0666).
    pub cluster_subscription_unix: Option<PathBuf>,
}

impl RouterConfig {
    /// Whether subscriptions must be signed (a sign-check dir or a control plane is set).
    pub fn signing_required(&self) -> bool {
        self.sign_check_dir.is_some() || self.control_plane.is_some()
    }
}
