//! What the control plane and a server (`berth node`) say to each other over `/node/v1`: the
//! desired state a server must realise, and the reports it sends back. These are the wire
//! types of that API, shared by both sides so that they cannot drift apart.

use serde::{Deserialize, Serialize};

use crate::legion::LegionSpec;
use crate::portmap::Protocol;

use crate::metrics::Metric;
use crate::{alarm, text, ValidationError};

/// The longest `detail` a container status may carry.
pub const DETAIL_MAX: usize = 4096;

/// The longest join token or credential the API reads.
pub const SECRET_MAX: usize = 256;

/// Everything one server must realise, as of a revision of the control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredState {
    /// The control-plane revision this state reflects; give it back to wait for the next.
    pub revision: i64,
    /// The server this state is for.
    pub server: ServerSpec,
    /// The runnable containers of this server (a distro and at least one ssh key set).
    pub containers: Vec<ContainerSpec>,
    /// Every domain the router may route, with its owner's public key for signed
    /// subscriptions.
    pub domains: Vec<DomainKey>,
    /// The legions this server belongs to, each with its failover address, every member
    /// with its weight, and this server's weight: the node runs VRRP for each.
    pub legion_peers: Vec<LegionSpec>,
    /// Public ports of this server forwarded to its containers.
    #[serde(default)]
    pub port_mappings: Vec<PortMappingSpec>,
    /// The WireGuard interfaces of the VPN pools this server serves (pools whose
    /// `vpn_hostname` is this server's name).
    #[serde(default)]
    pub vpn_interfaces: Vec<VpnInterfaceSpec>,
    /// Linked pairs that span servers: a container of this server and one of another server
    /// that link each other, both runnable. The node routes the peer's address through the
    /// tunnel to the peer's server and lets exactly these pairs through it.
    #[serde(default)]
    pub remote_links: Vec<RemoteLinkSpec>,
}

/// Two containers on different servers that link each other, seen from one of the servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteLinkSpec {
    /// The local container's uid.
    pub uid: i64,
    /// The local container's private address.
    pub ip: String,
    /// The remote container's uid.
    pub peer_uid: i64,
    /// The remote container's private address.
    pub peer_ip: String,
    /// The address of the remote container's server (the tunnel's other end).
    pub peer_server: String,
}

/// One WireGuard interface of a VPN host: a pool and its customers' networks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpnInterfaceSpec {
    /// The interface name (`wg0`).
    pub wg_name: String,
    /// The UDP port it listens on.
    pub listen_port: u16,
    /// Its private key when the platform holds it; otherwise the host keeps it in
    /// `<wg_name>.key` beside the configuration.
    pub private_key: Option<String>,
    /// One peer per customer network.
    pub peers: Vec<VpnPeerSpec>,
}

/// A customer's network as a peer of the pool's interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpnPeerSpec {
    /// The customer's username.
    pub owner: String,
    /// The customer's WireGuard public key.
    pub public_key: String,
    /// The customer's network, `address/size`.
    pub allowed_ips: String,
}

/// A public port of the server forwarded (DNAT) to a container's port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMappingSpec {
    /// Transport.
    pub proto: Protocol,
    /// The server's public port.
    pub public_port: i64,
    /// The container's uid.
    pub uid: i64,
    /// The container's private address.
    pub ip: String,
    /// The container's port.
    pub private_port: i64,
}

/// The server's own settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSpec {
    /// Unique name.
    pub name: String,
    /// Its address (containers' ssh and the router are reached there).
    pub address: String,
    /// Seed of each new container's `/etc/resolv.conf`.
    pub etc_resolv_conf: Option<String>,
    /// Seed of each new container's `/etc/hosts`.
    pub etc_hosts: Option<String>,
}

