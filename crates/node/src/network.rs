//! Container networking: every container gets `uwsgi0`, one end of a veth pair, with its
//! 10/8 address and (unless it is in the dmz) a default route through the gateway address,
//! which the host side of every pair holds. The host routes each container's address to its veth and answers ARP for the
//! others (proxy ARP), so containers talk through the host's forwarding, where one nftables
//! table decides: containers are isolated unless both sides link each other, a dmz container
//! reaches nothing outside 10/8, and the server's public ports are forwarded (DNAT) to the
//! containers' ports. The table is replaced whole, in one transaction, when it changes.
//! Linked containers on other servers are reached through the tunnel between servers
//! ([`crate::tunnel`]); the same table lets exactly the linked pairs through it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Mutex;

use berth_model::node::DesiredState;

use crate::command::{run, run_with_input};
use crate::error::NodeError;
use crate::tunnel::{self, Tunnel};

/// The containers' network, 10.0.0.0/8.
const CONTAINER_NET: &str = "10.0.0.0/8";

/// The gateway address containers route through, held by the host.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// The container side of every veth pair.
const CONTAINER_LINK: &str = "uwsgi0";

/// Names on the host: the nftables table and the prefix of the containers' host-side veth
/// links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The nftables table (family `ip`).
    pub table: String,
    /// Prefix of the host side of each container's veth pair, followed by its uid (the
    /// whole at most 15 characters).
    pub link_prefix: String,
    /// The VXLAN device to linked containers on other servers (not starting with
    /// `link_prefix`).
    pub tunnel: String,
}

impl NetworkConfig {
    /// The production names: table `berth`, veth links `bth<uid>`.
    pub fn standard() -> NetworkConfig {
        NetworkConfig {
            table: "berth".to_owned(),
            link_prefix: "bth".to_owned(),
            tunnel: "berthvx".to_owned(),
        }
    }

    fn host_link(&self, uid: u32) -> String {
        format!("{}{uid}", self.link_prefix)
    }
}

/// The host's side of container networking.
#[derive(Debug)]
pub struct Network {
    config: NetworkConfig,
    /// The ruleset last loaded, so that an unchanged one is not loaded again.
    loaded: Mutex<Option<String>>,
    /// The tunnel to linked containers on other servers.
    tunnel: Tunnel,
}

