//! Where the node keeps things and which programs it runs.

use std::path::PathBuf;
use std::time::Duration;

use crate::legion::LegionConfig;
use crate::network::NetworkConfig;

/// Where the node keeps things and which programs it runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Parent of the homes (`/containers`); a home is at the same path inside its container.
    pub containers_root: PathBuf,
    /// One bundle directory per container (`/var/lib/berth/node/bundles`), root only.
    pub bundles_dir: PathBuf,
    /// runc's state directory (`--root`, `/run/berth/runc`).
    pub runc_root: PathBuf,
    /// The runc binary.
    pub runc_binary: PathBuf,
    /// The uWSGI binary, as seen inside the distros.
    pub uwsgi_binary: String,
    /// Host directory holding the routers' subscription sockets (`http`, `fastrouter`),
    /// bound at `/run/subscribe` in every container.
    pub subscribe_dir: PathBuf,
    /// The cgroup parent of the containers' cgroups (`berth` → `/berth/<uid>`).
    pub cgroup_parent: String,
    /// The containers' network (`uwsgi0`, links, dmz, port mappings); `None` leaves each
    /// container only its loopback.
    pub network: Option<NetworkConfig>,
    /// Where the WireGuard configurations of the VPN pools this server serves go
    /// (`/etc/wireguard`); `None`: this server is no VPN host.
    pub wireguard_dir: Option<PathBuf>,
    /// How this server holds its legions' failover addresses (keepalived); `None`: it
    /// takes no part in legions.
    pub legion: Option<LegionConfig>,
    /// How long a stopping Emperor may take to shut its vassals down before it is killed.
    /// Vassals unsubscribe from the routers at once on SIGTERM, but the Emperor needs about
    /// 3 s to exit with them; 1 s keeps a restart within the 2 s the platform promises.
    pub stop_timeout: Duration,
}

impl NodeConfig {
    /// The production layout: homes under `/containers`, the router's sockets in `/subscribe`.
    pub fn standard() -> NodeConfig {
        NodeConfig {
            containers_root: PathBuf::from("/containers"),
            bundles_dir: PathBuf::from("/var/lib/berth/node/bundles"),
            runc_root: PathBuf::from("/run/berth/runc"),
            runc_binary: PathBuf::from("runc"),
            uwsgi_binary: "/usr/bin/uwsgi".to_owned(),
            subscribe_dir: PathBuf::from("/subscribe"),
            cgroup_parent: "berth".to_owned(),
            network: Some(NetworkConfig::standard()),
            wireguard_dir: Some(PathBuf::from("/etc/wireguard")),
            legion: None,
            stop_timeout: Duration::from_secs(1),
        }
    }
}