/// One container as the server must run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSpec {
    /// uid = gid = cgroup name; the home is `/containers/<uid>`.
    pub uid: i64,
    /// The container's uuid.
    pub uuid: String,
    /// Display name.
    pub name: String,
    /// Host name inside the container.
    pub hostname: String,
    /// Private address (10.x.y.z).
    pub ip: String,
    /// Memory limit, MB.
    pub memory: i64,
    /// Disk quota, MB.
    pub storage: i64,
    /// The root filesystem.
    pub distro: DistroSpec,
    /// The customer's own root file system, kept in the storage of another of their
    /// containers; when it cannot be used the container boots `distro` (and an alarm says why).
    #[serde(default)]
    pub custom_distro: Option<CustomDistroSpec>,
    /// The container keeps custom distros for its siblings (its home gets `distros/`).
    #[serde(default)]
    pub custom_distros_storage: bool,
    /// OpenSSH public keys that may log in (authorized_keys lines).
    pub ssh_keys: Vec<String>,
    /// When the keys last changed (unix seconds): new keys apply without a restart.
    pub ssh_keys_mtime: i64,
    /// When the container was last asked to restart (unix seconds): a newer value than the
    /// one running means restart.
    pub last_reboot: i64,
    /// The owner's uuid.
    pub customer_uuid: String,
    /// The owner's RSA private key (PKCS#8 PEM), installed as `etc/uwsgi.key` to sign
    /// subscriptions.
    pub customer_private_key_pem: String,
    /// The owner's RSA public key (SPKI PEM), installed as `etc/uwsgi.pubkey`.
    #[serde(default)]
    pub customer_public_key_pem: String,
    /// Disk usage (percent of the quota) that raises an alarm.
    pub quota_threshold: i64,
    /// At most one alarm per this many seconds (uWSGI `alarm-freq`).
    pub alarm_freq: i64,
    /// The Emperor does not follow symlinks for vassal mtimes.
    pub nofollow: bool,
    /// No default route.
    pub dmz: bool,
    /// Loop-mounted ext4 images.
    pub loopboxes: Vec<LoopboxSpec>,
    /// Containers this one may reach (one-directional links).
    pub links: Vec<LinkSpec>,
}

/// A distro root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistroSpec {
    /// Database id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Root directory on the server.
    pub path: String,
}

/// A custom distro: the root file system a customer built in `distros/<path>` of one of
/// their containers (the storage container).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomDistroSpec {
    /// Database id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The uid of the container whose home holds it.
    pub storage_uid: i64,
    /// Its directory under the storage container's `distros/` (one path component).
    pub path: String,
}

/// A loopbox to mount in a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopboxSpec {
    /// Database id (the loop device number).
    pub id: i64,
    /// Image path relative to the home.
    pub filename: String,
    /// Mount point relative to the home.
    pub mountpoint: String,
    /// Mount read-only.
    pub ro: bool,
}

/// A link from one container to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSpec {
    /// The peer's uid.
    pub uid: i64,
    /// The peer's private address.
    pub ip: String,
}

/// A routable domain and the public key that verifies its signed subscriptions (the router's
/// `domain-keys` answer uses the same shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainKey {
    /// The domain name (a leading dot: the wildcard key).
    pub name: String,
    /// The owner's RSA public key, SPKI PEM.
    pub public_key_pem: String,
}

/// What a server observed of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerStatus {
    /// The container's uid.
    pub uid: i64,
    /// Its state.
    pub state: ContainerState,
    /// The `last_reboot` of the configuration it runs.
    pub running_since_reboot: i64,
    /// Why it is not running, when it is not.
    pub detail: Option<String>,
    /// Disk used, bytes, when known.
    pub disk_used: Option<i64>,
}

/// A container's observed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerState {
    /// Its Emperor runs.
    Running,
    /// Being created or restarted.
    Starting,
    /// Stopped on purpose.
    Stopped,
    /// Failed to start; see `detail`.
    Failed,
}

impl ContainerState {
    /// Every state.
    pub const ALL: [ContainerState; 4] = [
        ContainerState::Running,
        ContainerState::Starting,
        ContainerState::Stopped,
        ContainerState::Failed,
    ];

    /// The name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Running => "running",
            ContainerState::Starting => "starting",
            ContainerState::Stopped => "stopped",
            ContainerState::Failed => "failed",
        }
    }
}

impl std::str::FromStr for ContainerState {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ContainerState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| ValidationError::new("state", format!("unknown state {text:?}")))
    }
}

/// A system alarm (level 0) a server raises for a container: OOM, quota, loopbox trouble.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemAlarm {
    /// The container's uid.
    pub uid: i64,
    /// When, unix seconds.
    pub unix: i64,
    /// The message.
    pub msg: String,
}

/// One sample a server measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// `container.<m>` or `domain.<m>` (see [`crate::metrics::Metric`]).
    pub metric: String,
    /// The container's uid.
    pub uid: i64,
    /// For domain metrics, the domain name.
    pub domain: Option<String>,
    /// When, unix seconds.
    pub unix: i64,
    /// The raw value.
    pub value: i64,
}

