//! WireGuard VPN networks (uncloud's `uncloud_net`, spec/uncloud.md §1.4 and §4): staff
//! define pools, a prefix (say 2a0a:e5c1:200::/40) served by one WireGuard host and cut into
//! customer networks of one size (/48); a customer orders a network with their WireGuard
//! public key and gets the next free one. Network `i` of a pool is its base address plus
//! `i × 2^(bits − subnetwork_size)`, so allocation is a number, never string arithmetic.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use curve25519_dalek::montgomery::MontgomeryPoint;

use crate::node::VpnInterfaceSpec;
use crate::{server, ValidationError};

/// The UDP port a pool's WireGuard interface listens on unless staff say otherwise.
pub const DEFAULT_LISTEN_PORT: i64 = 51_820;

/// A pool as staff define it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDefinition {
    /// The pool's base address, with no host bits set.
    pub network: IpAddr,
    /// The pool's prefix length.
    pub network_size: u8,
    /// The prefix length of each customer network, longer than the pool's.
    pub subnetwork_size: u8,
    /// The berth server running the WireGuard interface (its name).
    pub vpn_hostname: String,
    /// The WireGuard interface on that server.
    pub wg_name: String,
    /// The UDP port it listens on.
    pub listen_port: u16,
}

impl PoolDefinition {
    /// Checks a pool: the address and prefix lengths fit the address family, the network
    /// has no host bits, customer networks are strictly smaller than the pool, the host is
    /// a server name and the interface a Linux interface name.
    pub fn new(
        network: &str,
        network_size: i64,
        subnetwork_size: i64,
        vpn_hostname: &str,
        wg_name: &str,
        listen_port: i64,
    ) -> Result<PoolDefinition, ValidationError> {
        let network: IpAddr = network
            .trim()
            .parse()
            .map_err(|_| ValidationError::new("network", "must be an IPv6 or IPv4 address"))?;
        let bits = bits_of(network);
        let size = |field: &str, value: i64| -> Result<u8, ValidationError> {
            u8::try_from(value)
                .ok()
                .filter(|v| u32::from(*v) <= bits)
                .ok_or_else(|| ValidationError::new(field, format!("must be 0 to {bits}")))
        };
        let network_size = size("network_size", network_size)?;
        let subnetwork_size = size("subnetwork_size", subnetwork_size)?;
        if subnetwork_size <= network_size {
            return Err(ValidationError::new(
                "subnetwork_size",
                "must be longer than network_size: customer networks are cut from the pool",
            ));
        }
        if to_number(network) & !prefix_mask(bits, network_size) != 0 {
            return Err(ValidationError::new(
                "network",
                format!("has host bits set for a /{network_size}"),
            ));
        }
        let vpn_hostname = server::name(vpn_hostname)
            .map_err(|e| ValidationError::new("vpn_hostname", e.message))?;
        let wg_name = interface_name(wg_name)?;
        let listen_port = u16::try_from(listen_port)
            .ok()
            .filter(|port| *port > 0)
            .ok_or_else(|| ValidationError::new("listen_port", "must be 1 to 65535"))?;
        Ok(PoolDefinition {
            network,
            network_size,
            subnetwork_size,
            vpn_hostname,
            wg_name,
            listen_port,
        })
    }

    /// How many customer networks the pool holds, `2^(subnetwork_size − network_size)`
    /// (capped at `i64::MAX`).
    pub fn capacity(&self) -> i64 {
        capacity(self.network_size, self.subnetwork_size)
    }
}

/// How many networks of `/subnetwork_size` a `/network_size` holds (capped at `i64::MAX`).
pub fn capacity(network_size: u8, subnetwork_size: u8) -> i64 {
    let shift = u32::from(subnetwork_size.saturating_sub(network_size));
    if shift >= 63 {
        i64::MAX
    } else {
        1_i64 << shift
    }
}

/// The address of network `index` of the pool at `network` cut into `/subnetwork_size`
/// networks; `None` when it would leave the address family.
pub fn network_address(network: IpAddr, subnetwork_size: u8, index: i64) -> Option<IpAddr> {
    let bits = bits_of(network);
    let step = 1_u128.checked_shl(bits.checked_sub(u32::from(subnetwork_size))?)?;
    let offset = u128::try_from(index).ok()?.checked_mul(step)?;
    let address = to_number(network).checked_add(offset)?;
    match network {
        IpAddr::V4(_) => u32::try_from(address)
            .ok()
            .map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        IpAddr::V6(_) => Some(IpAddr::V6(Ipv6Addr::from(address))),
    }
}

