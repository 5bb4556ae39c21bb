//! A container's distro, opened: its top-level directories (`usr`, `etc`, …) held open and,
//! for the container's start, bound (from `/proc/<node>/fd/<n>`, never by a path looked up
//! again) onto root-owned directories of the bundle, from which runc binds them: no path the
//! customer controls is resolved between the check and the mount. (runc cannot bind from the
//! descriptors itself: the container's new mount namespace may not bind a mount of the
//! node's.) The staging mounts go when the container has started.
//!
//! A platform distro is the operator's and is opened by its path. A custom distro lives in
//! the storage container's home, which its customer writes while the node works: it is
//! opened as that customer, one component at a time, never following a symlink
//! (`<containers root>/<storage uid>/distros/<path>`), its top-level directories the same
//! way; a top-level symlink (`bin -> usr/bin`) is copied into the bundle's root as a symlink,
//! resolved inside the container. The files the node reads from it (`etc/passwd`,
//! `etc/group`) are opened the same way, must be regular files and are read up to a bound.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use berth_model::distro::{self, CUSTOM_DISTROS_DIR};
use berth_model::node::{ContainerSpec, CustomDistroSpec};
use nix::libc;

use crate::beneath::{directory_options, open_below, open_dirs, proc_path};
use crate::command::run;
use crate::error::NodeError;
use crate::home::as_user;
use crate::teardown::remove_tree;

/// Top-level directories of a distro bound read-only into every container (symlinks among
/// them, like a merged-/usr `bin -> usr/bin`, are copied as symlinks).
pub(crate) const DISTRO_DIRS: &[&str] = &[
    "bin", "etc", "lib", "lib32", "lib64", "libx32", "opt", "sbin", "usr",
];

/// The bundle's note of why the container's custom distro could not be used, until the
/// alarm saying so is raised.
pub(crate) const CUSTOM_DISTRO_REFUSED: &str = "custom_distro.refused";

/// The largest distro file the node reads (`etc/passwd`, `etc/group`).
const ETC_FILE_MAX: u64 = 1 << 20;

/// One top-level entry of a distro.
#[derive(Debug)]
pub(crate) enum Top {
    /// A directory, open.
    Dir(File),
    /// A symlink, with its target as written.
    Link(PathBuf),
}

/// A distro opened for one container start.
#[derive(Debug)]
pub(crate) struct DistroRoot {
    /// The bundle directory the top-level directories are staged in, once staged.
    staged: Option<PathBuf>,
    /// The staging mounts made, to undo.
    mounted: Vec<PathBuf>,
    /// The customer whose storage holds it (files are read as them); `None`: the platform's.
    owner: Option<u32>,
    /// Its top-level entries, among [`DISTRO_DIRS`].
    tops: Vec<(&'static str, Top)>,
}

impl DistroRoot {
    /// The distro container `uid` (of `spec`, checked) boots: its custom distro (under
    /// `containers_root`) when it has one that can be used, else its platform distro. Why a
    /// custom distro could not be used is kept in `bundle` until the alarm saying so is
    /// raised.
    pub fn for_container(
        containers_root: &Path,
        uid: u32,
        spec: &ContainerSpec,
        bundle: &Path,
    ) -> Result<DistroRoot, NodeError> {
        let refused = bundle.join(CUSTOM_DISTRO_REFUSED);
        if let Some(custom) = &spec.custom_distro {
            match DistroRoot::custom(containers_root, custom) {
                Ok(root) => {
                    let _ = std::fs::remove_file(&refused);
                    return Ok(root);
                }
                Err(why) => {
                    let msg = format!(
                        "container {}: [DANGER] custom distro {} ({}) cannot be used: {why}; \
                         the container runs on distro {} instead",
                        uid, custom.id, custom.name, spec.distro.name
                    );
                    tracing::warn!(uid, %msg, "custom distro refused");
                    std::fs::write(&refused, msg).map_err(NodeError::io(&refused))?;
                }
            }
        } else {
            let _ = std::fs::remove_file(&refused);
        }
        DistroRoot::platform(&spec.distro.path).map_err(|reason| NodeError::InvalidSpec {
            uid: spec.uid,
            reason,
        })
    }