impl Network {
    /// Prepares the host: IPv4 forwarding on, and an empty table (every container
    /// isolated) until the first [`Network::apply`].
    pub fn new(config: NetworkConfig) -> Result<Network, NodeError> {
        // A link name has at most 15 characters: the prefix leaves room for any uid.
        for (name, longest) in [
            (&config.table, 32),
            (&config.link_prefix, 5),
            (&config.tunnel, 15),
        ] {
            if name.is_empty()
                || name.len() > longest
                || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(NodeError::Config(format!("bad network name {name:?}")));
            }
        }
        if config.tunnel.starts_with(&config.link_prefix) {
            return Err(NodeError::Config(format!(
                "the tunnel {:?} would count as a container's link {:?}",
                config.tunnel, config.link_prefix
            )));
        }
        write_sysctl(Path::new("/proc/sys/net/ipv4/ip_forward"), "1")?;
        let network = Network {
            tunnel: Tunnel::new(&config.tunnel),
            config,
            loaded: Mutex::default(),
        };
        network.load(&network.ruleset(&[], &[], &[], &[]))?;
        Ok(network)
    }

    /// Gives the container whose init is `pid` its `uwsgi0` with `ip`, before the init
    /// runs: the veth pair, [`GATEWAY`] on the host's end, the host's route and proxy ARP,
    /// strict reverse-path filtering (a container cannot send with another's address), and
    /// inside the container the address and (unless `dmz`) the default route.
    pub fn attach(&self, uid: u32, pid: i64, ip: Ipv4Addr, dmz: bool) -> Result<(), NodeError> {
        let host_link = self.config.host_link(uid);
        self.detach(uid);
        let pid = pid.to_string();
        run(
            "ip",
            &[
                "link",
                "add",
                &host_link,
                "type",
                "veth",
                "peer",
                "name",
                CONTAINER_LINK,
                "netns",
                &pid,
            ],
        )?;
        write_sysctl(
            &Path::new("/proc/sys/net/ipv4/conf")
                .join(&host_link)
                .join("proxy_arp"),
            "1",
        )?;
        write_sysctl(
            &Path::new("/proc/sys/net/ipv4/conf")
                .join(&host_link)
                .join("rp_filter"),
            "1",
        )?;
        run(
            "ip",
            &["addr", "add", &format!("{GATEWAY}/32"), "dev", &host_link],
        )?;
        run("ip", &["link", "set", &host_link, "up"])?;
        run(
            "ip",
            &["route", "replace", &format!("{ip}/32"), "dev", &host_link],
        )?;
        let inside = |args: &[&str]| {
            let netns = format!("--net=/proc/{pid}/ns/net");
            let mut all = vec![netns.as_str(), "ip"];
            all.extend_from_slice(args);
            run("nsenter", &all)
        };
        inside(&["addr", "add", &format!("{ip}/8"), "dev", CONTAINER_LINK])?;
        inside(&["link", "set", CONTAINER_LINK, "up"])?;
        if !dmz {
            inside(&[
                "route",
                "add",
                "default",
                "via",
                &GATEWAY.to_string(),
                "dev",
                CONTAINER_LINK,
                "onlink",
            ])?;
        }
        Ok(())
    }

    /// Removes what is left of the container's link on the host (the pair goes with the
    /// container's network namespace; a stale one must not stand in a new one's way).
    pub fn detach(&self, uid: u32) {
        let host_link = self.config.host_link(uid);
        if link_exists(&host_link) {
            if let Err(e) = run("ip", &["link", "del", &host_link]) {
                tracing::warn!(uid, error = %e, "cannot remove a stale veth link");
            }
        }
    }

    /// Bytes the container of `uid` received and sent on `uwsgi0` since it started (the host
    /// end counts them the other way round); `None` when it has no link.
    pub fn traffic(&self, uid: u32) -> Option<(i64, i64)> {
        let statistics = Path::new("/sys/class/net")
            .join(self.config.host_link(uid))
            .join("statistics");
        let counter = |name: &str| -> Option<i64> {
            std::fs::read_to_string(statistics.join(name))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        Some((counter("tx_bytes")?, counter("rx_bytes")?))
    }

    /// Loads the rules `desired` asks for, when they differ from the loaded ones: links
    /// that both sides made, dmz containers, port mappings, and linked pairs across servers;
    /// then brings the tunnel to those pairs.
    pub fn apply(&self, desired: &DesiredState) -> Result<(), NodeError> {
        let ips: std::collections::BTreeMap<i64, &str> = desired
            .containers
            .iter()
            .map(|c| (c.uid, c.ip.as_str()))
            .collect();
        let wants: BTreeSet<(i64, i64)> = desired
            .containers
            .iter()
            .flat_map(|c| c.links.iter().map(move |l| (c.uid, l.uid)))
            .collect();
        // A link carries traffic only when both containers link each other.
        let mut pairs = Vec::new();
        for &(from, to) in &wants {
            if wants.contains(&(to, from)) {
                if let (Some(a), Some(b)) = (ips.get(&from), ips.get(&to)) {
                    pairs.push(((*a).to_owned(), (*b).to_owned()));
                }
            }
        }
        let dmz: Vec<String> = desired
            .containers
            .iter()
            .filter(|c| c.dmz)
            .map(|c| c.ip.clone())
            .collect();
        let forwards: Vec<Forward> = desired
            .port_mappings
            .iter()
            .map(|m| Forward {
                proto: m.proto.as_str(),
                public_port: m.public_port,
                ip: m.ip.clone(),
                private_port: m.private_port,
            })
            .collect();
        let remote = tunnel::pairs(&desired.remote_links)?;
        let rules = self.ruleset(&pairs, &dmz, &forwards, &remote);
        {
            let mut loaded = self
                .loaded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if loaded.as_deref() != Some(rules.as_str()) {
                self.load(&rules)?;
                *loaded = Some(rules);
            }
        }
        self.tunnel.converge(&desired.server.address, &remote)
    }

    /// Replaces the table with `rules` in one nftables transaction.
    fn load(&self, rules: &str) -> Result<(), NodeError> {
        run_with_input("nft", &["-f", "-"], Some(rules.as_bytes())).map(|_| ())
    }

    /// The whole table: `pairs` of addresses that may talk, `dmz` addresses, `forwards`,
    /// and the `remote` pairs across the tunnel.
    fn ruleset(
        &self,
        pairs: &[(String, String)],
        dmz: &[String],
        forwards: &[Forward],
        remote: &[(Ipv4Addr, Ipv4Addr, Ipv4Addr)],
    ) -> String {
        ruleset(&self.config, pairs, dmz, forwards, remote)
    }
}

/// A public port of the server forwarded to a container's port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Forward {
    proto: &'static str,
    public_port: i64,
    ip: String,
    private_port: i64,
}

