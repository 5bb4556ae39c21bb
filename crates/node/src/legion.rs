//! The failover address of this server's legions, held by keepalived (VRRP). The node writes
//! one keepalived configuration with a VRRP instance per legion (unicast adverts to the other
//! members, so that any L2 or L3 between them works), runs keepalived as its child and
//! reloads it (SIGHUP) when the configuration changes. The member with the highest priority
//! (from its weight) holds the address on [`LegionConfig::interface`]; when it stops
//! advertising for three intervals, the next one takes it and announces it (gratuitous ARP).
//!
//! keepalived lives and dies with the node: it gets SIGTERM when the node exits (parent-death
//! signal), and gives the address up on the way out.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use berth_model::legion::{virtual_router_id, LegionSpec};
use berth_model::node::ServerSpec;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::NodeError;

/// The first line of the configuration berth writes.
const MARK: &str = "# Written by berth node: the VRRP instances of this server's legions.";

/// How long keepalived may take to give the addresses up when the node stops it.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Where and how the node runs keepalived.
#[derive(Debug, Clone)]
pub struct LegionConfig {
    /// The node's directory for keepalived's configuration and pid files
    /// (`/var/lib/berth/node/legion`).
    pub dir: PathBuf,
    /// The interface that carries the server's address and receives the failover address.
    pub interface: String,
    /// The keepalived binary.
    pub keepalived: PathBuf,
}

impl LegionConfig {
    /// The production layout: `/var/lib/berth/node/legion`, `eth0`, `keepalived` on the path.
    pub fn standard() -> LegionConfig {
        LegionConfig {
            dir: PathBuf::from("/var/lib/berth/node/legion"),
            interface: "eth0".to_owned(),
            keepalived: PathBuf::from("keepalived"),
        }
    }
}

/// What [`Legions::converge`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegionChange {
    /// Nothing: keepalived runs the current configuration (or there is no legion).
    None,
    /// keepalived was started.
    Started,
    /// keepalived was told to reload a new configuration.
    Reloaded,
    /// The server left its last legion: keepalived was stopped.
    Stopped,
}

/// keepalived, run for this server's legions.
#[derive(Debug)]
pub struct Legions {
    config: LegionConfig,
    child: Mutex<Option<Child>>,
}

impl Legions {
    /// Legions kept with `config`; nothing runs until [`Legions::converge`] sees a legion.
    pub fn new(config: LegionConfig) -> Legions {
        Legions {
            config,
            child: Mutex::new(None),
        }
    }

    fn conf_path(&self) -> PathBuf {
        self.config.dir.join("keepalived.conf")
    }

    /// Makes keepalived run the VRRP instances of `legions` for `server`: writes the
    /// configuration when it changed, starts keepalived when it does not run (it died, or
    /// the server joined its first legion), reloads it when the configuration changed, and
    /// stops it when the server is in no legion.
    pub fn converge(
        &self,
        server: &ServerSpec,
        legions: &[LegionSpec],
    ) -> Result<LegionChange, NodeError> {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(running) = child.as_mut() {
            if let Ok(Some(status)) = running.try_wait() {
                tracing::warn!(%status, "keepalived exited; starting it again");
                *child = None;
            }
        }
        let path = self.conf_path();
        crate::cluster_peers::write(&self.config.dir, legions)?;
        if legions.is_empty() {
            let Some(running) = child.take() else {
                return Ok(LegionChange::None);
            };
            stop(running);
            let _ = fs::remove_file(&path);
            return Ok(LegionChange::Stopped);
        }
        let text = keepalived_conf(server, legions, &self.config.interface)?;
        let changed = fs::read_to_string(&path).ok().as_deref() != Some(text.as_str());
        if changed {
            fs::create_dir_all(&self.config.dir).map_err(NodeError::io(&self.config.dir))?;
            let temporary = self.config.dir.join("keepalived.conf.new");
            fs::write(&temporary, &text).map_err(NodeError::io(&temporary))?;
            fs::rename(&temporary, &path).map_err(NodeError::io(&path))?;
        }
        match child.as_ref() {
            None => {
                *child = Some(self.spawn()?);
                Ok(LegionChange::Started)
            }
            Some(running) if changed => {
                signal(running, Signal::SIGHUP);
                Ok(LegionChange::Reloaded)
            }
            Some(_) => Ok(LegionChange::None),
        }
    }

    fn spawn(&self) -> Result<Child, NodeError> {
        let dir = &self.config.dir;
        let mut command = Command::new(&self.config.keepalived);
        command
            .args([
                "--dont-fork",
                "--log-console",
                "--no-syslog",
                "--log-detail",
                "--vrrp",
            ])
            .arg("--use-file")
            .arg(self.conf_path())
            .arg("--pid")
            .arg(dir.join("keepalived.pid"))
            .arg("--vrrp_pid")
            .arg(dir.join("vrrp.pid"))
            .stdin(Stdio::null());
        die_with_parent(&mut command);
        command.spawn().map_err(|error| NodeError::Tool {
            command: format!(
                "{} (apt-get install keepalived)",
                self.config.keepalived.display()
            ),
            detail: error.to_string(),
        })
    }
}

