//! Opening a path that a subscription's sender names (`sni_key`, `sni_crt`, `sni_ca`,
//! `notify`) as safely as the sender's own process would: the object is opened with
//! `O_PATH` (nothing about it is triggered: a FIFO is not waited on, a device not opened),
//! with no symbolic link anywhere in the path for a non-root sender (`openat2`
//! `RESOLVE_NO_SYMLINKS`), and its type and owner are checked on that descriptor. Whatever
//! is done next goes through the descriptor (`/proc/self/fd/N`), never through the path
//! again, so nothing can be swapped in between.

use std::os::fd::{AsRawFd, OwnedFd};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags, Stat, CWD};
use rustix::io::Errno;

/// Why a sender's path was not used.
#[derive(Debug, thiserror::Error)]
pub enum SenderPathError {
    /// Relative paths would be resolved against the router's directory, not the sender's.
    #[error("{0} is not an absolute path")]
    Relative(String),
    /// The path has a symbolic link in it (refused for senders other than root).
    #[error("{0} goes through a symbolic link")]
    Link(String),
    /// The object is of another type than asked for.
    #[error("{path} is a {found}, not a {expected}")]
    WrongType {
        /// The path.
        path: String,
        /// What it is.
        found: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// The object belongs to another user.
    #[error("{path} is owned by uid {owner}, not by the sender (uid {sender})")]
    NotOwner {
        /// The path.
        path: String,
        /// Its owner.
        owner: u32,
        /// The sender.
        sender: u32,
    },
    /// The path could not be opened.
    #[error("cannot open {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// A path opened with `O_PATH` and checked: its descriptor and what `fstat` said of it.
#[derive(Debug)]
pub struct SenderPath {
    /// The `O_PATH` descriptor.
    pub fd: OwnedFd,
    /// Its `fstat`.
    pub stat: Stat,
}

impl SenderPath {
    /// `/proc/self/fd/N`: a name for exactly the object opened, to reopen or connect it.
    pub fn proc_path(&self) -> String {
        format!("/proc/self/fd/{}", self.fd.as_raw_fd())
    }
}

/// A readable name of a file type, for messages.
pub fn type_name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Unknown => "file of unknown type",
    }
}

/// Open `path` for the sender `uid` and check that it is an `expected` owned by the sender
/// (any owner when the sender is root). Root's paths may go through symbolic links, as a
/// root process's would (certbot's `live/` directory is made of them); anybody else's may
/// not, at any component.
pub fn open_as_sender(
    path: &str,
    uid: u32,
    expected: FileType,
) -> Result<SenderPath, SenderPathError> {
    if !path.starts_with('/') {
        return Err(SenderPathError::Relative(path.to_owned()));
    }
    let (flags, resolve) = if uid == 0 {
        (OFlags::PATH | OFlags::CLOEXEC, ResolveFlags::empty())
    } else {
        (
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            ResolveFlags::NO_SYMLINKS,
        )
    };
    let io = |e: Errno| {
        if e == Errno::LOOP {
            SenderPathError::Link(path.to_owned())
        } else {
            SenderPathError::Io {
                path: path.to_owned(),
                source: e.into(),
            }
        }
    };
    let fd = match rustix::fs::openat2(CWD, path, flags, Mode::empty(), resolve) {
        // Kernels before 5.6: only the last component is protected (O_NOFOLLOW).
        Err(Errno::NOSYS) => rustix::fs::open(path, flags, Mode::empty()),
        other => other,
    }
    .map_err(io)?;
    let stat = rustix::fs::fstat(&fd).map_err(io)?;
    let found = FileType::from_raw_mode(stat.st_mode);
    if found == FileType::Symlink && expected != FileType::Symlink {
        return Err(SenderPathError::Link(path.to_owned()));
    }
    if found != expected {
        return Err(SenderPathError::WrongType {
            path: path.to_owned(),
            found: type_name(found),
            expected: type_name(expected),
        });
    }
    if uid != 0 && stat.st_uid != uid {
        return Err(SenderPathError::NotOwner {
            path: path.to_owned(),
            owner: stat.st_uid,
            sender: uid,
        });
    }
    Ok(SenderPath { fd, stat })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> u32 {
        nix::unistd::getuid().as_raw()
    }

    #[test]
    fn files_of_the_right_type_and_owner_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "x").expect("write");
        let p = file.to_str().expect("utf8");
        let opened = open_as_sender(p, me(), FileType::RegularFile).expect("opens");
        assert_eq!(opened.stat.st_size, 1);
        assert!(matches!(
            open_as_sender(p, me(), FileType::Socket),
            Err(SenderPathError::WrongType { .. })
        ));
        assert!(matches!(
            open_as_sender("f", me(), FileType::RegularFile),
            Err(SenderPathError::Relative(_))
        ));
        let stranger = if me() == 12345 { 12346 } else { 12345 };
        assert!(matches!(
            open_as_sender(p, stranger, FileType::RegularFile),
            Err(SenderPathError::NotOwner { .. })
        ));
    }

    #[test]
    fn links_are_refused_to_non_root_senders() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("real")).expect("mkdir");
        std::fs::write(dir.path().join("real/f"), "x").expect("write");
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("dir"))
            .expect("symlink");
        std::os::unix::fs::symlink(dir.path().join("real/f"), dir.path().join("link"))
            .expect("symlink");
        let uid = if me() == 0 { 12345 } else { me() };
        for name in ["link", "dir/f"] {
            let p = dir.path().join(name);
            assert!(
                matches!(
                    open_as_sender(p.to_str().expect("utf8"), uid, FileType::RegularFile),
                    Err(SenderPathError::Link(_))
                ),
                "{name}"
            );
        }
    }
}
