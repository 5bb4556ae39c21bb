//! Links across servers: one VXLAN device carries the traffic of linked containers on
//! different servers. Its local end is this server's address; every peer server is a
//! forwarding entry (its tunnel MAC → its address), and every remote linked container a
//! host route through the device with a permanent neighbour entry (its address → its
//! server's tunnel MAC). A tunnel's MAC is made from its server's address
//! ([`mac_of`]), so no server has to learn another's. The remote server delivers to the
//! container's veth by its own host route; on this side proxy ARP on the veth makes the
//! remote address answer as the local ones do. Which packets may pass is
//! [`crate::network`]'s table, which matches the device and the peer server as well as the
//! addresses ([`rules`]).
//!
//! The device exists only while there are remote links; with none, nothing listens on the
//! VXLAN port.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Mutex;

use berth_model::node::RemoteLinkSpec;

use crate::command::run;
use crate::error::NodeError;

/// The VXLAN network identifier of the tunnel between servers.
pub(crate) const VNI: u32 = 4_615;

/// The UDP port VXLAN uses (IANA).
pub(crate) const PORT: u16 = 4_789;

/// The tunnel device's MAC address on the server at `server`: locally administered,
/// `02:b7:` and the four bytes of the address.
pub(crate) fn mac_of(server: Ipv4Addr) -> String {
    let [a, b, c, d] = server.octets();
    format!("02:b7:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

/// What the device holds now.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Applied {
    /// This server's address (the device's local end).
    local: Option<Ipv4Addr>,
    /// The peer servers, each a forwarding entry.
    peers: BTreeSet<Ipv4Addr>,
    /// Remote containers' addresses and their servers.
    routes: BTreeMap<Ipv4Addr, Ipv4Addr>,
}

/// The tunnel device between servers.
#[derive(Debug)]
pub(crate) struct Tunnel {
    name: String,
    /// What was applied; `None` before the first change (the device is made anew then).
    applied: Mutex<Option<Applied>>,
}

/// The remote pairs read from the desired state: (local address, remote address, peer
/// server), checked.
pub(crate) fn pairs(
    links: &[RemoteLinkSpec],
) -> Result<Vec<(Ipv4Addr, Ipv4Addr, Ipv4Addr)>, NodeError> {
    links
        .iter()
        .map(|link| {
            let bad = |what: &str, value: &str| NodeError::InvalidSpec {
                uid: link.uid,
                reason: format!("remote link: bad {what} {value:?}"),
            };
            let local: Ipv4Addr = link.ip.parse().map_err(|_| bad("address", &link.ip))?;
            let remote: Ipv4Addr = link
                .peer_ip
                .parse()
                .map_err(|_| bad("peer address", &link.peer_ip))?;
            let server: Ipv4Addr = link
                .peer_server
                .parse()
                .map_err(|_| bad("peer server", &link.peer_server))?;
            Ok((local, remote, server))
        })
        .collect()
}

impl Tunnel {
    /// The device `name` (made at the first [`Tunnel::converge`] with links).
    pub(crate) fn new(name: &str) -> Tunnel {
        Tunnel {
            name: name.to_owned(),
            applied: Mutex::new(None),
        }
    }

    /// Makes the device carry exactly `pairs` (from [`pairs`]) with `local` as this
    /// server's address: forwarding entries for their servers, routes and neighbour
    /// entries for their remote containers. The device goes when no pair is left.
    pub(crate) fn converge(
        &self,
        local: &str,
        pairs: &[(Ipv4Addr, Ipv4Addr, Ipv4Addr)],
    ) -> Result<(), NodeError> {
        let mut applied = self
            .applied
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut want = Applied::default();
        for &(_, remote, server) in pairs {
            want.peers.insert(server);
            want.routes.insert(remote, server);
        }
        if want.routes.is_empty() {
            if applied.as_ref() != Some(&Applied::default()) {
                self.remove();
                *applied = Some(Applied::default());
            }
            return Ok(());
        }
        want.local = Some(local.parse().map_err(|_| {
            NodeError::Config(format!("the server's address {local:?} is not IPv4"))
        })?);
        let mut have = match applied.take() {
            Some(have) if have.local == want.local => have,
            // First change, or a new local address: the device is made anew.
            _ => self.create(want.local.unwrap_or(Ipv4Addr::UNSPECIFIED))?,
        };
        let result = self.update(&mut have, &want);
        // What failed is tried again at the next change (the device is made anew then).
        *applied = result.is_ok().then_some(have);
        result
    }

    /// The device, new and empty, with `local` as its end.
    fn create(&self, local: Ipv4Addr) -> Result<Applied, NodeError> {
        self.remove();
        let (vni, port, address) = (VNI.to_string(), PORT.to_string(), local.to_string());
        run(
            "ip",
            &[
                "link",
                "add",
                &self.name,
                "type",
                "vxlan",
                "id",
                &vni,
                "local",
                &address,
                "dstport",
                &port,
                "nolearning",
            ],
        )?;
        run(
            "ip",
            &["link", "set", &self.name, "address", &mac_of(local), "up"],
        )?;
        Ok(Applied {
            local: Some(local),
            ..Applied::default()
        })
    }

    /// Brings `have` to `want`, entry by entry.
    fn update(&self, have: &mut Applied, want: &Applied) -> Result<(), NodeError> {
        for gone in have
            .routes
            .keys()
            .filter(|ip| !want.routes.contains_key(ip))
        {
            let ip = gone.to_string();
            run(
                "ip",
                &["route", "del", &format!("{ip}/32"), "dev", &self.name],
            )?;
            run("ip", &["neigh", "del", &ip, "dev", &self.name])?;
        }
        for gone in have.peers.difference(&want.peers) {
            run("bridge", &["fdb", "del", &mac_of(*gone), "dev", &self.name])?;
        }
        for new in want.peers.difference(&have.peers) {
            run(
                "bridge",
                &[
                    "fdb",
                    "append",
                    &mac_of(*new),
                    "dev",
                    &self.name,
                    "dst",
                    &new.to_string(),
                ],
            )?;
        }
        for (ip, server) in &want.routes {
            if have.routes.get(ip) == Some(server) {
                continue;
            }
            let ip = ip.to_string();
            run(
                "ip",
                &[
                    "neigh",
                    "replace",
                    &ip,
                    "lladdr",
                    &mac_of(*server),
                    "dev",
                    &self.name,
                    "nud",
                    "permanent",
                ],
            )?;
            run(
                "ip",
                &["route", "replace", &format!("{ip}/32"), "dev", &self.name],
            )?;
        }
        *have = want.clone();
        Ok(())
    }

    /// Deletes the device (with its entries and routes), if it exists.
    fn remove(&self) {
        if run("ip", &["link", "show", &self.name]).is_ok() {
            if let Err(e) = run("ip", &["link", "del", &self.name]) {
                tracing::warn!(device = %self.name, error = %e, "cannot remove the tunnel");
            }
        }
    }
}

/// The tunnel's part of the nftables table, for device `device`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TunnelRules {
    /// Set declarations.
    pub sets: String,
    /// Rules at the top of the forward chain.
    pub forward: String,
    /// Rules at the top of the input chain.
    pub input: String,
}

