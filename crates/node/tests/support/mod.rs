//! What the storage, alarm and loopbox tests share: a node runtime in a temporary directory
//! (optionally with its containers root on a loop-mounted btrfs image), container specs, and
//! running commands inside a container.

#![allow(dead_code)] // each test binary uses its own part

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use berth_model::node::{ContainerSpec, DesiredState, DistroSpec, ServerSpec};
use berth_node::{container_id, NodeConfig, Runtime};

/// A runtime whose files all live in a temporary directory; its containers are stopped (and
/// the file system mounted as its containers root unmounted) when dropped.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub config: NodeConfig,
    pub runtime: Runtime,
    mounted: bool,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.runtime.reconcile(&desired(vec![]));
        if self.mounted {
            let _ = Command::new("umount")
                .arg("--lazy")
                .arg(&self.config.containers_root)
                .status();
        }
    }
}

fn temp_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("berth-node-test-")
        .tempdir_in("/var/tmp")
        .expect("temp dir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn with_runtime(dir: tempfile::TempDir, mounted: bool) -> Fixture {
    let subscribe_dir = dir.path().join("subscribe");
    fs::create_dir_all(&subscribe_dir).expect("subscribe dir");
    let config = NodeConfig {
        containers_root: dir.path().join("containers"),
        bundles_dir: dir.path().join("bundles"),
        runc_root: dir.path().join("runc"),
        subscribe_dir,
        cgroup_parent: "berth-test".to_owned(),
        ..NodeConfig::standard()
    };
    let runtime = Runtime::new(config.clone()).expect("runtime");
    Fixture {
        dir,
        config,
        runtime,
        mounted,
    }
}

/// Run a command that must succeed.
pub fn sh(script: &str) {
    let status = Command::new("sh")
        .args(["-c", script])
        .status()
        .expect("sh");
    assert!(status.success(), "{script} failed");
}

impl Fixture {
    /// Containers under a plain directory of the temporary file system.
    pub fn plain() -> Fixture {
        with_runtime(temp_dir(), false)
    }

    /// Containers on a btrfs file system of `size_mb` MB: an image file in the temporary
    /// directory, loop-mounted as the containers root.
    pub fn on_btrfs(size_mb: u64) -> Fixture {
        let dir = temp_dir();
        let image = dir.path().join("btrfs.img");
        let root = dir.path().join("containers");
        fs::create_dir(&root).expect("containers root");
        sh(&format!(
            "truncate -s {size_mb}M {image} && mkfs.btrfs -q {image} >/dev/null 2>&1 && \
             mount -o loop {image} {root}",
            image = image.display(),
            root = root.display()
        ));
        with_runtime(dir, true)
    }

    /// Containers on a tmpfs mounted as the containers root: a file system without quotas.
    pub fn on_tmpfs() -> Fixture {
        let dir = temp_dir();
        let root = dir.path().join("containers");
        fs::create_dir(&root).expect("containers root");
        sh(&format!(
            "mount -t tmpfs -o size=64m,mode=755 berth-test {}",
            root.display()
        ));
        with_runtime(dir, true)
    }

    /// A runnable spec for `uid` with the host as its distro.
    pub fn spec(&self, uid: u32) -> ContainerSpec {
        ContainerSpec {
            uid: uid.into(),
            uuid: format!("00000000-0000-0000-0000-0000000{uid}"),
            name: format!("test{uid}"),
            hostname: format!("c{uid}"),
            ip: "10.0.0.2".to_owned(),
            memory: 64,
            storage: 1000,
            distro: DistroSpec {
                id: 1,
                name: "host".to_owned(),
                path: "/".to_owned(),
            },
            ssh_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne one@test".to_owned()],
            ssh_keys_mtime: 1,
            last_reboot: 1,
            customer_uuid: "c".to_owned(),
            // Only a vassal subscribing would use it.
            customer_private_key_pem:
                "-----BEGIN PRIVATE KEY-----\nunused\n-----END PRIVATE KEY-----\n".to_owned(),
            quota_threshold: 90,
            alarm_freq: 60,
            nofollow: false,
            dmz: false,
            loopboxes: vec![],
            links: vec![],
        }
    }

    pub fn home(&self, uid: u32) -> PathBuf {
        self.runtime.home(uid)
    }

    /// The container's Emperor log.
    pub fn emperor_log(&self, uid: u32) -> String {
        fs::read_to_string(self.home(uid).join("logs/emperor.log")).unwrap_or_default()
    }

    /// The host pid of the container's init.
    pub fn pid(&self, uid: u32) -> i64 {
        let state = self
            .runtime
            .state(uid)
            .expect("runc state")
            .expect("container");
        assert!(state.is_running(), "{state:?}");
        state.pid
    }

    /// Run `script` with sh inside the container of `uid`, as its user: success, stdout and
    /// stderr.
    pub fn exec(&self, uid: u32, script: &str) -> (bool, String, String) {
        let out = Command::new("runc")
            .arg("--root")
            .arg(&self.config.runc_root)
            .args(["exec", "--user", &format!("{uid}:{uid}")])
            .arg(container_id(uid))
            .args(["sh", "-c", script])
            .output()
            .expect("runc exec");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// A desired state of `containers`.
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
    }
}
