//! The legion's members and key, from a JSON file the router re-reads every second:
//! `{"key": "<64 hex digits>", "members": ["192.0.2.1:1999", …]}` (every member's cluster
//! address, this server's included). Without a readable file the router has no members:
//! the cluster listener refuses everyone and nothing is forwarded.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::watch;

use crate::cluster::seal::SealKey;

/// The file's shape.
#[derive(Debug, Deserialize)]
struct PeersFile {
    key: String,
    members: Vec<SocketAddr>,
}

/// One reading of the file.
#[derive(Debug)]
pub struct PeerSet {
    /// The legion's key.
    pub key: SealKey,
    /// Every member's cluster address.
    pub members: Vec<SocketAddr>,
}

impl PeerSet {
    /// Parse the file's text; `None` when it is not valid.
    pub fn parse(text: &str) -> Option<PeerSet> {
        let file: PeersFile = serde_json::from_str(text).ok()?;
        let key = SealKey::new(&hex(&file.key)?)?;
        Some(PeerSet {
            key,
            members: file.members,
        })
    }

    /// Whether `ip` is a member's address.
    pub fn is_member(&self, ip: IpAddr) -> bool {
        self.members.iter().any(|m| m.ip() == ip)
    }
}

/// Hex digits to bytes.
fn hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The members as last read.
#[derive(Debug, Default)]
pub struct Peers {
    path: Option<PathBuf>,
    text: RwLock<String>,
    current: RwLock<Option<Arc<PeerSet>>>,
}

impl Peers {
    /// Members read from `path` (none until [`Peers::reload`] reads it).
    pub fn new(path: Option<PathBuf>) -> Peers {
        Peers {
            path,
            ..Peers::default()
        }
    }

    /// The current members, if any.
    pub fn current(&self) -> Option<Arc<PeerSet>> {
        self.current.read().ok()?.clone()
    }

    /// Whether `ip` is a current member's address.
    pub fn is_member(&self, ip: IpAddr) -> bool {
        self.current().is_some_and(|set| set.is_member(ip))
    }

    /// Re-read the file; a changed text replaces the members (an invalid or missing file
    /// leaves none).
    pub fn reload(&self) {
        let Some(path) = &self.path else {
            return;
        };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if self.text.read().map(|t| *t == text).unwrap_or(false) {
            return;
        }
        let set = PeerSet::parse(&text).map(Arc::new);
        match &set {
            Some(s) => tracing::info!(members = s.members.len(), "cluster members read"),
            None => tracing::warn!(path = %path.display(), "no usable cluster members file"),
        }
        if let (Ok(mut t), Ok(mut c)) = (self.text.write(), self.current.write()) {
            *t = text;
            *c = set;
        }
    }
}

/// Re-read the members every second until `shutdown` turns true.
pub async fn follow(peers: Arc<Peers>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let p = peers.clone();
                let _ = tokio::task::spawn_blocking(move || p.reload()).await;
            }
            _ = crate::stopped(&mut shutdown) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_members_and_key() {
        let key = "00".repeat(32);
        let text = format!(r#"{{"key":"{key}","members":["192.0.2.1:1999","192.0.2.2:1999"]}}"#);
        let set = PeerSet::parse(&text).expect("valid");
        assert!(set.is_member("192.0.2.2".parse().expect("ip")));
        assert!(!set.is_member("192.0.2.200".parse().expect("ip")));
        assert!(PeerSet::parse(r#"{"key":"abc","members":[]}"#).is_none());
        assert!(PeerSet::parse("not json").is_none());
    }
}
