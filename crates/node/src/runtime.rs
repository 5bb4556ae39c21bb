//! The container runtime (home, bundle, runc) and the reconciler on top of it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

use berth_model::distro::CUSTOM_DISTROS_DIR;
use berth_model::node::{ContainerState, ContainerStatus, DesiredState, MetricPoint, SystemAlarm};

use crate::alarm::{AlarmKind, Alarms};
use crate::cgroup;
use crate::checked::{check, Checked};
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
use crate::quota_report;
use crate::rootfs::{DistroRoot, CUSTOM_DISTRO_REFUSED};
use crate::runc::{container_id, uid_of_container_id, Runc, RuncState};
use crate::shortcuts::SHORTCUTS_PATH;
use crate::ssh::KeyBook;
use crate::usage;
use crate::vpn::VpnHost;

/// How often the containers' resource usage is sampled for the metrics.
pub const USAGE_EVERY: Duration = Duration::from_secs(60);

/// Paths inside the container that berth mounts over: the containers root must not be under
/// any of them, or the home could not appear at the same path inside.
const RESERVED: &[&str] = &[
    "/berth", "/bin", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/proc",
    "/run", "/sbin", "/sys", "/tmp", "/usr", "/var/log",
];

/// One thing [`Runtime::reconcile`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A container that did not run was started.
    Started(u32),
    /// A running container was restarted: its `last_reboot` was bumped, or its init had died.
    Restarted(u32),
    /// The authorized keys of a running container were rewritten (no restart).
    KeysUpdated(u32),
    /// A container no longer desired was stopped (its home is kept).
    Stopped(u32),
}

/// The outcome of one reconciliation.
#[derive(Debug, Default)]
pub struct Reconciliation {
    /// What changed; empty when the machine already matched.
    pub changes: Vec<Change>,
    /// The observed state of every desired container, for the node report.
    pub statuses: Vec<ContainerStatus>,
    /// Containers that could not be realised (or stopped), by uid as sent; uid 0 when runc
    /// itself could not list the containers (then nothing was done).
    pub errors: Vec<(i64, NodeError)>,
    /// System alarms raised this round (quota threshold, out of memory), already appended to
    /// the containers' `logs/emperor.log`; the node report carries them to the control plane.
    pub alarms: Vec<SystemAlarm>,
}

/// Realises containers on this machine with runc.
#[derive(Debug)]
pub struct Runtime {
    config: NodeConfig,
    runc: Runc,
    keys: KeyBook,
    quota: Quota,
    /// The containers' network, when configured.
    network: Option<Network>,
    /// The WireGuard interfaces of the VPN pools this server serves, when it may host them.
    vpn: Option<VpnHost>,
    /// keepalived for this server's legions, when it takes part in legions.
    legions: Option<Legions>,
    /// Per container, why each of its loopboxes is not mounted, as last logged.
    loopbox_notes: Mutex<BTreeMap<u32, loopbox::Notes>>,
    /// When the containers' usage was last sampled.
    last_usage: Mutex<Option<Instant>>,
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

    /// Make the machine match `desired`: start missing containers, restart those whose
    /// `last_reboot` is newer than the one they run with (or whose init died), rewrite changed
    /// ssh keys without a restart, stop the containers no longer desired (keeping their
    /// homes). Running it again with the same state changes nothing. One container's failure
    /// does not stop the others. The [key book](Runtime::key_book) follows: the desired keys
    /// of the containers that run.
    pub fn reconcile(&self, desired: &DesiredState) -> Reconciliation {
        let result = self.realise(desired);
        self.keys.update(desired, &result.statuses);
        result
    }

