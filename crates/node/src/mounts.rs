//! A container's mounts, in order: the kernel file systems, its distro (with the platform's
//! layers), the home's files over the distro's `/etc`, its account, the home's directories
//! at `/var/log`, `/tmp` and `/run`, the routers' sockets, its own cgroup, the platform, and
//! the home itself at the same path as on the host.

use std::fs;
use std::path::Path;

use crate::cgroup::{self, View};
use crate::error::NodeError;
use crate::oci::Mount;
use crate::platform::{self, LAYERED};
use crate::rootfs::{DistroRoot, Top, DISTRO_DIRS};

/// What the mounts of one container are made from.
pub(crate) struct Sources<'a> {
    /// The container's uid.
    pub uid: u32,
    /// Its home (the same path inside).
    pub home: &'a Path,
    /// Its bundle (`rootfs/`, the platform, the account files).
    pub bundle: &'a Path,
    /// Its distro, opened.
    pub distro: &'a DistroRoot,
    /// The routers' subscription sockets, bound at `/run/subscribe`.
    pub subscribe_dir: &'a Path,
    /// How it sees its cgroup.
    pub cgroup: &'a View,
}

/// Every mount of the container, in order; prepares the bundle's root (symlinks) and files
/// (account, cgroup view) they need.
pub(crate) fn container_mounts(sources: &Sources<'_>) -> Result<Vec<Mount>, NodeError> {
    let home = path_str(sources.home)?;
    let mut mounts = base_mounts();
    distro_mounts(sources, &mut mounts)?;
    for file in ["hosts", "hostname", "resolv.conf"] {
        // Only over a file the distro has: never create files in a read-only distro. Only
        // from a regular file of the home: the mount would follow a symlink on the host
        // (and no process of the customer runs while its container starts).
        let source = sources.home.join("etc").join(file);
        if sources.distro.has_etc_file(file)
            && fs::symlink_metadata(&source).is_ok_and(|m| m.is_file())
        {
            mounts.push(Mount::bind(
                &path_str(&source)?,
                &format!("/etc/{file}"),
                &["nosuid", "nodev"],
            ));
        }
    }
    account_mounts(sources, &home, &mut mounts)?;
    // Programs inside log where they expect to, and the customer reads it in the home.
    for (dir, destination) in [("logs", "/var/log"), ("tmp", "/tmp"), ("run", "/run")] {
        mounts.push(Mount::bind(
            &format!("{home}/{dir}"),
            destination,
            &["nosuid", "nodev"],
        ));
    }
    mounts.push(Mount::bind(
        &path_str(sources.subscribe_dir)?,
        "/run/subscribe",
        &["nosuid", "nodev", "noexec"],
    ));
    let read_only = ["ro", "nosuid", "nodev", "noexec"];
    match sources.cgroup {
        // runc makes the cgroup before it mounts.
        View::V1Memory(dir) => mounts.push(Mount::bind(dir, cgroup::VIEW, &read_only)),
        View::V2 => {
            let view = sources.bundle.join("cgroup");
            cgroup::write_v2_view(&view).map_err(NodeError::io(&view))?;
            mounts.push(Mount::special("cgroup", "/sys/fs/cgroup", &read_only));
            mounts.push(Mount::bind(&path_str(&view)?, cgroup::VIEW, &read_only));
        }
        View::None => {}
    }
    mounts.push(Mount::bind(
        &path_str(&platform::dir(sources.bundle))?,
        "/berth",
        &read_only,
    ));
    mounts.push(Mount::bind(&home, &home, &["nosuid", "nodev"]));
    Ok(mounts)
}

