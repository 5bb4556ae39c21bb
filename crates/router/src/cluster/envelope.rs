//! What one member tells another about a cluster subscription: the vassal's datagram as it
//! was signed, the backend to use for it (the sender's cluster address) and, for
//! `ssl-cluster-domain`, the PEM material read on the sender (only ever sealed).

use serde::{Deserialize, Serialize};

/// A forwarded cluster subscription (JSON, then sealed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender's cluster address (`ip:port`), the backend the receiver subscribes.
    pub backend: String,
    /// The subscription datagram exactly as the vassal sent it (its signature intact).
    pub subscription: Vec<u8>,
    /// The domain's TLS material, when the subscription has some.
    pub tls: Option<TlsPems>,
}

/// A domain's PEM material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsPems {
    /// The private key.
    pub key: Vec<u8>,
    /// The certificate chain.
    pub crt: Vec<u8>,
    /// The client CA, and whether a client certificate is mandatory.
    pub ca: Option<(Vec<u8>, bool)>,
}

impl Envelope {
    /// The JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Read JSON bytes; `None` when they are not an envelope.
    pub fn from_bytes(bytes: &[u8]) -> Option<Envelope> {
        serde_json::from_slice(bytes).ok()
    }
}