    fn realise(&self, desired: &DesiredState) -> Reconciliation {
        let mut result = Reconciliation::default();
        let existing: BTreeMap<u32, RuncState> = match self.runc.list() {
            Ok(list) => list
                .into_iter()
                .filter_map(|s| uid_of_container_id(&s.id).map(|uid| (uid, s)))
                .collect(),
            Err(e) => {
                result.errors.push((0, e));
                return result;
            }
        };
        if let Some(network) = &self.network {
            // Before any container starts, so that a new link or mapping works at once.
            if let Err(e) = network.apply(desired) {
                result.errors.push((0, e));
            }
        }
        if let Some(vpn) = &self.vpn {
            if let Err(e) = vpn.converge(&desired.vpn_interfaces) {
                result.errors.push((0, e));
            }
        }
        if let Some(legions) = &self.legions {
            if let Err(e) = legions.converge(&desired.server, &desired.legion_peers) {
                result.errors.push((0, e));
            }
        }
        let mut wanted = BTreeSet::new();
        for spec in &desired.containers {
            // A desired container is never stopped, even when its spec is refused.
            let listed_twice = u32::try_from(spec.uid).is_ok_and(|uid| !wanted.insert(uid));
            let outcome = if listed_twice {
                Err(NodeError::InvalidSpec {
                    uid: spec.uid,
                    reason: "listed twice".to_owned(),
                })
            } else {
                check(spec).and_then(|checked| {
                    self.converge(&checked, desired, existing.get(&checked.uid))
                        .map(|changes| (checked, changes))
                })
            };
            match outcome {
                Ok((checked, changes)) => {
                    result.changes.extend(changes);
                    let mut status = self.status(checked.uid);
                    self.upkeep(&checked, &mut status, &mut result.alarms);
                    result.statuses.push(status);
                }
                Err(e) => {
                    tracing::warn!(uid = spec.uid, error = %e, "container not realised");
                    result.statuses.push(ContainerStatus {
                        uid: spec.uid,
                        state: ContainerState::Failed,
                        running_since_reboot: 0,
                        detail: Some(e.to_string()),
                        disk_used: None,
                    });
                    result.errors.push((spec.uid, e));
                }
            }
        }
        // As uwsgi.it's console broadcast: the alarm shows in the container's open terminals.
        for alarm in &result.alarms {
            if let Ok(uid) = u32::try_from(alarm.uid) {
                self.keys.consoles().broadcast(uid, &alarm.msg);
            }
        }
        self.loopbox_notes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|uid, _| wanted.contains(uid));
        for (&uid, _) in existing.iter().filter(|(uid, _)| !wanted.contains(uid)) {
            match self.stop(uid) {
                Ok(()) => result.changes.push(Change::Stopped(uid)),
                Err(e) => result.errors.push((i64::from(uid), e)),
            }
        }
        result
    }

    fn converge(
        &self,
        checked: &Checked<'_>,
        desired: &DesiredState,
        existing: Option<&RuncState>,
    ) -> Result<Vec<Change>, NodeError> {
        let uid = checked.uid;
        let change = match existing {
            None => Some(Change::Started(uid)),
            Some(state) if !state.is_running() => Some(Change::Restarted(uid)),
            Some(_) => match self.recorded_reboot(uid) {
                Some(running) if running >= checked.spec.last_reboot => None,
                _ => Some(Change::Restarted(uid)),
            },
        };
        let mut changes = Vec::new();
        if let Some(change) = change {
            if existing.is_some() {
                self.stop(uid)?;
            }
            self.start(checked, desired)?;
            changes.push(change);
        } else if self.write_keys(checked)? {
            changes.push(Change::KeysUpdated(uid));
        }
        Ok(changes)
    }

    /// What a converged container needs every round besides runc: its storage limit and
    /// usage (with the quota alarm), the out-of-memory alarm, and its loopboxes.
    fn upkeep(
        &self,
        checked: &Checked<'_>,
        status: &mut ContainerStatus,
        raised: &mut Vec<SystemAlarm>,
    ) {
        let (uid, spec) = (checked.uid, checked.spec);
        let home = self.home(uid);
        let bundle = self.bundle(uid);
        let mut alarms = Alarms::new(&bundle, &home, uid, spec.alarm_freq, raised);
        let usage = match self.quota.enforce(&home, checked.storage_bytes) {
            Ok(Some(usage)) => {
                status.disk_used = Some(usage.used);
                if let Some(msg) = usage.alarm(uid, spec.storage, spec.quota_threshold) {
                    alarms.raise(AlarmKind::Quota, msg);
                }
                Ok(Some(usage))
            }
            other => other,
        };
        match usage {
            Ok(usage) => {
                if let Err(error) = quota_report::write(&platform::dir(&bundle), uid, &home, usage)
                {
                    tracing::warn!(uid, %error, "quota report");
                }
            }
            Err(error) => tracing::warn!(uid, %error, "storage quota"),
        }
        let refused = bundle.join(CUSTOM_DISTRO_REFUSED);
        if let Ok(msg) = fs::read_to_string(&refused) {
            if alarms.raise(AlarmKind::CustomDistro, msg) {
                let _ = fs::remove_file(&refused);
            }
        }
        if let Some(kills) = oom::kills(&self.cgroup(uid)) {
            let new = oom::unseen(&bundle, kills);
            if new > 0 && alarms.raise(AlarmKind::OutOfMemory, oom::alarm(uid, new, spec.memory)) {
                oom::mark_seen(&bundle, kills);
            }
        }
        if let Ok(Some(state)) = self.state(uid) {
            if state.is_running() {
                let mut notes = self
                    .loopbox_notes
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let notes = notes.entry(uid).or_default();
                loopbox::sync(&home, uid, state.pid, &spec.loopboxes, notes);
            }
        }
    }

    /// The resource usage of the running containers among `statuses`, as metric points
    /// (memory, CPU, block I/O, disk, network), sampled at most once per [`USAGE_EVERY`]: empty
    /// between samples.
    pub fn usage(&self, statuses: &[ContainerStatus]) -> Vec<MetricPoint> {
        {
            let mut last = self
                .last_usage
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < USAGE_EVERY) {
                return Vec::new();
            }
            *last = Some(Instant::now());
        }
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs() as i64);
        usage::sample_running(
            statuses,
            |uid| u32::try_from(uid).ok().map(|uid| self.cgroup(uid)),
            |uid| {
                let uid = u32::try_from(uid).ok()?;
                self.network.as_ref()?.traffic(uid)
            },
            unix,
        )
    }

    /// The cgroup of the container of `uid` (`/berth/30009`).
    fn cgroup(&self, uid: u32) -> String {
        format!("/{}/{uid}", self.config.cgroup_parent)
    }

    /// The state to report for `uid`.
    fn status(&self, uid: u32) -> ContainerStatus {
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
    fn recorded_reboot(&self, uid: u32) -> Option<i64> {
        fs::read_to_string(self.bundle(uid).join("last_reboot"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn write_keys(&self, checked: &Checked<'_>) -> Result<bool, NodeError> {
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
    fn start(&self, checked: &Checked<'_>, desired: &DesiredState) -> Result<(), NodeError> {
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
