//! Building a distro: a read-only Debian root file system made with debootstrap, holding
//! uWSGI with the python3, psgi and rack plugins the quickstart's apps use.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::NodeError;
use crate::teardown::remove_tree;

/// The Debian packages every built distro holds besides debootstrap's minimal base: uWSGI
/// and its language plugins, what those apps need (Rack), the sftp server behind
/// `sftp`/`scp`, and the tools the quickstart runs in the shell (openssl, ps).
pub const PACKAGES: &[&str] = &[
    "uwsgi-core",
    "uwsgi-plugin-python3",
    "uwsgi-plugin-psgi",
    "uwsgi-plugin-rack-ruby3.1",
    "ruby-rack",
    "openssh-sftp-server",
    "openssl",
    "procps",
    "less",
];

/// What to build.
#[derive(Debug, Clone)]
pub struct DistroBuild {
    /// The distro's directory name under `into` (letters, digits, `.`, `-`, `_`).
    pub name: String,
    /// The Debian suite, e.g. `bookworm`.
    pub suite: String,
    /// The Debian mirror, e.g. `http://deb.debian.org/debian`.
    pub mirror: String,
    /// The directory distros are kept in (`/distros`).
    pub into: PathBuf,
    /// Packages wanted on top of [`PACKAGES`].
    pub extra_packages: Vec<String>,
}

fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn safe_package(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+')
        })
}

/// Builds the distro with debootstrap into `<into>/<name>` and returns that path. The tree is
/// made under a temporary name and renamed when complete, so a failed or interrupted build
/// never leaves a half-made distro where containers could use it. An existing distro of the
/// same name is refused, not overwritten: containers may be running on it.
pub fn build(build: &DistroBuild) -> Result<PathBuf, NodeError> {
    if !safe_name(&build.name) {
        return Err(NodeError::Config(format!(
            "bad distro name {:?}: use letters, digits, '.', '-' and '_'",
            build.name
        )));
    }
    if !safe_name(&build.suite) {
        return Err(NodeError::Config(format!("bad suite {:?}", build.suite)));
    }
    if let Some(bad) = build.extra_packages.iter().find(|p| !safe_package(p)) {
        return Err(NodeError::Config(format!("bad package name {bad:?}")));
    }
    let target = build.into.join(&build.name);
    if target.exists() {
        return Err(NodeError::Config(format!(
            "{} exists; remove it first to rebuild (no container may be using it)",
            target.display()
        )));
    }
    std::fs::create_dir_all(&build.into).map_err(NodeError::io(&build.into))?;
    let staging = build.into.join(format!(".{}.building", build.name));
    remove_tree(&staging)?;
    let packages: Vec<&str> = PACKAGES
        .iter()
        .copied()
        .chain(build.extra_packages.iter().map(String::as_str))
        .collect();
    let output = Command::new("debootstrap")
        .arg("--variant=minbase")
        .arg(format!("--include={}", packages.join(",")))
        .arg(&build.suite)
        .arg(&staging)
        .arg(&build.mirror)
        .output()
        .map_err(|error| {
            NodeError::Config(format!(
                "cannot run debootstrap ({error}); install it: apt-get install debootstrap"
            ))
        })?;
    if !output.status.success() {
        // debootstrap may leave its /proc and /sys mounted in a failed target.
        if let Err(error) = remove_tree(&staging) {
            tracing::warn!(%error, "cannot remove a failed distro build");
        }
        let log = String::from_utf8_lossy(&output.stdout);
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        return Err(NodeError::Config(format!(
            "debootstrap {} failed: {}{}",
            build.suite,
            String::from_utf8_lossy(&output.stderr).trim(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    check(&staging)?;
    std::fs::rename(&staging, &target).map_err(NodeError::io(&target))?;
    Ok(target)
}

/// Checks that a built tree holds what containers need: uWSGI and its three plugins.
fn check(root: &Path) -> Result<(), NodeError> {
    let plugins = root.join("usr/lib/uwsgi/plugins");
    for needed in [
        root.join("usr/bin/uwsgi"),
        plugins.join("python3_plugin.so"),
        plugins.join("psgi_plugin.so"),
        plugins.join("rack_plugin.so"),
    ] {
        if !needed.exists() {
            return Err(NodeError::Config(format!(
                "the built distro lacks {}",
                needed.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_the_distros_directory_are_refused() {
        for bad in ["", "..", ".hidden", "a/b", "x y", "bookworm\n"] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        for good in ["bookworm", "bookworm-uwsgi_2.0", "Debian12"] {
            assert!(safe_name(good), "{good:?}");
        }
        assert!(!safe_package("--print-debs"));
        assert!(safe_package("libapache2-mod-perl2"));
        assert!(safe_package("g++"));
    }

    #[test]
    fn a_bad_name_is_refused_before_anything_runs() {
        let into = tempfile::tempdir().expect("directory");
        let refused = build(&DistroBuild {
            name: "../etc".into(),
            suite: "bookworm".into(),
            mirror: "http://deb.debian.org/debian".into(),
            into: into.path().to_owned(),
            extra_packages: vec![],
        });
        assert!(matches!(refused, Err(NodeError::Config(_))));
        assert_eq!(std::fs::read_dir(into.path()).expect("dir").count(), 0);
    }
}
