//! What the node's integration tests share: a runtime under a temporary directory, container
//! specs on the host distro, running commands in them, waiting.
#![allow(dead_code)] // each test binary uses its own part

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use berth_model::node::{ContainerSpec, DesiredState, DistroSpec, ServerSpec};
use berth_node::{container_id, NetworkConfig, NodeConfig, Runtime};

pub mod storage;

/// The memory limit of the test containers.
pub const MEMORY_MB: i64 = 96;

/// A node runtime in a temporary directory under /var/tmp, with a customer key; its
/// containers are stopped when it is dropped.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub config: NodeConfig,
    pub runtime: Runtime,
    pub private_pem: String,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Leave no container behind, whatever the test did.
        let _ = self.runtime.reconcile(&desired(vec![]));
    }
}

/// Run openssl with `args` (and `input` on its stdin); its stdout.
pub fn openssl(args: &[&str], input: Option<&str>) -> String {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl runs");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(input) = input {
        stdin.write_all(input.as_bytes()).expect("write to openssl");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("openssl output");
    assert!(out.status.success(), "openssl {args:?} failed");
    String::from_utf8(out.stdout).expect("PEM is text")
}

/// A runtime with containers under a fresh directory, cgroup parent `berth-test`.
pub fn fixture() -> Fixture {
    fixture_in(temp_dir())
}

/// A fresh directory under /var/tmp, readable by the containers' users.
pub(crate) fn temp_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("berth-node-test-")
        .tempdir_in("/var/tmp")
        .expect("temp dir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// A runtime with containers under `dir/containers` (which may be a mount point already),
/// without a network: containers have only their loopback.
pub(crate) fn fixture_in(dir: tempfile::TempDir) -> Fixture {
    fixture_with(dir, None)
}

/// A runtime with containers under `dir/containers` and the given network.
pub(crate) fn fixture_with(dir: tempfile::TempDir, network: Option<NetworkConfig>) -> Fixture {
    let subscribe_dir = dir.path().join("subscribe");
    fs::create_dir(&subscribe_dir).expect("subscribe dir");
    let config = NodeConfig {
        containers_root: dir.path().join("containers"),
        bundles_dir: dir.path().join("bundles"),
        runc_root: dir.path().join("runc"),
        subscribe_dir,
        cgroup_parent: "berth-test".to_owned(),
        network,
        wireguard_dir: None,
        ..NodeConfig::standard()
    };
    let runtime = Runtime::new(config.clone()).expect("runtime");
    let private_pem = openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
        None,
    );
    Fixture {
        dir,
        config,
        runtime,
        private_pem,
    }
}

impl Fixture {
    /// A runnable container of `uid` on the host distro, hostname `c<uid>`.
    pub fn spec(&self, uid: i64) -> ContainerSpec {
        ContainerSpec {
            uid,
            uuid: format!("00000000-0000-0000-0000-0000000{uid}"),
            name: format!("test{uid}"),
            hostname: format!("c{uid}"),
            ip: "10.0.0.2".to_owned(),
            memory: MEMORY_MB,
            storage: 1000,
            distro: DistroSpec {
                id: 1,
                name: "host".to_owned(),
                path: "/".to_owned(),
            },
            custom_distro: None,
            custom_distros_storage: false,
            ssh_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne one@test".to_owned()],
            ssh_keys_mtime: 1,
            last_reboot: 1,
            customer_uuid: "c".to_owned(),
            customer_private_key_pem: self.private_pem.clone(),
            customer_public_key_pem: openssl(&["pkey", "-pubout"], Some(&self.private_pem)),
            quota_threshold: 90,
            alarm_freq: 60,
            nofollow: false,
            dmz: false,
            loopboxes: vec![],
            links: vec![],
        }
    }

    /// The home of `uid`.
    pub fn home(&self, uid: u32) -> PathBuf {
        self.runtime.home(uid)
    }

    /// Run `script` with sh inside the container of `uid`, as `user`: whether it succeeded,
    /// and its stdout.
    pub fn exec(&self, uid: u32, user: u32, script: &str) -> (bool, String) {
        let out = Command::new("runc")
            .arg("--root")
            .arg(&self.config.runc_root)
            .args(["exec", "--user", &format!("{user}:{user}")])
            .arg(container_id(uid))
            .args(["sh", "-c", script])
            .output()
            .expect("runc exec");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

/// A desired state holding `containers`.
pub fn desired(containers: Vec<ContainerSpec>) -> DesiredState {
    DesiredState {
        revision: 1,
        server: ServerSpec {
            name: "test".to_owned(),
            address: "127.0.0.1".to_owned(),
            etc_resolv_conf: None,
            etc_hosts: None,
        },
        containers,
        domains: vec![],
        legion_peers: vec![],
        port_mappings: vec![],
        vpn_interfaces: vec![],
        remote_links: vec![],
    }
}

/// Call `f` until it gives something, for at most 30 s.
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(100));
    }
}

/// A control plane that serves one state and records the reports.
pub struct FakeControlPlane {
    /// The state every call of `desired_state` answers.
    pub state: DesiredState,
    /// The reports received, oldest first.
    pub reports: std::sync::Mutex<Vec<berth_model::node::NodeReport>>,
}

impl berth_node::ControlPlane for FakeControlPlane {
    fn desired_state(&self, _after: Option<i64>) -> Result<DesiredState, berth_node::NodeError> {
        Ok(self.state.clone())
    }

    fn report(&self, report: &berth_model::node::NodeReport) -> Result<(), berth_node::NodeError> {
        self.reports.lock().expect("lock").push(report.clone());
        Ok(())
    }
}