/// Whether two prefixes `(address, length)` share any address: one holds the other.
pub fn overlaps(a: (IpAddr, u8), b: (IpAddr, u8)) -> bool {
    if a.0.is_ipv4() != b.0.is_ipv4() {
        return false;
    }
    let bits = bits_of(a.0);
    let mask = prefix_mask(bits, a.1.min(b.1));
    to_number(a.0) & mask == to_number(b.0) & mask
}

fn bits_of(address: IpAddr) -> u32 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn to_number(address: IpAddr) -> u128 {
    match address {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn prefix_mask(bits: u32, size: u8) -> u128 {
    let all = if bits == 128 {
        u128::MAX
    } else {
        (1_u128 << bits) - 1
    };
    match u32::from(size) {
        0 => 0,
        s => all & !((1_u128 << (bits - s)) - 1),
    }
}

/// Checks a WireGuard interface name: 1 to 15 characters (the Linux limit) of letters,
/// digits, `_`, `-`, `.`, `=` and `+` (what `wg-quick` accepts).
pub fn interface_name(name: &str) -> Result<String, ValidationError> {
    let name = name.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.=+".contains(c);
    if name.is_empty() || name.len() > 15 || !name.chars().all(allowed) {
        return Err(ValidationError::new(
            "wg_name",
            "must be 1 to 15 letters, digits or _ - . = +",
        ));
    }
    Ok(name.to_owned())
}

/// Checks a WireGuard key as `wg` prints it: standard base64 of exactly 32 bytes (44
/// characters ending in `=`), nothing else, so it can never break a config file.
pub fn wireguard_key(field: &str, key: &str) -> Result<String, ValidationError> {
    let bad = || ValidationError::new(field, "is not a valid WireGuard key (base64 of 32 bytes)");
    let key = key.trim();
    if key.len() != 44 {
        return Err(bad());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key)
        .map_err(|_| bad())?;
    if bytes.len() != 32 {
        return Err(bad());
    }
    Ok(key.to_owned())
}

/// The public key of a WireGuard private key (X25519 with the base point, as `wg pubkey`).
pub fn public_key_of(private_key: &str) -> Result<String, ValidationError> {
    let private_key = wireguard_key("wireguard_private_key", private_key)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(private_key)
        .map_err(|_| ValidationError::new("wireguard_private_key", "is not base64"))?;
    let secret: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ValidationError::new("wireguard_private_key", "is not 32 bytes"))?;
    let public = MontgomeryPoint::mul_base_clamped(secret).to_bytes();
    Ok(base64::engine::general_purpose::STANDARD.encode(public))
}

/// The server's WireGuard configuration of a pool (`/etc/wireguard/<wg_name>.conf`, read by
/// `wg-quick`): its port, its private key (the platform's copy, or else a `PostUp` loading
/// `key_file`), and one peer per customer network, its owner in a comment.
pub fn server_config(interface: &VpnInterfaceSpec, key_file: &str) -> String {
    let mut text = format!(
        "# Written by berth node from the VPN pools; changes are overwritten.\n[Interface]\n\
         ListenPort = {}\n",
        interface.listen_port
    );
    match &interface.private_key {
        Some(key) => {
            let _ = writeln!(text, "PrivateKey = {key}");
        }
        None => {
            let _ = writeln!(text, "PostUp = wg set %i private-key {key_file}");
        }
    }
    for peer in &interface.peers {
        let _ = write!(
            text,
            "\n# Owner: {}\n[Peer]\nPublicKey = {}\nAllowedIPs = {}\n",
            peer.owner, peer.public_key, peer.allowed_ips
        );
    }
    text
}

/// A WireGuard configuration for the customer's side of `network/size`, to be completed
/// with their private key: their first address in the network, the server as the peer, and
/// all traffic of the network's family through it.
pub fn client_config(network: IpAddr, size: u8, server_public_key: &str, endpoint: &str) -> String {
    let first = match network {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a).wrapping_add(1))),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a).wrapping_add(1))),
    };
    let everything = match network {
        IpAddr::V4(_) => "0.0.0.0/0",
        IpAddr::V6(_) => "::/0",
    };
    format!(
        "[Interface]\nPrivateKey = <your private key>\nAddress = {first}/{size}\n\n[Peer]\n\
         PublicKey = {server_public_key}\nEndpoint = {endpoint}\nAllowedIPs = {everything}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manuals_pool_holds_256_networks_and_allocates_by_number() {
        let pool = PoolDefinition::new(
            "2a0a:e5c1:200::",
            40,
            48,
            "vpn-2a0ae5c1200",
            "wg0",
            DEFAULT_LISTEN_PORT,
        )
        .expect("the manual's pool");
        assert_eq!(pool.capacity(), 256);
        let at = |i| {
            network_address(pool.network, 48, i)
                .expect("inside")
                .to_string()
        };
        assert_eq!(at(0), "2a0a:e5c1:200::");
        assert_eq!(at(1), "2a0a:e5c1:201::");
        // Numerically, not as strings: the tenth is 209, the sixteenth 20f, the last 2ff.
        assert_eq!(at(9), "2a0a:e5c1:209::");
        assert_eq!(at(15), "2a0a:e5c1:20f::");
        assert_eq!(at(255), "2a0a:e5c1:2ff::");
        let v4 = network_address("10.8.0.0".parse().expect("ip"), 24, 3).expect("inside");
        assert_eq!(v4.to_string(), "10.8.3.0");
        assert_eq!(
            network_address("255.255.255.0".parse().expect("ip"), 24, 2),
            None
        );
        let ip = |text: &str| text.parse::<IpAddr>().expect("ip");
        assert!(overlaps(
            (ip("2a0a:e5c1:200::"), 40),
            (ip("2a0a:e5c1:2ff::"), 48)
        ));
        assert!(!overlaps(
            (ip("2a0a:e5c1:200::"), 40),
            (ip("2a0a:e5c1:300::"), 40)
        ));
        assert!(!overlaps((ip("10.0.0.0"), 8), (ip("::"), 0)));
    }

    #[test]
    fn bad_pools_are_refused_with_the_field_named() {
        let field = |network: &str, size: i64, sub: i64, host: &str, wg: &str, port: i64| {
            PoolDefinition::new(network, size, sub, host, wg, port)
                .expect_err("refused")
                .field
        };
        assert_eq!(field("2a0a::1", 40, 48, "vpn", "wg0", 51820), "network");
        assert_eq!(field("not-an-ip", 40, 48, "vpn", "wg0", 51820), "network");
        assert_eq!(
            field("2a0a::", 48, 40, "vpn", "wg0", 51820),
            "subnetwork_size"
        );
        assert_eq!(
            field("2a0a::", 40, 129, "vpn", "wg0", 51820),
            "subnetwork_size"
        );
        assert_eq!(
            field("10.0.0.0", 8, 33, "vpn", "wg0", 51820),
            "subnetwork_size"
        );
        assert_eq!(field("2a0a::", 40, 48, "", "wg0", 51820), "vpn_hostname");
        assert_eq!(
            field("2a0a::", 40, 48, "vpn", "wg0-far-too-long", 51820),
            "wg_name"
        );
        assert_eq!(field("2a0a::", 40, 48, "vpn", "wg 0", 51820), "wg_name");
        assert_eq!(field("2a0a::", 40, 48, "vpn", "wg0", 0), "listen_port");
        assert_eq!(capacity(0, 128), i64::MAX);
    }

    #[test]
    fn keys_are_32_bytes_of_base64_and_public_keys_match_wg() {
        // `wg genkey` / `wg pubkey` of the RFC 7748 test vector's Alice.
        let private = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
        assert_eq!(
            public_key_of(private).expect("valid"),
            "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
        );
        assert!(wireguard_key("k", private).is_ok());
        for bad in [
            "",
            "short",
            "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC=",
            "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n[Peer]",
            "!wdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=",
        ] {
            assert!(wireguard_key("k", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn configs_list_the_peers_and_the_clients_route() {
        let mut interface = VpnInterfaceSpec {
            wg_name: "wg0".to_owned(),
            listen_port: 51820,
            private_key: None,
            peers: vec![crate::node::VpnPeerSpec {
                owner: "nico".to_owned(),
                public_key: "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=".to_owned(),
                allowed_ips: "2a0a:e5c1:200::/48".to_owned(),
            }],
        };
        let server = server_config(&interface, "/etc/wireguard/wg0.key");
        assert_eq!(
            server,
            "# Written by berth node from the VPN pools; changes are overwritten.\n\
             [Interface]\nListenPort = 51820\n\
             PostUp = wg set %i private-key /etc/wireguard/wg0.key\n\n# Owner: nico\n[Peer]\n\
             PublicKey = hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n\
             AllowedIPs = 2a0a:e5c1:200::/48\n"
        );
        interface.private_key = Some("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=".to_owned());
        let kept = server_config(&interface, "unused");
        assert!(kept.contains("PrivateKey = dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n"));
        assert!(!kept.contains("PostUp"));
        let client = client_config(
            "2a0a:e5c1:200::".parse().expect("ip"),
            48,
            "server-key",
            "vpn.example.net:51820",
        );
        assert!(client.contains("Address = 2a0a:e5c1:200::1/48"), "{client}");
        assert!(client.contains("AllowedIPs = ::/0"), "{client}");
    }
}
