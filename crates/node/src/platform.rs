//! What the platform puts into every container besides the distro, kept root-owned in the
//! container's bundle and bound read-only:
//!
//! - `/berth` ← the bundle's `platform/`: the shortcut options (`shortcuts.ini`), the plugin
//!   aliases (`plugins/`), the storage reports `quota` prints;
//! - layers over two of the distro's directories, merged with them by a read-only overlay
//!   (the layer first), so that the distro's own files stay visible and nothing is written
//!   into the distro: `/opt/unbit/uwsgi/shortcuts.ini` (a symlink to `/berth/shortcuts.ini`,
//!   where the quickstart says the options are defined) and `/usr/bin/quota`.
//!
//! Custom distros get the same: they are overlaid the same way.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::NodeError;
use crate::quota_report::QUOTA_PROGRAM;
use crate::shortcuts::{
    PLUGINS_DIR, PLUGIN_ALIASES, SHORTCUTS_INI, SHORTCUTS_PATH, UNBIT_SHORTCUTS_PATH,
};

/// The distro directories the platform adds files to, each from its layer.
pub(crate) const LAYERED: &[&str] = &["opt", "usr"];

/// The bundle's directory bound at `/berth`.
pub(crate) fn dir(bundle: &Path) -> PathBuf {
    bundle.join("platform")
}

/// The layer over the distro's top-level directory `name` (one of [`LAYERED`]).
pub(crate) fn layer(bundle: &Path, name: &str) -> PathBuf {
    bundle.join("layers").join(name)
}

/// (Re)write the platform directory and the layers of `bundle`.
pub(crate) fn write(bundle: &Path) -> Result<(), NodeError> {
    let platform = dir(bundle);
    fs::create_dir_all(&platform).map_err(NodeError::io(&platform))?;
    let shortcuts = platform.join("shortcuts.ini");
    fs::write(&shortcuts, SHORTCUTS_INI).map_err(NodeError::io(&shortcuts))?;
    let plugins = platform.join(PLUGINS_DIR);
    for (alias, plugin) in PLUGIN_ALIASES {
        symlink(
            &format!("/usr/lib/uwsgi/plugins/{plugin}_plugin.so"),
            &plugins.join(format!("{alias}_plugin.so")),
        )?;
    }
    let layers = bundle.join("layers");
    symlink(
        SHORTCUTS_PATH,
        &layers.join(UNBIT_SHORTCUTS_PATH.trim_start_matches('/')),
    )?;
    let quota = layer(bundle, "usr").join("bin/quota");
    if let Some(parent) = quota.parent() {
        fs::create_dir_all(parent).map_err(NodeError::io(parent))?;
    }
    fs::write(&quota, QUOTA_PROGRAM).map_err(NodeError::io(&quota))?;
    fs::set_permissions(&quota, fs::Permissions::from_mode(0o755)).map_err(NodeError::io(&quota))
}

/// Make `link` a symlink to `target` (its directory created), replacing whatever was there.
fn symlink(target: &str, link: &Path) -> Result<(), NodeError> {
    if fs::read_link(link).ok().as_deref() == Some(Path::new(target)) {
        return Ok(());
    }
    if let Some(parent) = link.parent() {
        fs::create_dir_all(parent).map_err(NodeError::io(parent))?;
    }
    if let Ok(meta) = fs::symlink_metadata(link) {
        let removed = if meta.is_dir() {
            fs::remove_dir_all(link)
        } else {
            fs::remove_file(link)
        };
        removed.map_err(NodeError::io(link))?;
    }
    std::os::unix::fs::symlink(target, link).map_err(NodeError::io(link))
}

/// Replace whatever is at `path` in the bundle's root by a symlink to `target` (a distro's
/// top-level symlink, such as `bin -> usr/bin`).
pub(crate) fn root_symlink(target: &Path, path: &Path) -> Result<(), NodeError> {
    match target.to_str() {
        Some(target) => symlink(target, path),
        None => Err(NodeError::Config(format!(
            "{} points to a path that is not UTF-8",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_and_its_layers_are_written_and_rewritten() {
        let bundle = tempfile::tempdir().expect("dir");
        write(bundle.path()).expect("written");
        write(bundle.path()).expect("written again");
        let layers = bundle.path().join("layers");
        assert_eq!(
            fs::read_link(layers.join("opt/unbit/uwsgi/shortcuts.ini")).expect("link"),
            Path::new("/berth/shortcuts.ini")
        );
        let quota = layers.join("usr/bin/quota");
        assert_eq!(
            fs::metadata(&quota).expect("quota").permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(
            fs::read_to_string(bundle.path().join("platform/shortcuts.ini")).expect("ini"),
            SHORTCUTS_INI
        );
        assert_eq!(
            fs::read_link(bundle.path().join("platform/plugins/python_plugin.so")).expect("alias"),
            Path::new("/usr/lib/uwsgi/plugins/python3_plugin.so")
        );
    }
}
