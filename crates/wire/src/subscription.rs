//! Subscription datagrams: what a vassal's `--subscribe-to`/`--subscribe2` sends to a router.
//!
//! The packet is a uwsgi packet with modifier1 224 and modifier2 0 (subscribe) or 1
//! (unsubscribe) whose body is one vars block. A signed packet ends with `unix` and then
//! `sign`; the signature covers the body from the first byte after the header up to, not
//! including, the `sign` entry.

use crate::error::WireError;
use crate::packet::Packet;
use crate::signing::{SigningError, SigningKey};
use crate::vars::{Vars, VarsBuilder};

/// modifier1 of every subscription packet.
pub const SUBSCRIPTION_MODIFIER1: u8 = 224;
/// Longest key or address uWSGI accepts.
pub const MAX_FIELD_LEN: usize = 255;

/// Whether a packet adds (or refreshes) a node or removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionKind {
    /// modifier2 = 0: add the node, or refresh it.
    Subscribe,
    /// modifier2 = 1: remove the node (sent on graceful stop).
    Unsubscribe,
}

impl SubscriptionKind {
    /// The modifier2 of this kind.
    pub fn modifier2(self) -> u8 {
        match self {
            SubscriptionKind::Subscribe => 0,
            SubscriptionKind::Unsubscribe => 1,
        }
    }
}

/// The signed part of a signed subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The bytes the signature covers: the body before the `sign` entry.
    pub signed_bytes: Vec<u8>,
    /// The raw RSA signature.
    pub signature: Vec<u8>,
}

/// One subscription packet with every key of uWSGI 2.0 and the 2.1 extras.
///
/// Numbers are read the way uWSGI reads them: leading ASCII digits, stopping at the first
/// non-digit; a missing or non-numeric value is 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Subscribe or unsubscribe.
    pub kind: SubscriptionKind,
    /// The subscription key: a host, maybe with a port, maybe a `.wildcard`.
    pub key: String,
    /// The node's address: `ip:port` for TCP, otherwise a unix socket path.
    pub address: String,
    /// modifier1 the router puts in every request to this node.
    pub modifier1: u8,
    /// modifier2 the router puts in every request to this node.
    pub modifier2: u8,
    /// Processes × cores of the node (informational).
    pub cores: u64,
    /// Busy workers of the node (informational).
    pub load: u64,
    /// Balancing weight as sent; 0 means 1.
    pub weight: u64,
    /// TLS key for the key's domain: a path or inline PEM.
    pub sni_key: Option<String>,
    /// TLS certificate (chain) for the key's domain: a path or inline PEM.
    pub sni_crt: Option<String>,
    /// Client-certificate CA: a path or inline PEM; a leading `!` makes it mandatory.
    pub sni_ca: Option<String>,
    /// A unix datagram path that wants an ack when a new node is added.
    pub notify: Option<String>,
    /// Signing time (unix seconds, plus modifier2), present on signed packets.
    pub unix: Option<u64>,
    /// The signature and what it covers, present on signed packets.
    pub signature: Option<Signature>,
    /// [2.1] backup level.
    pub backup: Option<u64>,
    /// [2.1] vassal name.
    pub vassal: Option<String>,
    /// [2.1] upstream protocol; berth reads `http` as a plain HTTP node, anything else as uwsgi.
    pub proto: Option<String>,
    /// [2.1] per-slot balancing algorithm.
    pub algo: Option<String>,
    /// [2.1] inactive flag.
    pub inactive: Option<u64>,
    /// [2.1] clear flag: drop the address but keep the vassal.
    pub clear: Option<u64>,
}

/// Read a number the way `uwsgi_str_num` does: the leading digits, saturating.
fn number(value: &[u8]) -> u64 {
    value
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
}

fn text(value: &[u8], field: &'static str) -> Result<String, WireError> {
    String::from_utf8(value.to_vec()).map_err(|_| WireError::NotUtf8(field))
}

impl Subscription {
    /// An unsigned subscribe packet for `key` served at `address`, with uWSGI's defaults.
    pub fn new(key: impl Into<String>, address: impl Into<String>) -> Subscription {
        Subscription {
            kind: SubscriptionKind::Subscribe,
            key: key.into(),
            address: address.into(),
            modifier1: 0,
            modifier2: 0,
            cores: 1,
            load: 0,
            weight: 1,
            sni_key: None,
            sni_crt: None,
            sni_ca: None,
            notify: None,
            unix: None,
            signature: None,
            backup: None,
            vassal: None,
            proto: None,
            algo: None,
            inactive: None,
            clear: None,
        }
    }

