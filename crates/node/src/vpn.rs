//! The VPN host: the WireGuard interfaces of the pools this server serves. Each becomes
//! `<dir>/<wg_name>.conf` for `wg-quick`; a changed file is applied live (`wg syncconf`)
//! when its interface is up, or brings the interface up; a file berth wrote for a pool that
//! is gone takes its interface down and goes. Files berth did not write are never touched.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use berth_model::node::VpnInterfaceSpec;
use berth_model::vpn::server_config;

use crate::command::{run, run_with_input};
use crate::error::NodeError;

/// The first line of every file berth writes, which marks it as berth's.
const MARK: &str = "# Written by berth node";

/// Where the VPN host keeps its WireGuard configurations.
#[derive(Debug, Clone)]
pub struct VpnHost {
    dir: PathBuf,
}

/// What [`VpnHost::write`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct VpnChanges {
    /// Interfaces whose configuration was written anew.
    pub written: Vec<String>,
    /// Interfaces whose configuration was removed.
    pub removed: Vec<String>,
}

impl VpnHost {
    /// A VPN host keeping its configurations in `dir` (`/etc/wireguard`).
    pub fn new(dir: PathBuf) -> VpnHost {
        VpnHost { dir }
    }

    fn conf(&self, wg_name: &str) -> PathBuf {
        self.dir.join(format!("{wg_name}.conf"))
    }

    /// Writes the configuration of every interface in `interfaces` that changed (mode
    /// 0600: it may hold the private key), and removes berth's files of the others.
    pub fn write(&self, interfaces: &[VpnInterfaceSpec]) -> Result<VpnChanges, NodeError> {
        let mut changes = VpnChanges::default();
        if interfaces.is_empty() && !self.dir.exists() {
            return Ok(changes);
        }
        fs::create_dir_all(&self.dir).map_err(NodeError::io(&self.dir))?;
        let mut wanted = BTreeSet::new();
        for interface in interfaces {
            berth_model::vpn::interface_name(&interface.wg_name).map_err(|e| {
                NodeError::Config(format!("vpn interface {:?}: {e}", interface.wg_name))
            })?;
            wanted.insert(interface.wg_name.clone());
            let key_file = self.dir.join(format!("{}.key", interface.wg_name));
            let text = server_config(interface, &key_file.to_string_lossy());
            let path = self.conf(&interface.wg_name);
            if fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
                continue;
            }
            write_private(&path, &text)?;
            changes.written.push(interface.wg_name.clone());
        }
        for entry in fs::read_dir(&self.dir).map_err(NodeError::io(&self.dir))? {
            let path = entry.map_err(NodeError::io(&self.dir))?.path();
            let Some(name) = berth_conf_name(&path) else {
                continue;
            };
            if !wanted.contains(&name) {
                fs::remove_file(&path).map_err(NodeError::io(&path))?;
                changes.removed.push(name);
            }
        }
        Ok(changes)
    }

    /// Writes the configurations and applies what changed with `wg-quick` and `wg`.
    pub fn converge(&self, interfaces: &[VpnInterfaceSpec]) -> Result<VpnChanges, NodeError> {
        let changes = self.write(interfaces)?;
        for name in &changes.removed {
            if interface_is_up(name) {
                run("ip", &["link", "del", name.as_str()])?;
            }
        }
        for name in &changes.written {
            let conf = self.conf(name);
            let conf = conf.to_string_lossy();
            if interface_is_up(name) {
                let stripped = run("wg-quick", &["strip", conf.as_ref()])?;
                run_with_input(
                    "wg",
                    &["syncconf", name.as_str(), "/dev/stdin"],
                    Some(stripped.as_bytes()),
                )?;
            } else {
                run("wg-quick", &["up", conf.as_ref()])?;
            }
        }
        Ok(changes)
    }
}

/// The interface name of `path` when it is a `.conf` berth wrote.
fn berth_conf_name(path: &Path) -> Option<String> {
    let name = path
        .file_name()?
        .to_str()?
        .strip_suffix(".conf")?
        .to_owned();
    let text = fs::read_to_string(path).ok()?;
    text.starts_with(MARK).then_some(name)
}

fn interface_is_up(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn write_private(path: &Path, text: &str) -> Result<(), NodeError> {
    let staged = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&staged)
        .map_err(NodeError::io(&staged))?;
    file.write_all(text.as_bytes())
        .map_err(NodeError::io(&staged))?;
    fs::rename(&staged, path).map_err(NodeError::io(path))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use berth_model::node::VpnPeerSpec;

    use super::*;

    fn interface(name: &str, peers: usize) -> VpnInterfaceSpec {
        VpnInterfaceSpec {
            wg_name: name.to_owned(),
            listen_port: 51820,
            private_key: None,
            peers: (0..peers)
                .map(|i| VpnPeerSpec {
                    owner: format!("customer{i}"),
                    public_key: "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=".to_owned(),
                    allowed_ips: format!("2a0a:e5c1:2{i:02x}::/48"),
                })
                .collect(),
        }
    }

    #[test]
    fn configurations_follow_the_pools_and_foreign_files_are_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let host = VpnHost::new(dir.path().join("wireguard"));
        assert_eq!(
            host.write(&[]).expect("nothing to do"),
            VpnChanges::default()
        );
        fs::create_dir_all(dir.path().join("wireguard")).expect("dir");
        let foreign = dir.path().join("wireguard/office.conf");
        fs::write(&foreign, "[Interface]\n").expect("an operator's own file");

        let changes = host.write(&[interface("wg0", 2)]).expect("written");
        assert_eq!(changes.written, ["wg0"]);
        let conf = dir.path().join("wireguard/wg0.conf");
        let text = fs::read_to_string(&conf).expect("conf");
        assert!(text.contains("AllowedIPs = 2a0a:e5c1:201::/48"), "{text}");
        assert!(text.contains("PostUp = wg set %i private-key"), "{text}");
        let mode = fs::metadata(&conf).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        // Unchanged: nothing written; one more peer: written again.
        assert!(host
            .write(&[interface("wg0", 2)])
            .expect("ok")
            .written
            .is_empty());
        assert_eq!(
            host.write(&[interface("wg0", 3)]).expect("ok").written,
            ["wg0"]
        );

        // The pool gone: berth's file goes, the operator's stays.
        let changes = host.write(&[]).expect("removed");
        assert_eq!(changes.removed, ["wg0"]);
        assert!(!conf.exists());
        assert!(foreign.exists());

        let mut bad = interface("wg0", 0);
        bad.wg_name = "../../etc/x".to_owned();
        assert!(host.write(&[bad]).is_err());
    }
}
