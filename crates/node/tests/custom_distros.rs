//! Custom distros on the node, with real runc containers: a container boots the root file
//! system its customer built in `distros/` of another of their containers, with the
//! platform's files (`/opt/unbit/uwsgi/shortcuts.ini`, `quota`, `/run/cgroup`) as on any
//! distro; a custom distro whose path leaves that storage is refused, and the container boots
//! its platform distro with a `[DANGER]` alarm.

mod support;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;
use std::process::Command;

use berth_model::node::{ContainerSpec, CustomDistroSpec};
use support::{desired, fixture, wait_for, Fixture};

const STORAGE: u32 = 31801;
const USER: u32 = 31802;

/// A root file system at `root` made from the host's: `/usr` hard-linked (the same file
/// system), its own copy of `/etc` with a marker, merged-/usr symlinks.
fn make_rootfs(root: &Path, marker: &str) {
    fs::create_dir_all(root).expect("root");
    let status = Command::new("cp")
        .args(["-al", "/usr"])
        .arg(root.join("usr"))
        .status()
        .expect("cp");
    assert!(status.success(), "hard-linking /usr");
    let status = Command::new("cp")
        .args(["-a", "/etc"])
        .arg(root.join("etc"))
        .status()
        .expect("cp");
    assert!(status.success(), "copying /etc");
    fs::write(root.join("etc/custom-release"), marker).expect("marker");
    for (link, target) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("sbin", "usr/sbin"),
    ] {
        symlink(target, root.join(link)).expect("symlink");
    }
}

fn storage_spec(f: &Fixture) -> ContainerSpec {
    let mut storage = f.spec(STORAGE.into());
    storage.custom_distros_storage = true;
    storage
}

fn user_spec(f: &Fixture, path: &str) -> ContainerSpec {
    let mut spec = f.spec(USER.into());
    spec.ip = "10.0.0.3".to_owned();
    spec.custom_distro = Some(CustomDistroSpec {
        id: 7,
        name: "mine".to_owned(),
        storage_uid: STORAGE.into(),
        path: path.to_owned(),
    });
    spec
}

#[test]
fn a_custom_distro_kept_by_a_sibling_boots_the_container() {
    let f = fixture();
    let storage = storage_spec(&f);
    let done = f.runtime.reconcile(&desired(vec![storage.clone()]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    // The storage container's home has its distros/ directory, the customer's.
    let distros = f.home(STORAGE).join("distros");
    let meta = fs::symlink_metadata(&distros).expect("distros/");
    assert!(meta.is_dir());
    assert_eq!(meta.uid(), STORAGE);
    make_rootfs(&distros.join("mine"), "built by the customer\n");

    let spec = user_spec(&f, "mine");
    let done = f.runtime.reconcile(&desired(vec![storage, spec]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    assert!(done.alarms.is_empty(), "{:?}", done.alarms);
    let home = f.home(USER);
    let pid = f.init_pid(USER);
    wait_for("the Emperor of the custom distro", || {
        fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .ok()
            .filter(|cmdline| cmdline.contains(&format!("{}/vassals", home.display())))
    });
    let (ok, release) = f.exec(USER, USER, "cat /etc/custom-release");
    assert!(ok, "the container runs on the custom distro");
    assert_eq!(release, "built by the customer\n");
    // The platform's files are there as on any distro.
    let (ok, shortcuts) = f.exec(USER, USER, "cat /opt/unbit/uwsgi/shortcuts.ini");
    assert!(ok);
    assert_eq!(shortcuts, berth_node::SHORTCUTS_INI);
    let (ok, quota) = f.exec(USER, USER, "quota -s");
    assert!(ok);
    assert!(quota.starts_with(&format!("Disk quotas for user {USER} (uid {USER}):")));
    let (ok, limit) = f.exec(USER, USER, "cat /run/cgroup/memory.limit_in_bytes");
    assert!(ok);
    assert_eq!(
        limit.trim(),
        ((support::MEMORY_MB as u64) << 20).to_string()
    );
    // The customer's account is in the custom distro's passwd, read-only.
    let (ok, who) = f.exec(USER, USER, "id -un && touch /etc/x");
    assert!(!ok);
    assert_eq!(who.trim(), USER.to_string());
}

#[test]
fn a_custom_distro_leaving_its_storage_is_refused_and_the_distro_boots_with_an_alarm() {
    let f = fixture();
    let storage = storage_spec(&f);
    let done = f.runtime.reconcile(&desired(vec![storage.clone()]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    // A root file system outside the storage, with a marker the container must never show.
    let outside = f.dir.path().join("outside");
    fs::create_dir_all(outside.join("usr")).expect("usr");
    fs::create_dir_all(outside.join("etc")).expect("etc");
    fs::write(outside.join("etc/custom-release"), "escaped\n").expect("marker");
    let distros = f.home(STORAGE).join("distros");
    symlink(&outside, distros.join("link")).expect("symlink");

    for (round, path) in ["link", "../../outside", "missing"].into_iter().enumerate() {
        // Each try restarts the container (as the store's new last_reboot says); every
        // refusal raises its alarm.
        let mut spec = user_spec(&f, path);
        spec.last_reboot = 1 + round as i64;
        spec.alarm_freq = 0;
        let done = f
            .runtime
            .reconcile(&desired(vec![storage.clone(), spec.clone()]));
        assert!(done.errors.is_empty(), "{path}: {:?}", done.errors);
        let alarm = done
            .alarms
            .iter()
            .find(|alarm| alarm.uid == i64::from(USER))
            .unwrap_or_else(|| panic!("{path}: no alarm in {:?}", done.alarms));
        assert!(
            alarm
                .msg
                .contains("[DANGER] custom distro 7 (mine) cannot be used"),
            "{}",
            alarm.msg
        );
        assert!(f.emperor_log(USER).contains(&alarm.msg));
        let (ok, release) = f.exec(USER, USER, "cat /etc/custom-release");
        assert!(
            !ok && release.is_empty(),
            "{path}: the container shows {release}"
        );
        let (ok, _) = f.exec(USER, USER, "test -x /usr/bin/python3");
        assert!(ok, "{path}: the container runs on its platform distro");
    }
}