    /// Parse a datagram. Entries after a malformed one are ignored, as uWSGI does; the
    /// key and address must be present, non-empty, at most 255 bytes and UTF-8.
    pub fn parse(datagram: &[u8]) -> Result<Subscription, WireError> {
        let packet = Packet::parse(datagram)?;
        if packet.header.modifier1 != SUBSCRIPTION_MODIFIER1 {
            return Err(WireError::NotSubscription(packet.header.modifier1));
        }
        let kind = match packet.header.modifier2 {
            0 => SubscriptionKind::Subscribe,
            1 => SubscriptionKind::Unsubscribe,
            other => return Err(WireError::UnknownSubscriptionKind(other)),
        };
        let mut sub = Subscription::new(String::new(), String::new());
        sub.kind = kind;
        sub.cores = 0;
        sub.weight = 0;
        let mut key = None;
        let mut address = None;
        for entry in Vars::new(packet.body) {
            let Ok(entry) = entry else { break };
            let v = entry.value;
            match entry.key {
                b"key" => key = Some(v),
                b"address" => address = Some(v),
                // C stores these in a uint8_t: keep the low byte, as it does.
                b"modifier1" => sub.modifier1 = (number(v) & 0xff) as u8,
                b"modifier2" => sub.modifier2 = (number(v) & 0xff) as u8,
                b"cores" => sub.cores = number(v),
                b"load" => sub.load = number(v),
                b"weight" => sub.weight = number(v),
                b"sni_key" => sub.sni_key = Some(text(v, "sni_key")?),
                b"sni_crt" => sub.sni_crt = Some(text(v, "sni_crt")?),
                b"sni_ca" => sub.sni_ca = Some(text(v, "sni_ca")?),
                b"notify" => sub.notify = Some(text(v, "notify")?),
                b"unix" => sub.unix = Some(number(v)),
                b"backup" => sub.backup = Some(number(v)),
                b"vassal" => sub.vassal = Some(text(v, "vassal")?),
                b"proto" => sub.proto = Some(text(v, "proto")?),
                b"algo" => sub.algo = Some(text(v, "algo")?),
                b"inactive" => sub.inactive = Some(number(v)),
                b"clear" => sub.clear = Some(number(v)),
                b"sign" => {
                    if entry.offset + 2 + 4 + 2 + v.len() != packet.body.len() {
                        return Err(WireError::SignNotLast);
                    }
                    sub.signature = Some(Signature {
                        signed_bytes: packet.body[..entry.offset].to_vec(),
                        signature: v.to_vec(),
                    });
                }
                _ => {}
            }
        }
        match key {
            Some(k) if !k.is_empty() && k.len() <= MAX_FIELD_LEN => sub.key = text(k, "key")?,
            _ => return Err(WireError::BadKey),
        }
        match address {
            Some(a) if !a.is_empty() && a.len() <= MAX_FIELD_LEN => {
                sub.address = text(a, "address")?
            }
            _ => return Err(WireError::BadAddress),
        }
        Ok(sub)
    }

    /// The weight to balance with: the sent weight, 0 counted as 1.
    pub fn effective_weight(&self) -> u64 {
        self.weight.max(1)
    }

    fn vars(&self) -> Result<VarsBuilder, WireError> {
        let mut b = VarsBuilder::with_capacity(256);
        b.push(b"key", self.key.as_bytes())?
            .push(b"address", self.address.as_bytes())?
            .push(b"modifier1", self.modifier1.to_string().as_bytes())?
            .push(b"modifier2", self.modifier2.to_string().as_bytes())?
            .push(b"cores", self.cores.to_string().as_bytes())?
            .push(b"load", self.load.to_string().as_bytes())?
            .push(b"weight", self.weight.to_string().as_bytes())?;
        let optional = [
            (&b"sni_key"[..], &self.sni_key),
            (b"sni_crt", &self.sni_crt),
            (b"sni_ca", &self.sni_ca),
            (b"notify", &self.notify),
            (b"vassal", &self.vassal),
            (b"proto", &self.proto),
            (b"algo", &self.algo),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                b.push(k, v.as_bytes())?;
            }
        }
        let numbers = [
            (&b"backup"[..], self.backup),
            (b"inactive", self.inactive),
            (b"clear", self.clear),
        ];
        for (k, v) in numbers {
            if let Some(v) = v {
                b.push(k, v.to_string().as_bytes())?;
            }
        }
        Ok(b)
    }

    /// The unsigned datagram (any `unix` and signature are left out).
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let body = self.vars()?.into_bytes();
        Packet::encode(SUBSCRIPTION_MODIFIER1, self.kind.modifier2(), &body)
    }

    /// The signed datagram, as uWSGI builds it: `unix = now + modifier2` is appended, the
    /// body so far is signed with RSA-SHA1 and the signature appended as `sign`.
    pub fn encode_signed(&self, key: &SigningKey, now: u64) -> Result<Vec<u8>, SignedEncodeError> {
        let mut b = self.vars()?;
        let unix = now + u64::from(self.kind.modifier2());
        b.push(b"unix", unix.to_string().as_bytes())?;
        let signature = key.sign(b.as_bytes())?;
        b.push(b"sign", &signature)?;
        Ok(Packet::encode(
            SUBSCRIPTION_MODIFIER1,
            self.kind.modifier2(),
            b.as_bytes(),
        )?)
    }
}