/// A batch of reports from a server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReport {
    /// Observed container states.
    #[serde(default)]
    pub containers: Vec<ContainerStatus>,
    /// System alarms raised since the last report.
    #[serde(default)]
    pub alarms: Vec<SystemAlarm>,
    /// Samples measured since the last report.
    #[serde(default)]
    pub metrics: Vec<MetricPoint>,
}

/// Checks the shape of a join token or credential a client sent: 1 to [`SECRET_MAX`]
/// printable ASCII characters. Whether it is valid is the store's business.
pub fn secret<'a>(field: &str, value: &'a str) -> Result<&'a str, ValidationError> {
    let value = value.trim();
    if value.is_empty() || value.len() > SECRET_MAX {
        return Err(ValidationError::new(
            field,
            format!("must be 1 to {SECRET_MAX} characters"),
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::new(
            field,
            "must be printable ASCII without spaces",
        ));
    }
    Ok(value)
}

/// The metric of a point: a known name, with a domain exactly when it is a domain metric, at
/// a positive time and with a non-negative value.
pub fn metric_of(point: &MetricPoint) -> Result<Metric, ValidationError> {
    let metric: Metric = point.metric.parse()?;
    match (metric, &point.domain) {
        (Metric::Domain(_), Some(domain)) => {
            text::required_line("domain", domain, 255)?;
        }
        (Metric::Domain(_), None) => {
            return Err(ValidationError::new(
                "domain",
                format!("{} needs a domain", point.metric),
            ))
        }
        (Metric::Container(_), Some(_)) => {
            return Err(ValidationError::new(
                "domain",
                format!("{} takes no domain", point.metric),
            ))
        }
        (Metric::Container(_), None) => {}
    }
    if point.unix <= 0 {
        return Err(ValidationError::new("unix", "must be a positive unix time"));
    }
    if point.value < 0 {
        return Err(ValidationError::new("value", "must not be negative"));
    }
    Ok(metric)
}

/// Checks a whole report before any of it is stored: a malformed entry is a bug of the node
/// and refuses the batch, while entries about other servers' containers are the store's
/// to refuse one by one.
pub fn check_report(report: &NodeReport) -> Result<(), ValidationError> {
    for status in &report.containers {
        if let Some(detail) = &status.detail {
            text::note("detail", detail, DETAIL_MAX)?;
        }
        if status.disk_used.is_some_and(|used| used < 0) {
            return Err(ValidationError::new("disk_used", "must not be negative"));
        }
    }
    for raised in &report.alarms {
        alarm::system_alarm(raised.unix, &raised.msg)?;
    }
    for point in &report.metrics {
        metric_of(point)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(metric: &str, domain: Option<&str>) -> MetricPoint {
        MetricPoint {
            metric: metric.into(),
            uid: 30_001,
            domain: domain.map(str::to_owned),
            unix: 1_700_000_000,
            value: 1,
        }
    }

    #[test]
    fn metric_points_need_a_domain_exactly_for_domain_metrics() {
        assert!(metric_of(&point("container.cpu", None)).is_ok());
        assert!(metric_of(&point("domain.net.rx", Some("example.com"))).is_ok());
        assert!(metric_of(&point("domain.net.rx", None)).is_err());
        assert!(metric_of(&point("container.cpu", Some("example.com"))).is_err());
        assert!(metric_of(&point("container.nope", None)).is_err());
        let mut negative = point("container.cpu", None);
        negative.value = -1;
        assert!(metric_of(&negative).is_err());
    }

    #[test]
    fn states_read_back_as_serde_names_them() {
        for state in ContainerState::ALL {
            let json = serde_json::to_value(state).expect("json");
            assert_eq!(json, serde_json::Value::from(state.as_str()));
            assert_eq!(state.as_str().parse::<ContainerState>().ok(), Some(state));
        }
    }

    #[test]
    fn secrets_are_printable_and_bounded() {
        assert_eq!(secret("token", " abc ").ok(), Some("abc"));
        assert!(secret("token", "").is_err());
        assert!(secret("token", "a b").is_err());
        assert!(secret("token", &"x".repeat(SECRET_MAX + 1)).is_err());
    }

    #[test]
    fn reports_with_a_bad_entry_are_refused() {
        let mut report = NodeReport::default();
        assert!(check_report(&report).is_ok());
        report.containers.push(ContainerStatus {
            uid: 30_001,
            state: ContainerState::Running,
            running_since_reboot: 1,
            detail: None,
            disk_used: Some(-5),
        });
        assert!(check_report(&report).is_err());
    }
}