/// The rules for `pairs`: VXLAN is accepted from peer servers only and marked with the
/// sender's address; from the device only a linked pair's packet from the remote
/// container's own server passes, to the device only a linked pair's; nothing from the
/// device reaches the host itself.
pub(crate) fn rules(device: &str, pairs: &[(Ipv4Addr, Ipv4Addr, Ipv4Addr)]) -> TunnelRules {
    let elements = |items: Vec<String>| {
        if items.is_empty() {
            String::new()
        } else {
            format!(" elements = {{ {} }};", items.join(", "))
        }
    };
    let peers: BTreeSet<Ipv4Addr> = pairs.iter().map(|p| p.2).collect();
    let inbound: Vec<String> = pairs
        .iter()
        .map(|(local, remote, server)| format!("{remote} . {local} . {:#010x}", mark_of(*server)))
        .collect();
    let outbound: Vec<String> = pairs
        .iter()
        .map(|(local, remote, _)| format!("{local} . {remote}"))
        .collect();
    let sets = format!(
        "  set tunnel_peers {{ type ipv4_addr;{} }}\n  \
         set tunnel_in {{ type ipv4_addr . ipv4_addr . mark;{} }}\n  \
         set tunnel_out {{ type ipv4_addr . ipv4_addr;{} }}\n",
        elements(peers.iter().map(ToString::to_string).collect()),
        elements(inbound),
        elements(outbound)
    );
    let forward = format!(
        "    iifname \"{device}\" ip saddr . ip daddr . meta mark != @tunnel_in drop\n    \
         oifname \"{device}\" ip saddr . ip daddr != @tunnel_out drop\n    \
         iifname \"{device}\" accept\n    \
         oifname \"{device}\" accept\n"
    );
    let marks: Vec<String> = peers
        .iter()
        .map(|server| format!("{server} : {:#010x}", mark_of(*server)))
        .collect();
    let mut input = format!("    udp dport {PORT} ip saddr != @tunnel_peers drop\n");
    if !marks.is_empty() {
        input.push_str(&format!(
            "    udp dport {PORT} meta mark set ip saddr map {{ {} }}\n",
            marks.join(", ")
        ));
    }
    input.push_str(&format!("    iifname \"{device}\" drop\n"));
    TunnelRules {
        sets,
        forward,
        input,
    }
}

/// The packet mark of VXLAN packets from the server at `server` (its address as a number):
/// the mark stays on the packet the device unwraps, so the forward chain knows its sender.
fn mark_of(server: Ipv4Addr) -> u32 {
    u32::from(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_tunnel_mac_is_its_address() {
        assert_eq!(mac_of(Ipv4Addr::new(192, 0, 2, 10)), "02:b7:c0:00:02:0a");
    }

    #[test]
    fn only_linked_pairs_from_their_own_server_pass() {
        let pairs = [(
            Ipv4Addr::new(10, 0, 0, 5),
            Ipv4Addr::new(10, 0, 0, 9),
            Ipv4Addr::new(192, 0, 2, 2),
        )];
        let r = rules("bthvx", &pairs);
        assert!(r
            .sets
            .contains("set tunnel_in { type ipv4_addr . ipv4_addr . mark; elements = { 10.0.0.9 . 10.0.0.5 . 0xc0000202 }; }"));
        assert!(r.sets.contains("elements = { 10.0.0.5 . 10.0.0.9 }"));
        assert!(r
            .sets
            .contains("set tunnel_peers { type ipv4_addr; elements = { 192.0.2.2 }; }"));
        assert!(r.forward.starts_with(
            "    iifname \"bthvx\" ip saddr . ip daddr . meta mark != @tunnel_in drop"
        ));
        assert!(r
            .input
            .contains("udp dport 4789 meta mark set ip saddr map { 192.0.2.2 : 0xc0000202 }"));
        let none = rules("bthvx", &[]);
        assert!(none
            .input
            .contains("udp dport 4789 ip saddr != @tunnel_peers drop"));
        assert!(!none.input.contains("map"));
    }
}
