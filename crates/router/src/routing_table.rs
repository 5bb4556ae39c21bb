//! The routing table: subscription key → slot of nodes (and the slot's TLS settings).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::balancer::Balancing;
use crate::host::dotsplit;
use crate::node::{Counters, Node, Target};
use crate::tls::DomainTls;

/// One subscription key and the nodes that serve it.
#[derive(Debug)]
pub struct Slot {
    /// The routing key (lower case, no port; a leading `.` for a wildcard).
    pub key: String,
    nodes: Mutex<Vec<Arc<Node>>>,
    tls: RwLock<Option<Arc<DomainTls>>>,
    /// Traffic counters of the domain.
    pub counters: Counters,
}

impl Slot {
    fn new(key: String) -> Slot {
        Slot {
            key,
            nodes: Mutex::new(Vec::new()),
            tls: RwLock::new(None),
            counters: Counters::default(),
        }
    }

    /// A copy of the node list.
    pub fn nodes(&self) -> Vec<Arc<Node>> {
        self.nodes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    /// The slot's TLS settings from its first SNI subscription, if any.
    pub fn tls(&self) -> Option<Arc<DomainTls>> {
        self.tls.read().ok().and_then(|t| t.clone())
    }

    fn pick(&self, balancing: Balancing) -> Option<Arc<Node>> {
        self.nodes.lock().ok().and_then(|n| balancing.pick(&n))
    }
}

/// What a subscribe did to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    /// A new slot was created for the key, with this node.
    NewSlot,
    /// A new node was added to an existing slot.
    NewNode,
    /// A known node announced itself again.
    Refreshed,
}

/// The fields of a subscription the table keeps.
#[derive(Debug, Clone)]
pub struct NodeAnnounce {
    /// Address as subscribed.
    pub address: String,
    /// How to reach it.
    pub target: Target,
    /// modifier1 for requests.
    pub modifier1: u8,
    /// modifier2 for requests.
    pub modifier2: u8,
    /// Weight (0 counts as 1).
    pub weight: u64,
    /// Announced cores.
    pub cores: u64,
    /// Announced load.
    pub load: u64,
}

/// Every slot, by routing key. Lookups take a read lock; subscriptions a write lock only
/// when a slot is created or dropped.
#[derive(Debug, Default)]
pub struct RoutingTable {
    slots: RwLock<HashMap<String, Arc<Slot>>>,
    balancing: Balancing,
}

impl RoutingTable {
    /// An empty table that balances with `balancing`.
    pub fn new(balancing: Balancing) -> RoutingTable {
        RoutingTable {
            slots: RwLock::new(HashMap::new()),
            balancing,
        }
    }

    /// The slot of exactly `key`.
    pub fn slot(&self, key: &str) -> Option<Arc<Slot>> {
        self.slots.read().ok()?.get(key).cloned()
    }