    /// The platform distro at `path`: an absolute directory with a `usr` directory.
    pub fn platform(path: &str) -> Result<DistroRoot, String> {
        let path = Path::new(path);
        if !path.is_absolute() {
            return Err(format!("distro {} is not an absolute path", path.display()));
        }
        let root = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)
            .map_err(|e| format!("distro {} cannot be opened: {e}", path.display()))?;
        DistroRoot::open(root, path.to_owned(), None)
    }

    /// The custom distro `spec`, in the home of its storage container under
    /// `containers_root`, opened as that container's user without following any symlink.
    pub fn custom(containers_root: &Path, spec: &CustomDistroSpec) -> Result<DistroRoot, String> {
        let storage = u32::try_from(spec.storage_uid)
            .map_err(|_| format!("bad storage container {}", spec.storage_uid))?;
        let dir = distro::custom_path(&spec.path).map_err(|e| e.to_string())?;
        let path = containers_root
            .join(storage.to_string())
            .join(CUSTOM_DISTROS_DIR)
            .join(&dir);
        let root = as_user(storage, || {
            let containers = directory_options().open(containers_root)?;
            let storage_name = storage.to_string();
            open_dirs(
                containers,
                [storage_name.as_str(), CUSTOM_DISTROS_DIR, &dir],
            )
        })
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => format!("{} does not exist", path.display()),
            Some(libc::ELOOP | libc::ENOTDIR) => {
                format!(
                    "{} is not a directory (or goes through a symlink)",
                    path.display()
                )
            }
            _ => format!("{} cannot be opened: {e}", path.display()),
        })?;
        DistroRoot::open(root, path, Some(storage))
    }

    fn open(root: File, path: PathBuf, owner: Option<u32>) -> Result<DistroRoot, String> {
        let mut tops = Vec::new();
        for &name in DISTRO_DIRS {
            let opened = run_as(owner, || open_below(&root, name, &mut directory_options()));
            match opened {
                Ok(dir) => tops.push((name, Top::Dir(dir))),
                Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
                    let link = run_as(owner, || {
                        std::fs::read_link(format!("{}/{name}", proc_self(&root)))
                    });
                    if let Ok(target) = link {
                        tops.push((name, Top::Link(target)));
                    }
                }
                Err(_) => {}
            }
        }
        if !tops
            .iter()
            .any(|(name, top)| *name == "usr" && matches!(top, Top::Dir(_)))
        {
            return Err(format!(
                "{} is not a root file system: it has no usr directory",
                path.display()
            ));
        }
        Ok(DistroRoot {
            staged: None,
            mounted: Vec::new(),
            owner,
            tops,
        })
    }

    /// Its top-level entries.
    pub fn tops(&self) -> &[(&'static str, Top)] {
        &self.tops
    }

    /// Whether it has the top-level directory `name`.
    pub fn has_dir(&self, name: &str) -> bool {
        self.dir(name).is_some()
    }

    fn dir(&self, name: &str) -> Option<&File> {
        self.tops.iter().find_map(|(top, entry)| match entry {
            Top::Dir(file) if *top == name => Some(file),
            _ => None,
        })
    }

    /// Bind each top-level directory onto `into/<name>` (root-owned, in the bundle), from
    /// its open descriptor; [`DistroRoot::source`] then names those. Undone when this is
    /// dropped.
    pub fn stage(&mut self, into: &Path) -> Result<(), NodeError> {
        self.unstage();
        // What a crashed node left behind, its mounts detached first: a recursive delete
        // through a bind of the distro's etc would delete the distro's (the host's) etc.
        remove_tree(into)?;
        std::fs::create_dir_all(into).map_err(NodeError::io(into))?;
        self.staged = Some(into.to_owned());
        for (name, top) in &self.tops {
            if let Top::Dir(dir) = top {
                let target = into.join(name);
                std::fs::create_dir(&target).map_err(NodeError::io(&target))?;
                let source = proc_path(dir);
                let target_str = target.to_string_lossy();
                run(
                    "mount",
                    &["--no-canonicalize", "--bind", source.as_str(), &target_str],
                )?;
                self.mounted.push(target.clone());
                // Read-only from the start: nothing the node does through the bundle (a
                // cleanup, a bug) can write into the distro.
                run(
                    "mount",
                    &["--no-canonicalize", "-o", "remount,bind,ro", &target_str],
                )?;
            }
        }
        Ok(())
    }

    /// Undo the staging mounts (the container's own copies stay).
    pub fn unstage(&mut self) {
        for target in self.mounted.drain(..) {
            if let Err(error) = run("umount", &[Path::new("--lazy"), &target]) {
                tracing::warn!(%error, "cannot undo a distro's staging mount");
            }
        }
    }

    /// The path runc binds the top-level directory `name` from, once staged.
    pub fn source(&self, name: &str) -> Option<String> {
        self.dir(name)?;
        let staged = self.staged.as_ref()?.join(name);
        staged.to_str().map(str::to_owned)
    }

    /// The regular file `etc/<name>` (not a symlink), opened.
    fn etc_file(&self, name: &str) -> Option<File> {
        let etc = self.dir("etc")?;
        let file = run_as(self.owner, || {
            let mut options = OpenOptions::new();
            options
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
            open_below(etc, name, &mut options)
        })
        .ok()?;
        file.metadata().ok()?.is_file().then_some(file)
    }

    /// Whether `etc/<name>` is a regular file (the node binds the home's copy over it).
    pub fn has_etc_file(&self, name: &str) -> bool {
        self.etc_file(name).is_some()
    }

    /// The text of the regular file `etc/<name>`, at most 1 MiB of it; `None` when it is
    /// missing, not a regular file or unreadable.
    pub fn read_etc_file(&self, name: &str) -> Option<String> {
        let file = self.etc_file(name)?;
        let mut text = String::new();
        file.take(ETC_FILE_MAX).read_to_string(&mut text).ok()?;
        Some(text)
    }
}

