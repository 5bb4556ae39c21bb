//! Removing a directory the node made, which may still hold mounts: a staged distro's binds,
//! the `/proc` of a failed debootstrap. A recursive delete walks through a mount into what it
//! shows — a bind of `/etc` is the host's `/etc` — so everything mounted at or below the
//! directory is detached first, and nothing is deleted while any mount remains there.

use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::command::run;
use crate::error::NodeError;

/// Remove `dir` and everything in it, after detaching every mount at or below it
/// ([`detach_mounts_below`]). Refuses, deleting nothing, when a mount is still there. A
/// missing `dir` is not an error.
pub fn remove_tree(dir: &Path) -> Result<(), NodeError> {
    let dir = match dir.canonicalize() {
        Ok(dir) => dir,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(NodeError::io(dir)(error)),
    };
    detach_mounts_below(&dir)?;
    std::fs::remove_dir_all(&dir).map_err(NodeError::io(&dir))
}

/// Detach every mount at or below `dir` (deepest first, lazily); an error naming one that is
/// still there afterwards.
pub fn detach_mounts_below(dir: &Path) -> Result<(), NodeError> {
    for mount in mounts_below(dir)? {
        if let Err(error) = run("umount", &[Path::new("--lazy"), &mount]) {
            tracing::warn!(%error, mount = %mount.display(), "cannot detach a mount");
        }
    }
    match mounts_below(dir)?.first() {
        Some(mount) => Err(NodeError::Config(format!(
            "{} is still mounted below {}",
            mount.display(),
            dir.display()
        ))),
        None => Ok(()),
    }
}

/// The mount points at or below `dir` in this mount namespace, deepest first.
fn mounts_below(dir: &Path) -> Result<Vec<PathBuf>, NodeError> {
    let path = Path::new("/proc/self/mountinfo");
    let table = std::fs::read_to_string(path).map_err(NodeError::io(path))?;
    let mut below: Vec<PathBuf> = table
        .lines()
        .filter_map(mount_point)
        .filter(|point| point.starts_with(dir))
        .collect();
    below.sort_by_key(|point| std::cmp::Reverse(point.components().count()));
    below.dedup();
    Ok(below)
}

/// The mount point of one `/proc/self/mountinfo` line (its fifth field, octal escapes
/// such as `\040` decoded).
fn mount_point(line: &str) -> Option<PathBuf> {
    let field = line.split(' ').nth(4)?;
    let mut bytes = Vec::with_capacity(field.len());
    let raw = field.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let escaped = raw.get(i + 1..i + 4).filter(|_| raw[i] == b'\\');
        match escaped
            .and_then(|digits| u8::from_str_radix(std::str::from_utf8(digits).ok()?, 8).ok())
        {
            Some(byte) => {
                bytes.push(byte);
                i += 4;
            }
            None => {
                bytes.push(raw[i]);
                i += 1;
            }
        }
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_read_with_their_escapes() {
        let line = "36 35 98:0 /mnt1 /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw";
        assert_eq!(mount_point(line), Some(PathBuf::from("/mnt/a b")));
        assert_eq!(mount_point("short line"), None);
    }

    #[test]
    fn a_bind_of_a_directory_is_detached_and_its_source_survives() {
        let source = tempfile::tempdir().expect("source");
        std::fs::write(source.path().join("precious"), "keep me").expect("write");
        let work = tempfile::tempdir().expect("work");
        let target = work.path().join("bundle/distro/etc");
        std::fs::create_dir_all(&target).expect("mkdir");
        run(
            "mount",
            &[Path::new("--bind"), source.path(), target.as_path()],
        )
        .expect("bind");
        remove_tree(&work.path().join("bundle")).expect("removed");
        assert!(!work.path().join("bundle").exists());
        assert_eq!(
            std::fs::read_to_string(source.path().join("precious")).expect("read"),
            "keep me",
            "the bind's source was deleted through the mount"
        );
    }
}