    /// Every slot (for stats).
    pub fn slots(&self) -> Vec<Arc<Slot>> {
        self.slots
            .read()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Route a key: the exact name, then its dotsplit suffixes; the first slot with a live
    /// node wins and that node is chosen.
    pub fn route(&self, key: &str) -> Option<(Arc<Slot>, Arc<Node>)> {
        let slots = self.slots.read().ok()?;
        dotsplit(key).find_map(|name| {
            let slot = slots.get(name)?;
            let node = slot.pick(self.balancing)?;
            Some((slot.clone(), node))
        })
    }

    /// The TLS settings for an SNI name: the first slot on its dotsplit walk that has any.
    pub fn tls_for(&self, key: &str) -> Option<(String, Arc<DomainTls>)> {
        let slots = self.slots.read().ok()?;
        dotsplit(key).find_map(|name| Some((name.to_owned(), slots.get(name)?.tls()?)))
    }

    /// Add or refresh a node of `key`.
    pub fn subscribe(&self, key: &str, announce: NodeAnnounce) -> Subscribed {
        let existing = self.slot(key);
        let (slot, created) = match existing {
            Some(slot) => (slot, false),
            None => match self.slots.write() {
                Ok(mut slots) => {
                    let mut created = false;
                    let slot = slots
                        .entry(key.to_owned())
                        .or_insert_with(|| {
                            created = true;
                            Arc::new(Slot::new(key.to_owned()))
                        })
                        .clone();
                    (slot, created)
                }
                Err(_) => return Subscribed::Refreshed,
            },
        };
        let Ok(mut nodes) = slot.nodes.lock() else {
            return Subscribed::Refreshed;
        };
        if let Some(node) = nodes.iter().find(|n| n.address == announce.address) {
            node.refresh(announce.weight, announce.cores, announce.load);
            return Subscribed::Refreshed;
        }
        let node = Node::new(
            announce.address,
            announce.target,
            announce.modifier1,
            announce.modifier2,
            announce.weight,
        );
        node.refresh(announce.weight, announce.cores, announce.load);
        nodes.push(Arc::new(node));
        if created {
            Subscribed::NewSlot
        } else {
            Subscribed::NewNode
        }
    }

    /// Give a slot its TLS settings unless it already has some (the first wins, as uWSGI).
    pub fn set_tls_if_absent(&self, key: &str, tls: Arc<DomainTls>) -> bool {
        let Some(slot) = self.slot(key) else {
            return false;
        };
        let Ok(mut current) = slot.tls.write() else {
            return false;
        };
        if current.is_some() {
            return false;
        }
        *current = Some(tls);
        true
    }

    /// Remove the node `address` of `key`; the slot goes with its last node. Returns
    /// whether a node was removed.
    pub fn unsubscribe(&self, key: &str, address: &str) -> bool {
        let Some(slot) = self.slot(key) else {
            return false;
        };
        let removed = match slot.nodes.lock() {
            Ok(mut nodes) => {
                let before = nodes.len();
                nodes.retain(|n| n.address != address);
                before != nodes.len()
            }
            Err(_) => false,
        };
        self.drop_if_empty(key);
        removed
    }

    fn drop_if_empty(&self, key: &str) {
        if let Ok(mut slots) = self.slots.write() {
            let empty = slots
                .get(key)
                .is_some_and(|s| s.nodes.lock().map(|n| n.is_empty()).unwrap_or(false));
            if empty {
                slots.remove(key);
                tracing::info!(key, "slot removed (no nodes left)");
            }
        }
    }

    /// Drop every node silent for longer than `tolerance`, and every slot left empty.
    /// Returns the (key, address) pairs dropped.
    pub fn expire(&self, tolerance: Duration) -> Vec<(String, String)> {
        let mut dropped = Vec::new();
        let mut emptied = Vec::new();
        for slot in self.slots() {
            if let Ok(mut nodes) = slot.nodes.lock() {
                nodes.retain(|n| {
                    let silent = n.silent_for();
                    let keep = silent <= tolerance;
                    if !keep {
                        tracing::info!(key = %slot.key, address = %n.address, silent_s = silent.as_secs(),
                            "marking node as failed (no announce received)");
                        dropped.push((slot.key.clone(), n.address.clone()));
                    }
                    keep
                });
                if nodes.is_empty() {
                    emptied.push(slot.key.clone());
                }
            }
        }
        for key in emptied {
            self.drop_if_empty(&key);
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announce(address: &str, weight: u64) -> NodeAnnounce {
        NodeAnnounce {
            address: address.into(),
            target: Target::UwsgiUnix(address.into()),
            modifier1: 0,
            modifier2: 0,
            weight,
            cores: 1,
            load: 0,
        }
    }

    #[test]
    fn subscribe_refresh_unsubscribe() {
        let t = RoutingTable::new(Balancing::WeightedRoundRobin);
        assert_eq!(t.subscribe("a.org", announce("/1", 1)), Subscribed::NewSlot);
        assert_eq!(t.subscribe("a.org", announce("/2", 1)), Subscribed::NewNode);
        assert_eq!(
            t.subscribe("a.org", announce("/1", 1)),
            Subscribed::Refreshed
        );
        assert_eq!(t.slot("a.org").map(|s| s.nodes().len()), Some(2));
        assert!(t.unsubscribe("a.org", "/1"));
        assert!(!t.unsubscribe("a.org", "/1"));
        assert!(t.unsubscribe("a.org", "/2"));
        assert!(t.slots().is_empty());
    }

    #[test]
    fn exact_beats_wildcard_and_dead_slots_fall_through() {
        let t = RoutingTable::new(Balancing::WeightedRoundRobin);
        t.subscribe(".example.org", announce("/wild", 1));
        t.subscribe("a.example.org", announce("/exact", 1));
        let route = |k: &str| t.route(k).map(|(_, n)| n.address.clone());
        assert_eq!(route("a.example.org").as_deref(), Some("/exact"));
        assert_eq!(route("b.a.example.org").as_deref(), Some("/wild"));
        assert_eq!(route("example.org"), None);
        if let Some(slot) = t.slot("a.example.org") {
            slot.nodes()[0].mark_dead();
        }
        assert_eq!(route("a.example.org").as_deref(), Some("/wild"));
        t.subscribe("a.example.org", announce("/exact", 1));
        assert_eq!(route("a.example.org").as_deref(), Some("/exact"));
    }

    #[test]
    fn expiry_drops_silent_nodes() {
        let t = RoutingTable::new(Balancing::WeightedRoundRobin);
        t.subscribe("a.org", announce("/1", 1));
        assert!(t.expire(Duration::from_secs(30)).is_empty());
        std::thread::sleep(Duration::from_millis(5));
        let dropped = t.expire(Duration::ZERO);
        assert_eq!(dropped, vec![("a.org".to_owned(), "/1".to_owned())]);
        assert!(t.route("a.org").is_none());
        assert!(t.slots().is_empty());
    }
}
