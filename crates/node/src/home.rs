//! The container home `/containers/<uid>` (spec/uwsgi-it.md §3.5): created by root, then
//! filled with the file system uid/gid switched to the container's, so that a symlink the
//! customer planted can never make the node write outside what the customer may write.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{lchown, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use nix::unistd::{setfsgid, setfsuid, Gid, Uid};

use berth_model::node::{ContainerSpec, ServerSpec};

use crate::error::NodeError;

/// Directories of every home, relative to it, with their modes.
const LAYOUT: &[(&str, u32)] = &[
    ("vassals", 0o755),
    ("logs", 0o755),
    ("etc", 0o755),
    ("run", 0o755),
    ("run/subscribe", 0o755),
    ("run/spool", 0o755),
    ("tmp", 0o1777),
    (".ssh", 0o700),
];

/// The authorized keys file, relative to the home (read by the ssh part of the node).
pub(crate) const AUTHORIZED_KEYS: &str = ".ssh/authorized_keys";

/// The Emperor's log, relative to the home; the node appends its own messages (alarms,
/// loopboxes) to it.
pub(crate) const EMPEROR_LOG: &str = "logs/emperor.log";

/// Run `f` with the file system uid and gid of `uid`; file creation then makes files owned by
/// the customer, and every access is checked against the customer's permissions.
pub(crate) fn as_user<T>(uid: u32, f: impl FnOnce() -> T) -> T {
    let old_gid = setfsgid(Gid::from_raw(uid));
    let old_uid = setfsuid(Uid::from_raw(uid));
    let result = f();
    setfsuid(old_uid);
    setfsgid(old_gid);
    result
}

/// Create `home` (owned by uid:uid, 0755) and its layout; missing directories are created,
/// symlinks and files squatting their names are replaced.
pub(crate) fn ensure_layout(home: &Path, uid: u32) -> Result<(), NodeError> {
    match fs::symlink_metadata(home) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => fs::remove_file(home).map_err(NodeError::io(home))?,
        Err(_) => {}
    }
    if !home.is_dir() {
        fs::create_dir_all(home).map_err(NodeError::io(home))?;
    }
    lchown(home, Some(uid), Some(uid)).map_err(NodeError::io(home))?;
    fs::set_permissions(home, fs::Permissions::from_mode(0o755)).map_err(NodeError::io(home))?;
    as_user(uid, || {
        for (dir, mode) in LAYOUT {
            ensure_dir(&home.join(dir), *mode)?;
        }
        Ok(())
    })
}

/// Create the directory `home/name` (0755) as the customer when it is missing.
pub(crate) fn ensure_subdir(home: &Path, uid: u32, name: &str) -> Result<(), NodeError> {
    as_user(uid, || ensure_dir(&home.join(name), 0o755))
}

fn ensure_dir(path: &Path, mode: u32) -> Result<(), NodeError> {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if !meta.is_dir() {
            fs::remove_file(path).map_err(NodeError::io(path))?;
        }
    }
    match fs::create_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(NodeError::io(path)(e)),
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(NodeError::io(path))
}

/// Write `content` to `home/relative` as the customer, atomically (a temporary file renamed
/// over it), with `mode`. Returns false when the file already held exactly `content`.
pub(crate) fn write_file(
    home: &Path,
    uid: u32,
    relative: &str,
    content: &[u8],
    mode: u32,
) -> Result<bool, NodeError> {
    let path = home.join(relative);
    as_user(uid, || {
        if let Ok(meta) = fs::symlink_metadata(&path) {
            if meta.is_file()
                && meta.permissions().mode() & 0o7777 == mode
                && fs::read(&path).is_ok_and(|old| old == content)
            {
                return Ok(false);
            }
        }
        let mut tmp_name = path.clone().into_os_string();
        tmp_name.push(".berth-tmp");
        let tmp = Path::new(&tmp_name);
        if fs::symlink_metadata(tmp).is_ok() {
            fs::remove_file(tmp).map_err(NodeError::io(tmp))?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(tmp)
            .map_err(NodeError::io(tmp))?;
        file.write_all(content).map_err(NodeError::io(tmp))?;
        // The process umask may have narrowed the mode.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(NodeError::io(tmp))?;
        fs::rename(tmp, &path).map_err(NodeError::io(&path))?;
        Ok(true)
    })
}

/// (Re)write the files the platform keeps in a home at every start: the customer's key pair
/// (`etc/uwsgi.key`, `etc/uwsgi.pubkey`), `etc/hostname`, and the seeds of `etc/hosts` and
/// `etc/resolv.conf` (from the server's settings) when they are missing.
pub(crate) fn write_platform_files(
    home: &Path,
    uid: u32,
    spec: &ContainerSpec,
    server: &ServerSpec,
) -> Result<(), NodeError> {
    write_file(
        home,
        uid,
        "etc/uwsgi.key",
        spec.customer_private_key_pem.as_bytes(),
        0o600,
    )?;
    if !spec.customer_public_key_pem.is_empty() {
        write_file(
            home,
            uid,
            "etc/uwsgi.pubkey",
            spec.customer_public_key_pem.as_bytes(),
            0o644,
        )?;
    }
    write_file(
        home,
        uid,
        "etc/hostname",
        format!("{}\n", spec.hostname).as_bytes(),
        0o644,
    )?;
    let hosts = server
        .etc_hosts
        .clone()
        .unwrap_or_else(|| format!("127.0.0.1\tlocalhost\n127.0.1.1\t{}\n", spec.hostname));
    seed_file(home, uid, "etc/hosts", hosts.as_bytes())?;
    if let Some(resolv) = &server.etc_resolv_conf {
        seed_file(home, uid, "etc/resolv.conf", resolv.as_bytes())?;
    }
    Ok(())
}

/// Write `home/relative` only when it does not exist yet (seeds the customer may edit).
pub(crate) fn seed_file(
    home: &Path,
    uid: u32,
    relative: &str,
    content: &[u8],
) -> Result<(), NodeError> {
    if fs::symlink_metadata(home.join(relative)).is_ok() {
        return Ok(());
    }
    write_file(home, uid, relative, content, 0o644).map(|_| ())
}

/// Append `line` (a newline is added) to the Emperor's log as the customer, without following
/// a symlink the customer may have put in its place: the log is the customer's file.
pub(crate) fn append_log(home: &Path, uid: u32, line: &str) -> Result<(), NodeError> {
    let path = home.join(EMPEROR_LOG);
    as_user(uid, || {
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
            .map_err(NodeError::io(&path))?;
        file.write_all(format!("{line}\n").as_bytes())
            .map_err(NodeError::io(&path))
    })
}
