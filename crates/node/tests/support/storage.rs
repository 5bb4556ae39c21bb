//! What the storage, alarm and loopbox tests add to the shared support: fixtures whose
//! containers root is a file system mounted for the test, and looking into a container.

#![allow(dead_code)] // each test binary uses its own part

use std::fs;
use std::process::Command;

use super::{desired, fixture_in, temp_dir, Fixture};

/// A fixture whose containers root is a file system mounted for the test (btrfs for quotas, a
/// tmpfs for a root without them); its containers are stopped, then the file system
/// unmounted, when it is dropped.
pub struct MountedFixture(Fixture);

impl std::ops::Deref for MountedFixture {
    type Target = Fixture;

    fn deref(&self) -> &Fixture {
        &self.0
    }
}

impl Drop for MountedFixture {
    fn drop(&mut self) {
        let _ = self.0.runtime.reconcile(&desired(vec![]));
        let _ = Command::new("umount")
            .arg("--lazy")
            .arg(&self.0.config.containers_root)
            .status();
    }
}

/// Run a shell command that must succeed.
pub fn sh(script: &str) {
    let status = Command::new("sh")
        .args(["-c", script])
        .status()
        .expect("sh");
    assert!(status.success(), "{script} failed");
}

/// Containers on a btrfs file system of `size_mb` MB: an image file in the temporary
/// directory, loop-mounted as the containers root.
pub fn fixture_on_btrfs(size_mb: u64) -> MountedFixture {
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
    MountedFixture(fixture_in(dir))
}

/// Containers on a tmpfs mounted as the containers root: a file system without quotas.
pub fn fixture_on_tmpfs() -> MountedFixture {
    let dir = temp_dir();
    let root = dir.path().join("containers");
    fs::create_dir(&root).expect("containers root");
    sh(&format!(
        "mount -t tmpfs -o size=64m,mode=755 berth-test {}",
        root.display()
    ));
    MountedFixture(fixture_in(dir))
}

impl Fixture {
    /// The container's Emperor log.
    pub fn emperor_log(&self, uid: u32) -> String {
        fs::read_to_string(self.home(uid).join("logs/emperor.log")).unwrap_or_default()
    }

    /// The host pid of the running container's init.
    pub fn init_pid(&self, uid: u32) -> i64 {
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
    pub fn run_as_customer(&self, uid: u32, script: &str) -> (bool, String, String) {
        let out = Command::new("runc")
            .arg("--root")
            .arg(&self.config.runc_root)
            .args(["exec", "--user", &format!("{uid}:{uid}")])
            .arg(berth_node::container_id(uid))
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
