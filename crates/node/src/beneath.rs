//! Opening paths a customer controls: one component at a time, each relative to the directory
//! opened before it and never following a symlink, so that no link the customer plants (or
//! swaps in while the node works) can lead the node outside what it meant to open.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use nix::libc;

/// Open a file or directory below the open directory `dir`, with `options` (which must carry
/// `O_NOFOLLOW` for the last component not to be followed; the directory itself is the open
/// one, whatever happened to its path since).
pub(crate) fn open_below(
    dir: &File,
    name: &str,
    options: &mut OpenOptions,
) -> std::io::Result<File> {
    options.open(format!("/proc/self/fd/{}/{name}", dir.as_raw_fd()))
}

/// Options that open a directory, never a symlink to one.
pub(crate) fn directory_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW);
    options
}

/// Open the directory `dir/<components…>` one component at a time without following
/// symlinks; `..`, `.` and empty components are refused.
pub(crate) fn open_dirs<'a>(
    dir: File,
    components: impl IntoIterator<Item = &'a str>,
) -> std::io::Result<File> {
    let mut dir = dir;
    for component in components {
        if component.is_empty() || component == "." || component == ".." || component.contains('/')
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("bad path component {component:?}"),
            ));
        }
        dir = open_below(&dir, component, &mut directory_options())?;
    }
    Ok(dir)
}

/// The path through which other processes (runc, `mount`) reach the open `file` of this
/// process: `/proc/<pid>/fd/<n>`, a link the kernel resolves to the open file itself, not to
/// whatever its path names by then. Valid while `file` stays open.
pub(crate) fn proc_path(file: &File) -> String {
    format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_and_dot_dot_are_never_followed() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("a/b")).expect("mkdir");
        std::os::unix::fs::symlink("/etc", dir.path().join("a/link")).expect("symlink");
        let open = || File::open(dir.path()).expect("open");
        assert!(open_dirs(open(), ["a", "b"]).is_ok());
        assert!(open_dirs(open(), ["a", "link"]).is_err());
        assert!(open_dirs(open(), ["a", ".."]).is_err());
        assert!(open_dirs(open(), ["a/b"]).is_err());
        assert!(open_dirs(open(), [""]).is_err());
    }
}