impl Drop for Legions {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(running) = child.take() {
            stop(running);
        }
    }
}

/// Asks keepalived to stop (it gives its addresses up and tells the peers), and kills it
/// when it takes longer than [`STOP_GRACE`].
fn stop(mut child: Child) {
    signal(&child, Signal::SIGTERM);
    let started = Instant::now();
    while started.elapsed() < STOP_GRACE {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn signal(child: &Child, signal: Signal) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// keepalived gets SIGTERM when the thread that started it (the node's) ends.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: between fork and exec the closure only makes one prctl system call, which is
    // async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
        });
    }
}

/// The keepalived configuration of `server` for `legions`: one VRRP instance per legion on
/// `interface`, priorities from the members' weights, unicast adverts every second to the
/// other members, the failover address as a /32 on `interface`. Every server starts as a
/// backup; the highest priority takes the address (and takes it back when it returns).
pub fn keepalived_conf(
    server: &ServerSpec,
    legions: &[LegionSpec],
    interface: &str,
) -> Result<String, NodeError> {
    if interface.is_empty()
        || interface.len() > 15
        || !interface
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(NodeError::Config(format!(
            "bad legion interface {interface:?}"
        )));
    }
    let mut text = format!(
        "{MARK}\nglobal_defs {{\n    router_id {}\n    vrrp_garp_master_repeat 3\n}}\n",
        safe(&server.name)
    );
    for legion in legions {
        let priority = legion.priority_of(&server.address).ok_or_else(|| {
            NodeError::Config(format!(
                "this server ({}) is not a member of legion {}",
                server.address, legion.name
            ))
        })?;
        text.push_str(&format!(
            "\nvrrp_instance berth_{name} {{\n    state BACKUP\n    interface {interface}\n    \
             virtual_router_id {vrid}\n    priority {priority}\n    advert_int 1\n    \
             unicast_src_ip {me}\n    unicast_peer {{\n",
            name = safe(&legion.name),
            vrid = virtual_router_id(legion.id),
            me = safe(&server.address),
        ));
        for peer in legion.peers_of(&server.address) {
            text.push_str(&format!("        {}\n", safe(&peer.address)));
        }
        text.push_str(&format!(
            "    }}\n    virtual_ipaddress {{\n        {}/32 dev {interface}\n    }}\n}}\n",
            safe(&legion.address)
        ));
    }
    Ok(text)
}

/// `value` with only the characters a name or an address can have in the configuration (the
/// control plane validated them; this keeps a bad one from adding a directive).
fn safe(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_model::legion::LegionMember;

    fn server(address: &str) -> ServerSpec {
        ServerSpec {
            name: format!("node-{address}"),
            address: address.to_owned(),
            etc_resolv_conf: None,
            etc_hosts: None,
        }
    }

    fn legion() -> LegionSpec {
        let member = |address: &str, weight| LegionMember {
            name: format!("node-{address}"),
            address: address.to_owned(),
            weight,
        };
        LegionSpec {
            id: 3,
            name: "eu".into(),
            address: "192.0.2.100".into(),
            weight: 100,
            members: vec![
                member("192.0.2.1", 100),
                member("192.0.2.2", 300),
                member("192.0.2.3", 200),
            ],
            key: Some("ab".repeat(32)),
        }
    }

    #[test]
    fn each_legion_is_a_unicast_vrrp_instance_ranked_by_weight() {
        let text = keepalived_conf(&server("192.0.2.1"), &[legion()], "eth0").expect("conf");
        assert!(text.starts_with(MARK));
        assert!(text.contains("vrrp_instance berth_eu {"));
        assert!(text.contains("virtual_router_id 3\n"));
        assert!(text.contains("priority 252\n"), "{text}");
        assert!(text.contains("advert_int 1\n"));
        assert!(text.contains("unicast_src_ip 192.0.2.1\n"));
        assert!(text.contains("unicast_peer {\n        192.0.2.2\n        192.0.2.3\n    }"));
        assert!(text.contains("192.0.2.100/32 dev eth0"));
        let lord = keepalived_conf(&server("192.0.2.2"), &[legion()], "eth0").expect("conf");
        assert!(lord.contains("priority 254\n"));
    }

    #[test]
    fn a_server_outside_the_legion_or_a_bad_interface_is_refused() {
        assert!(keepalived_conf(&server("192.0.2.9"), &[legion()], "eth0").is_err());
        assert!(keepalived_conf(&server("192.0.2.1"), &[legion()], "eth0 }").is_err());
    }
}
