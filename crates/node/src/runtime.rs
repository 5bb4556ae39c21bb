//! The container runtime: a container's home, bundle and runc, started and stopped. The
//! reconciler (`reconcile`) and the rounds' upkeep (`upkeep`) work through it.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

use berth_model::distro::CUSTOM_DISTROS_DIR;
use berth_model::node::{ContainerState, ContainerStatus, DesiredState};

use crate::cgroup;
use crate::checked::Checked;
use crate::config::NodeConfig;
use crate::error::NodeError;
use crate::home::{self, AUTHORIZED_KEYS};
use crate::legion::Legions;
use crate::loopbox;
use crate::mounts::{self, path_str};
use crate::network::Network;
use crate::oci;
use crate::oom;
use crate::platform;
use crate::quota::Quota;
use crate::rootfs::DistroRoot;
use crate::runc::{container_id, Runc, RuncState};
use crate::shortcuts::SHORTCUTS_PATH;
use crate::ssh::KeyBook;
use crate::vpn::VpnHost;

/// Paths inside the container that berth mounts over: the containers root must not be under
/// any of them, or the home could not appear at the same path inside.
const RESERVED: &[&str] = &[
    "/berth", "/bin", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/proc",
    "/run", "/sbin", "/sys", "/tmp", "/usr", "/var/log",
];

/// Realises containers on this machine with runc.
#[derive(Debug)]
pub struct Runtime {
    pub(crate) config: NodeConfig,
    pub(crate) runc: Runc,
    pub(crate) keys: KeyBook,
    pub(crate) quota: Quota,
    /// The containers' network, when configured.
    pub(crate) network: Option<Network>,
    /// The WireGuard interfaces of the VPN pools this server serves, when it may host them.
    pub(crate) vpn: Option<VpnHost>,
    /// keepalived for this server's legions, when it takes part in legions.
    pub(crate) legions: Option<Legions>,
    /// Per container, why each of its loopboxes is not mounted, as last logged.
    pub(crate) loopbox_notes: Mutex<BTreeMap<u32, loopbox::Notes>>,
    /// When the containers' usage was last sampled.
    pub(crate) last_usage: Mutex<Option<Instant>>,
}