/// Why a signed subscription could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum SignedEncodeError {
    /// The packet does not fit the uwsgi framing.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The key could not sign.
    #[error(transparent)]
    Signing(#[from] SigningError),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The subscribe packet captured from uWSGI 2.0.21 in the spec (§2.3).
    fn captured() -> Vec<u8> {
        let mut b = VarsBuilder::new();
        for (k, v) in [
            ("key", "test.local:8080"),
            ("address", "127.0.0.1:13031"),
            ("modifier1", "0"),
            ("modifier2", "0"),
            ("cores", "1"),
            ("load", "0"),
            ("weight", "0"),
        ] {
            b.push(k.as_bytes(), v.as_bytes()).expect("push");
        }
        Packet::encode(224, 0, b.as_bytes()).expect("encode")
    }

    #[test]
    fn parses_the_captured_packet() {
        let bytes = captured();
        assert_eq!(&bytes[..4], &[0xe0, 0x6a, 0x00, 0x00]);
        let sub = Subscription::parse(&bytes).expect("parse");
        assert_eq!(sub.kind, SubscriptionKind::Subscribe);
        assert_eq!(sub.key, "test.local:8080");
        assert_eq!(sub.address, "127.0.0.1:13031");
        assert_eq!(sub.weight, 0);
        assert_eq!(sub.effective_weight(), 1);
        assert_eq!(sub.cores, 1);
        assert!(sub.signature.is_none());
        let mut unsub = bytes.clone();
        unsub[3] = 1;
        assert_eq!(
            Subscription::parse(&unsub).expect("parse").kind,
            SubscriptionKind::Unsubscribe
        );
    }

    #[test]
    fn refuses_what_uwsgi_refuses() {
        let mut bytes = captured();
        bytes[0] = 0;
        assert_eq!(
            Subscription::parse(&bytes),
            Err(WireError::NotSubscription(0))
        );
        let mut bytes = captured();
        bytes[3] = 7;
        assert_eq!(
            Subscription::parse(&bytes),
            Err(WireError::UnknownSubscriptionKind(7))
        );
        let long = "x".repeat(256);
        let b = Subscription::new(long, "127.0.0.1:1")
            .encode()
            .expect("encode");
        assert_eq!(Subscription::parse(&b), Err(WireError::BadKey));
        let b = Subscription::new("a", "").encode().expect("encode");
        assert_eq!(Subscription::parse(&b), Err(WireError::BadAddress));
    }

    #[test]
    fn numbers_stop_at_the_first_non_digit() {
        assert_eq!(number(b"17abc"), 17);
        assert_eq!(number(b"x1"), 0);
        assert_eq!(number(b"99999999999999999999999999"), u64::MAX);
    }

    #[test]
    fn a_truncated_tail_is_tolerated() {
        let mut bytes = captured();
        bytes.extend_from_slice(&[9, 0, b'x']);
        let len = u16::try_from(bytes.len() - 4).expect("fits");
        bytes[1..3].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            Subscription::parse(&bytes).expect("parse").key,
            "test.local:8080"
        );
    }

    #[test]
    fn signed_round_trip_covers_the_body_before_sign() {
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 1024).expect("key");
        let pem =
            rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&private, Default::default()).expect("pem");
        let key = SigningKey::from_pem(&pem).expect("signing key");
        let mut sub = Subscription::new("secure.local", "/run/s.sock");
        sub.sni_ca = Some("!/ca.pem".into());
        let bytes = sub.encode_signed(&key, 1_700_000_000).expect("sign");
        let parsed = Subscription::parse(&bytes).expect("parse");
        assert_eq!(parsed.unix, Some(1_700_000_000));
        let sig = parsed.signature.expect("signed");
        let sign_entry = 2 + 4 + 2 + sig.signature.len();
        assert_eq!(sig.signed_bytes, bytes[4..bytes.len() - sign_entry]);
        let public = key.verifying_key();
        assert!(public.verify(&sig.signed_bytes, &sig.signature));
        let mut tampered = sig.signed_bytes.clone();
        tampered[5] ^= 1;
        assert!(!public.verify(&tampered, &sig.signature));

        sub.kind = SubscriptionKind::Unsubscribe;
        let bytes = sub.encode_signed(&key, 1_700_000_000).expect("sign");
        assert_eq!(
            Subscription::parse(&bytes).expect("parse").unix,
            Some(1_700_000_001)
        );
    }

    #[test]
    fn sign_must_be_last() {
        let mut b = VarsBuilder::new();
        b.push(b"key", b"a")
            .and_then(|b| b.push(b"address", b"b"))
            .and_then(|b| b.push(b"sign", b"zz"))
            .and_then(|b| b.push(b"load", b"1"))
            .expect("push");
        let bytes = Packet::encode(224, 0, b.as_bytes()).expect("encode");
        assert_eq!(Subscription::parse(&bytes), Err(WireError::SignNotLast));
    }
}