impl Drop for DistroRoot {
    fn drop(&mut self) {
        self.unstage();
    }
}

fn run_as<T>(owner: Option<u32>, f: impl FnOnce() -> T) -> T {
    match owner {
        Some(uid) => as_user(uid, f),
        None => f(),
    }
}

fn proc_self(file: &File) -> String {
    use std::os::fd::AsRawFd;
    format!("/proc/self/fd/{}", file.as_raw_fd())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_distro_needs_usr_and_keeps_its_symlinks() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        assert!(DistroRoot::platform(root.to_str().expect("UTF-8")).is_err());
        std::fs::create_dir_all(root.join("usr/bin")).expect("usr");
        std::fs::create_dir_all(root.join("etc")).expect("etc");
        std::os::unix::fs::symlink("usr/bin", root.join("bin")).expect("bin");
        std::fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").expect("passwd");
        std::os::unix::fs::symlink("/etc/shadow", root.join("etc/group")).expect("group");
        let mut opened = DistroRoot::platform(root.to_str().expect("UTF-8")).expect("a distro");
        assert!(opened.has_dir("usr") && opened.has_dir("etc") && !opened.has_dir("bin"));
        assert!(opened.tops().iter().any(|(name, top)| *name == "bin"
            && matches!(top, Top::Link(target) if target == Path::new("usr/bin"))));
        assert_eq!(opened.source("usr"), None, "not staged yet");
        assert_eq!(
            opened.read_etc_file("passwd").as_deref(),
            Some("root:x:0:0::/root:/bin/sh\n")
        );
        // A symlink in the distro's etc is never read through.
        assert_eq!(opened.read_etc_file("group"), None);
        assert!(!opened.has_etc_file("group"));
        // Staged (as root, which the node is): the open directories appear in the bundle
        // until it is dropped, whatever happens to their paths meanwhile.
        if nix::unistd::geteuid().is_root() {
            let bundle = tempfile::tempdir().expect("bundle");
            let into = bundle.path().join("distro");
            opened.stage(&into).expect("staged");
            std::fs::rename(root.join("usr"), root.join("moved")).expect("rename");
            std::os::unix::fs::symlink("/etc", root.join("usr")).expect("swap");
            let staged = opened.source("usr").expect("a source");
            assert!(
                Path::new(&staged).join("bin").is_dir(),
                "the opened usr is staged"
            );
            drop(opened);
            assert!(!into.join("usr/bin").exists(), "unstaged on drop");
        }
    }
}