impl Runtime {
    /// A runtime for `config`; creates its root-only directories.
    pub fn new(config: NodeConfig) -> Result<Runtime, NodeError> {
        for path in [
            &config.containers_root,
            &config.bundles_dir,
            &config.runc_root,
        ] {
            if !path.is_absolute() {
                return Err(NodeError::Config(format!(
                    "{} must be absolute",
                    path.display()
                )));
            }
        }
        if RESERVED
            .iter()
            .any(|r| config.containers_root.starts_with(r))
        {
            return Err(NodeError::Config(format!(
                "the containers root {} is under a directory the containers mount over ({})",
                config.containers_root.display(),
                RESERVED.join(", ")
            )));
        }
        if config.cgroup_parent.is_empty()
            || !config
                .cgroup_parent
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(NodeError::Config(format!(
                "bad cgroup parent {:?}",
                config.cgroup_parent
            )));
        }
        for dir in [&config.containers_root, &config.subscribe_dir] {
            fs::create_dir_all(dir).map_err(NodeError::io(dir))?;
        }
        // Customers reach their homes (and the node works in them as the customer) through
        // every directory above: each must be searchable by others.
        for dir in config.containers_root.ancestors() {
            let mode = fs::metadata(dir)
                .map_err(NodeError::io(dir))?
                .permissions()
                .mode();
            if mode & 0o001 == 0 {
                return Err(NodeError::Config(format!(
                    "the containers' users cannot reach their homes: {} is not searchable by \
                     others (chmod o+x {})",
                    dir.display(),
                    dir.display()
                )));
            }
        }
        for dir in [&config.bundles_dir, &config.runc_root] {
            fs::create_dir_all(dir).map_err(NodeError::io(dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(NodeError::io(dir))?;
        }
        let runc = Runc::new(config.runc_binary.clone(), config.runc_root.clone());
        let network = config.network.clone().map(Network::new).transpose()?;
        let vpn = config.wireguard_dir.clone().map(VpnHost::new);
        let legions = config.legion.clone().map(Legions::new);
        let quota = Quota::detect(&config.containers_root);
        if let Quota::Off(why) = &quota {
            tracing::warn!("storage quotas are off: {why}");
        }
        Ok(Runtime {
            config,
            runc,
            network,
            vpn,
            legions,
            keys: KeyBook::new(),
            quota,
            loopbox_notes: Mutex::default(),
            last_usage: Mutex::default(),
        })
    }

    /// Who may log in with ssh where: every reconciliation refreshes it from the desired
    /// containers' keys and whether they run. Give it to [`crate::ssh::spawn`].
    pub fn key_book(&self) -> KeyBook {
        self.keys.clone()
    }

    /// The home of `uid`: `<containers_root>/<uid>`, the same path inside the container.
    pub fn home(&self, uid: u32) -> PathBuf {
        self.config.containers_root.join(uid.to_string())
    }

    /// The bundle directory of `uid` (`config.json`, `rootfs/`, the recorded `last_reboot`).
    pub fn bundle(&self, uid: u32) -> PathBuf {
        self.config.bundles_dir.join(uid.to_string())
    }

    /// Whether homes get a storage quota; the reason when they do not (the containers root is
    /// not on btrfs, or its quotas cannot be enabled).
    pub fn quota_off_reason(&self) -> Option<&str> {
        match &self.quota {
            Quota::Btrfs => None,
            Quota::Off(why) => Some(why),
        }
    }

    /// What runc says about the container of `uid`; `None` when it has none.
    pub fn state(&self, uid: u32) -> Result<Option<RuncState>, NodeError> {
        self.runc.state(&container_id(uid))
    }

    /// The cgroup of the container of `uid` (`/berth/30009`).
    pub(crate) fn cgroup(&self, uid: u32) -> String {
        format!("/{}/{uid}", self.config.cgroup_parent)
    }

    /// The state to report for `uid`.
    pub(crate) fn status(&self, uid: u32) -> ContainerStatus {
        let (state, detail) = match self.state(uid) {
            Ok(Some(s)) if s.is_running() => (ContainerState::Running, None),
            Ok(Some(s)) if s.status == "creating" || s.status == "created" => {
                (ContainerState::Starting, None)
            }
            Ok(Some(s)) => (
                ContainerState::Failed,
                Some(format!("runc says {}", s.status)),
            ),
            Ok(None) => (ContainerState::Stopped, None),
            Err(e) => (ContainerState::Failed, Some(e.to_string())),
        };
        ContainerStatus {
            uid: i64::from(uid),
            state,
            running_since_reboot: self.recorded_reboot(uid).unwrap_or(0),
            detail,
            disk_used: None,
        }
    }

    /// The `last_reboot` the container of `uid` was last started with.
    pub(crate) fn recorded_reboot(&self, uid: u32) -> Option<i64> {
        fs::read_to_string(self.bundle(uid).join("last_reboot"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub(crate) fn write_keys(&self, checked: &Checked<'_>) -> Result<bool, NodeError> {
        let mut keys = String::new();
        for key in &checked.spec.ssh_keys {
            keys.push_str(key.trim());
            keys.push('\n');
        }
        home::write_file(
            &self.home(checked.uid),
            checked.uid,
            AUTHORIZED_KEYS,
            keys.as_bytes(),
            0o600,
        )
    }

    /// Prepare the home and the bundle of a checked spec and start it.
    pub(crate) fn start(
        &self,
        checked: &Checked<'_>,
        desired: &DesiredState,
    ) -> Result<(), NodeError> {
        let uid = checked.uid;
        let spec = checked.spec;
        let home = self.home(uid);
        self.quota.create_home(&home)?;
        home::ensure_layout(&home, uid)?;
        home::write_platform_files(&home, uid, spec, &desired.server)?;
        self.write_keys(checked)?;
        if spec.custom_distros_storage {
            home::ensure_subdir(&home, uid, CUSTOM_DISTROS_DIR)?;
        }

        let bundle = self.bundle(uid);
        let rootfs = bundle.join("rootfs");
        for dir in [&bundle, &rootfs] {
            fs::create_dir_all(dir).map_err(NodeError::io(dir))?;
        }
        platform::write(&bundle)?;
        let mut distro = DistroRoot::for_container(
            &self.config.containers_root,
            checked.uid,
            checked.spec,
            &bundle,
        )?;
        distro.stage(&bundle.join("distro"))?;
        let home_str = path_str(&home)?;
        let cgroup = cgroup::view(&self.cgroup(uid));
        let mounts = mounts::container_mounts(&mounts::Sources {
            uid,
            home: &home,
            bundle: &bundle,
            distro: &distro,
            subscribe_dir: &self.config.subscribe_dir,
            cgroup: &cgroup,
        })?;

        let mut args = vec![
            self.config.uwsgi_binary.clone(),
            "--emperor".to_owned(),
            format!("{home_str}/vassals"),
            "--vassal-set".to_owned(),
            format!("inject-before={SHORTCUTS_PATH}"),
            "--logto".to_owned(),
            format!("{home_str}/logs/emperor.log"),
            "--log-maxsize".to_owned(),
            (100u64 << 20).to_string(),
            "--die-on-term".to_owned(),
            // Scan vassals/ every second (uWSGI's default: 3 s), so that a vassal file
            // dropped in answers within the 2 s the platform promises.
            "--emperor-freq".to_owned(),
            "1".to_owned(),
        ];
        if spec.nofollow {
            args.push("--emperor-nofollow".to_owned());
        }
        let config = oci::Spec::container(
            oci::Container {
                uid,
                home: &home_str,
                args,
                rootfs: path_str(&rootfs)?,
                hostname: &spec.hostname,
                memory_bytes: checked.memory_bytes,
                cgroups_path: self.cgroup(uid),
                cgroup_namespace: cgroup == cgroup::View::V2,
            },
            mounts,
        );
        let json = serde_json::to_vec_pretty(&config).map_err(|e| NodeError::Io {
            path: bundle.join("config.json"),
            source: e.into(),
        })?;
        let config_path = bundle.join("config.json");
        fs::write(&config_path, json).map_err(NodeError::io(&config_path))?;
        let reboot_path = bundle.join("last_reboot");
        fs::write(&reboot_path, spec.last_reboot.to_string())
            .map_err(NodeError::io(&reboot_path))?;
        // runc makes the cgroup anew: its OOM kill counter starts from zero.
        oom::mark_seen(&bundle, 0);
        let id = container_id(uid);
        tracing::info!(uid, "starting container");
        let created = self.runc.create(&id, &bundle, &bundle.join("runc.log"));
        // The container has its own copies of the distro's mounts now (or none).
        distro.unstage();
        created?;
        if let Some(network) = &self.network {
            let attached = self.runc.state(&id).and_then(|state| {
                let pid = state.map(|s| s.pid).unwrap_or(0);
                let ip = spec.ip.parse().map_err(|_| NodeError::InvalidSpec {
                    uid: spec.uid,
                    reason: format!("bad ip {:?}", spec.ip),
                })?;
                network.attach(uid, pid, ip, spec.dmz)
            });
            if let Err(e) = attached {
                let _ = self.runc.delete(&id);
                return Err(e);
            }
        }
        self.runc.start(&id)
    }

    /// Stop the container of `uid`: SIGTERM to its Emperor (which stops its vassals), SIGKILL
    /// after the stop timeout, then forget it. The home is kept.
    pub fn stop(&self, uid: u32) -> Result<(), NodeError> {
        let id = container_id(uid);
        tracing::info!(uid, "stopping container");
        if self.runc.kill(&id, "TERM").is_ok() {
            let deadline = Instant::now() + self.config.stop_timeout;
            while Instant::now() < deadline {
                match self.runc.state(&id)? {
                    Some(s) if s.is_running() => sleep(Duration::from_millis(50)),
                    _ => break,
                }
            }
        }
        match self.runc.delete(&id) {
            Ok(()) => Ok(()),
            // Gone already: that is what was asked.
            Err(_) if self.runc.state(&id)?.is_none() => Ok(()),
            Err(e) => Err(e),
        }
    }
}