/// The distro's top-level directories, read-only: bound from the open directories, or
/// merged with the platform's layer by a read-only overlay (the layer on top); its top-level
/// symlinks copied into the bundle's root.
fn distro_mounts(sources: &Sources<'_>, mounts: &mut Vec<Mount>) -> Result<(), NodeError> {
    let rootfs = sources.bundle.join("rootfs");
    let options = ["ro", "nosuid", "nodev"];
    // A symlink a previous distro left in the root would redirect this one's mount.
    for name in DISTRO_DIRS {
        let stale = rootfs.join(name);
        let kept = sources
            .distro
            .tops()
            .iter()
            .any(|(top, entry)| top == name && matches!(entry, Top::Link(_)));
        if !kept && fs::symlink_metadata(&stale).is_ok_and(|m| m.file_type().is_symlink()) {
            fs::remove_file(&stale).map_err(NodeError::io(&stale))?;
        }
    }
    for (name, top) in sources.distro.tops() {
        let destination = format!("/{name}");
        match top {
            Top::Link(target) => platform::root_symlink(target, &rootfs.join(name))?,
            Top::Dir(_) => {
                let source = sources.distro.source(name).unwrap_or_default();
                if LAYERED.contains(name) {
                    let layer = path_str(&platform::layer(sources.bundle, name))?;
                    let overlay = Mount::overlay(&[&layer, &source], &destination, &options)
                        .ok_or_else(|| {
                            NodeError::Config(format!(
                                "{layer} cannot be an overlay's directory (':', ',' or '\\')"
                            ))
                        })?;
                    mounts.push(overlay);
                } else {
                    mounts.push(Mount::bind(&source, &destination, &options));
                }
            }
        }
    }
    // A layer over a directory the distro lacks stands alone.
    for name in LAYERED {
        if !sources.distro.has_dir(name)
            && !sources.distro.tops().iter().any(|(top, _)| top == name)
        {
            let layer = path_str(&platform::layer(sources.bundle, name))?;
            mounts.push(Mount::bind(&layer, &format!("/{name}"), &options));
        }
    }
    Ok(())
}

/// The customer's account, for what looks the uid up (sftp-server refuses to run without
/// it; shells show a name): the distro's passwd and group plus the container's line, kept
/// root-owned in the bundle and bound read-only (uwsgi.it synthesised these entries with an
/// NSS module).
fn account_mounts(
    sources: &Sources<'_>,
    home: &str,
    mounts: &mut Vec<Mount>,
) -> Result<(), NodeError> {
    let uid = sources.uid;
    for (file, line) in [
        (
            "passwd",
            format!("{uid}:x:{uid}:{uid}:container {uid}:{home}:/bin/bash\n"),
        ),
        ("group", format!("{uid}:x:{uid}:\n")),
    ] {
        let Some(mut content) = sources.distro.read_etc_file(file) else {
            continue;
        };
        if !content.is_empty() && !content.ends_with('\n') {
            content.push('\n');
        }
        content.push_str(&line);
        let account = sources.bundle.join(file);
        fs::write(&account, content).map_err(NodeError::io(&account))?;
        mounts.push(Mount::bind(
            &path_str(&account)?,
            &format!("/etc/{file}"),
            &["ro", "nosuid", "nodev"],
        ));
    }
    Ok(())
}

/// The kernel file systems every container gets.
fn base_mounts() -> Vec<Mount> {
    vec![
        Mount::special("proc", "/proc", &["nosuid", "nodev", "noexec", "hidepid=2"]),
        Mount::special(
            "tmpfs",
            "/dev",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        Mount::special(
            "devpts",
            "/dev/pts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
            ],
        ),
        Mount::special(
            "tmpfs",
            "/dev/shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        Mount::special("mqueue", "/dev/mqueue", &["nosuid", "noexec", "nodev"]),
        Mount::special("sysfs", "/sys", &["nosuid", "noexec", "nodev", "ro"]),
    ]
}

/// `path` as UTF-8, which the bundle's JSON needs.
pub(crate) fn path_str(path: &Path) -> Result<String, NodeError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| NodeError::Config(format!("{} is not UTF-8", path.display())))
}
