//! Legions: groups of servers sharing a failover address. Only one member, the Lord, holds
//! the address at a time; when it dies another member takes it (VRRP, run by each node's
//! keepalived). A member's weight orders the election: the highest weight is the Lord.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A member's weight when staff give none (uwsgi.it's `LegionNode.weight`).
pub const DEFAULT_WEIGHT: i64 = 9999;

/// The largest weight a member may have.
pub const MAX_WEIGHT: i64 = 1_000_000_000;

/// The longest legion name.
pub const NAME_MAX: usize = 64;

/// A legion as one of its servers must realise it (part of the node's desired state). Its
/// `Debug` form leaves the key out, so that no log line carries it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegionSpec {
    /// Database id; the VRRP virtual router id derives from it ([`virtual_router_id`]).
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The failover address (IPv4) the Lord holds.
    pub address: String,
    /// This server's weight in the legion.
    pub weight: i64,
    /// Every member, this server included, by address.
    pub members: Vec<LegionMember>,
    /// The legion's 256-bit key (64 hex digits) sealing cluster traffic between members;
    /// `None` for a legion made before legions had keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// One server of a legion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegionMember {
    /// The server's name.
    pub name: String,
    /// The server's address (VRRP adverts go there).
    pub address: String,
    /// Its weight: the highest is the Lord.
    pub weight: i64,
}

impl std::fmt::Debug for LegionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegionSpec")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("address", &self.address)
            .field("weight", &self.weight)
            .field("members", &self.members)
            .field("key", &self.key.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

impl LegionSpec {
    /// The members other than the one at `address`: whom this server sends VRRP adverts to.
    pub fn peers_of<'a>(&'a self, address: &'a str) -> impl Iterator<Item = &'a LegionMember> {
        self.members.iter().filter(move |m| m.address != address)
    }

    /// The VRRP priority (1–254) of the member at `address`, `None` when it is no member.
    /// Members are ranked by weight, highest first (ties: the lower address first); the
    /// first gets 254, the next 253, and so on down to 1, so that priorities never tie and
    /// any weights fit VRRP's range.
    pub fn priority_of(&self, address: &str) -> Option<u8> {
        let mut ranked: Vec<&LegionMember> = self.members.iter().collect();
        ranked.sort_by(|a, b| {
            b.weight
                .cmp(&a.weight)
                .then_with(|| a.address.cmp(&b.address))
        });
        let rank = ranked.iter().position(|m| m.address == address)?;
        Some(254 - u8::try_from(rank.min(253)).unwrap_or(253))
    }
}

/// The VRRP virtual router id (1–255) of the legion with database id `id`: legions 1 to
/// 255 get their own; after that ids wrap around (legions sharing a server must not share
/// one, which takes more than 255 legions).
pub fn virtual_router_id(id: i64) -> u8 {
    u8::try_from((id - 1).rem_euclid(255) + 1).unwrap_or(1)
}

/// Checks a legion name: 1 to [`NAME_MAX`] letters, digits, dots, dashes and underscores.
pub fn name(value: &str) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.is_empty() || value.len() > NAME_MAX {
        return Err(ValidationError::new(
            "name",
            format!("must be 1 to {NAME_MAX} characters"),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(ValidationError::new(
            "name",
            "may contain only letters, digits, dots, dashes and underscores",
        ));
    }
    Ok(value.to_owned())
}

/// Checks a failover address: a unicast IPv4 address (VRRP version 2), canonical form.
pub fn address(value: &str) -> Result<String, ValidationError> {
    let ip: Ipv4Addr = value
        .trim()
        .parse()
        .map_err(|_| ValidationError::new("address", "must be an IPv4 address (VRRP version 2)"))?;
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
        return Err(ValidationError::new(
            "address",
            "must be a unicast address a server can hold",
        ));
    }
    Ok(ip.to_string())
}

/// Checks a member's weight: 0 to [`MAX_WEIGHT`].
pub fn weight(value: i64) -> Result<i64, ValidationError> {
    if (0..=MAX_WEIGHT).contains(&value) {
        Ok(value)
    } else {
        Err(ValidationError::new(
            "weight",
            format!("must be 0 to {MAX_WEIGHT}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(address: &str, weight: i64) -> LegionMember {
        LegionMember {
            name: address.to_owned(),
            address: address.to_owned(),
            weight,
        }
    }

    fn legion(members: Vec<LegionMember>) -> LegionSpec {
        LegionSpec {
            id: 1,
            name: "eu".into(),
            address: "192.0.2.100".into(),
            weight: 0,
            members,
            key: None,
        }
    }

    #[test]
    fn the_debug_form_never_shows_the_key() {
        let mut spec = legion(vec![member("192.0.2.1", 1)]);
        spec.key = Some("ab".repeat(32));
        let shown = format!("{spec:?}");
        assert!(!shown.contains(&"ab".repeat(32)), "{shown}");
        assert!(
            shown.contains("192.0.2.100") && shown.contains("<hidden>"),
            "{shown}"
        );
    }

    #[test]
    fn the_heaviest_member_gets_the_highest_priority_and_none_tie() {
        let spec = legion(vec![
            member("192.0.2.1", 10),
            member("192.0.2.2", 30),
            member("192.0.2.3", 10),
        ]);
        assert_eq!(spec.priority_of("192.0.2.2"), Some(254));
        assert_eq!(spec.priority_of("192.0.2.1"), Some(253));
        assert_eq!(spec.priority_of("192.0.2.3"), Some(252));
        assert_eq!(spec.priority_of("192.0.2.9"), None);
        let peers: Vec<&str> = spec
            .peers_of("192.0.2.1")
            .map(|m| m.address.as_str())
            .collect();
        assert_eq!(peers, ["192.0.2.2", "192.0.2.3"]);
    }

    #[test]
    fn priorities_stay_in_vrrp_range_for_any_number_of_members() {
        let members = (0..300)
            .map(|i| member(&format!("10.1.{}.{}", i / 256, i % 256), 5))
            .collect();
        let spec = legion(members);
        assert_eq!(spec.priority_of("10.1.1.43"), Some(1));
    }

    #[test]
    fn router_ids_cover_1_to_255() {
        assert_eq!(virtual_router_id(1), 1);
        assert_eq!(virtual_router_id(255), 255);
        assert_eq!(virtual_router_id(256), 1);
        assert_eq!(virtual_router_id(0), 255);
    }

    #[test]
    fn names_addresses_and_weights_are_checked() {
        assert_eq!(name(" eu-1 ").as_deref(), Ok("eu-1"));
        assert!(name("").is_err());
        assert!(name("a b").is_err());
        assert!(name(&"x".repeat(NAME_MAX + 1)).is_err());
        assert_eq!(address(" 192.0.2.100").as_deref(), Ok("192.0.2.100"));
        assert!(address("2001:db8::1").is_err());
        assert!(address("0.0.0.0").is_err());
        assert!(address("224.0.0.18").is_err());
        assert!(address("legion").is_err());
        assert!(weight(-1).is_err());
        assert!(weight(MAX_WEIGHT + 1).is_err());
        assert_eq!(weight(DEFAULT_WEIGHT), Ok(DEFAULT_WEIGHT));
    }
}
