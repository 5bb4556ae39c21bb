//! What the control plane and a server (`berth node`) say to each other over `/node/v1`: the
//! desired state a server must realise, and the reports it sends back. These are the wire
//! types of that API, shared by both sides so that they cannot drift apart.

use serde::{Deserialize, Serialize};

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
    /// Addresses of the servers that share a legion with this one.
    pub legion_peers: Vec<String>,
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