/// The nftables script that replaces the table (creating it first, so that deleting it
/// never fails).
fn ruleset(
    config: &NetworkConfig,
    pairs: &[(String, String)],
    dmz: &[String],
    forwards: &[Forward],
    remote: &[(Ipv4Addr, Ipv4Addr, Ipv4Addr)],
) -> String {
    let table = &config.table;
    let tunnel = tunnel::rules(&config.tunnel, remote);
    let veth = format!("\"{}*\"", config.link_prefix);
    let mut out = format!("table ip {table} {{}}\ndelete table ip {table}\ntable ip {table} {{\n");
    let elements = |items: Vec<String>| {
        if items.is_empty() {
            String::new()
        } else {
            format!(" elements = {{ {} }};", items.join(", "))
        }
    };
    let linked: Vec<String> = pairs.iter().map(|(a, b)| format!("{a} . {b}")).collect();
    let _ = writeln!(
        out,
        "  set links {{ type ipv4_addr . ipv4_addr;{} }}",
        elements(linked)
    );
    let _ = writeln!(
        out,
        "  set dmz {{ type ipv4_addr;{} }}",
        elements(dmz.to_vec())
    );
    out.push_str(&tunnel.sets);
    let _ = writeln!(
        out,
        "  chain forward {{\n    type filter hook forward priority 0; policy accept;\n{}    \
         ct state established,related accept\n    \
         ip saddr {CONTAINER_NET} ip daddr {CONTAINER_NET} ip saddr . ip daddr @links accept\n    \
         ip saddr {CONTAINER_NET} ip daddr {CONTAINER_NET} drop\n    \
         ip saddr @dmz drop\n    \
         ct status dnat accept\n    \
         oifname {veth} drop\n  }}",
        tunnel.forward
    );
    let _ = writeln!(
        out,
        "  chain input {{\n    type filter hook input priority 0; policy accept;\n{}    \
         iifname {veth} ct state established,related accept\n    \
         iifname {veth} ip daddr {GATEWAY} icmp type echo-request accept\n    \
         iifname {veth} drop\n  }}",
        tunnel.input
    );
    let mut dnat = String::new();
    for f in forwards {
        let _ = write!(
            dnat,
            "\n    fib daddr type local ip daddr != 127.0.0.0/8 {} dport {} dnat to {}:{}",
            f.proto, f.public_port, f.ip, f.private_port
        );
    }
    for (chain, hook) in [("prerouting", "prerouting"), ("output", "output")] {
        let _ = writeln!(
            out,
            "  chain {chain} {{\n    type nat hook {hook} priority -100; policy accept;{dnat}\n  }}"
        );
    }
    let _ = writeln!(
        out,
        "  chain postrouting {{\n    type nat hook postrouting priority 100; policy accept;\n    \
         ip saddr {CONTAINER_NET} ip daddr != {CONTAINER_NET} oifname != {veth} masquerade\n  }}"
    );
    out.push_str("}\n");
    out
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn write_sysctl(path: &Path, value: &str) -> Result<(), NodeError> {
    std::fs::write(path, value).map_err(NodeError::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ruleset_lists_links_dmz_and_forwards() {
        let config = NetworkConfig::standard();
        let pairs = [
            ("10.0.0.10".to_owned(), "10.0.0.11".to_owned()),
            ("10.0.0.11".to_owned(), "10.0.0.10".to_owned()),
        ];
        let forwards = [Forward {
            proto: "tcp",
            public_port: 8080,
            ip: "10.0.0.10".to_owned(),
            private_port: 80,
        }];
        let rules = ruleset(&config, &pairs, &["10.0.0.12".to_owned()], &forwards, &[]);
        assert!(rules.starts_with("table ip berth {}\ndelete table ip berth\n"));
        assert!(rules.contains(
            "set links { type ipv4_addr . ipv4_addr; elements = { 10.0.0.10 . 10.0.0.11, \
             10.0.0.11 . 10.0.0.10 }; }"
        ));
        assert!(rules.contains("set dmz { type ipv4_addr; elements = { 10.0.0.12 }; }"));
        assert_eq!(
            rules.matches("tcp dport 8080 dnat to 10.0.0.10:80").count(),
            2
        );
        assert!(rules.contains("oifname \"bth*\" drop"));
        let empty = ruleset(&config, &[], &[], &[], &[]);
        assert!(empty.contains("set links { type ipv4_addr . ipv4_addr; }"));
        assert!(!empty.contains("dnat to"));
    }
}
