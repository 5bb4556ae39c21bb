//! The routing table: subscription key → slot of nodes (and the slot's TLS settings), and
//! who owns which name, so that a lookup never falls back to another owner's wildcard.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::routing::balancer::Balancing;
use crate::routing::domain_tls::DomainTls;
use crate::routing::host::dotsplit;
use crate::routing::ownership::{OwnerId, Ownership};
use crate::routing::tls_material::Material;
use crate::upstream::backend::{Backend, Counters};
use crate::upstream::connection::Target;

/// `Slot::owner` when nobody owns the slot (signing off, or a key from the directory).
const NO_OWNER: u64 = u64::MAX;

/// One subscription key and the nodes that serve it. Every node and the TLS settings of a
/// slot come from one owner: a subscription signed by another owner replaces them.
#[derive(Debug)]
pub struct Slot {
    /// The routing key (lower case, no port; a leading `.` for a wildcard).
    pub key: String,
    nodes: Mutex<Vec<Arc<Backend>>>,
    owner: AtomicU64,
    tls: RwLock<Option<(Material, Arc<DomainTls>)>>,
    /// Traffic counters of the domain.
    pub counters: Counters,
}

fn owner_bits(owner: Option<OwnerId>) -> u64 {
    owner.map_or(NO_OWNER, |o| u64::from(o.0))
}

impl Slot {
    fn new(key: String, owner: Option<OwnerId>) -> Slot {
        Slot {
            key,
            nodes: Mutex::new(Vec::new()),
            owner: AtomicU64::new(owner_bits(owner)),
            tls: RwLock::new(None),
            counters: Counters::default(),
        }
    }

    /// A copy of the node list.
    pub fn nodes(&self) -> Vec<Arc<Backend>> {
        self.nodes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    /// The slot's current TLS settings, if any SNI subscription brought usable ones.
    pub fn tls(&self) -> Option<Arc<DomainTls>> {
        self.tls
            .read()
            .ok()
            .and_then(|t| t.as_ref().map(|(_, tls)| tls.clone()))
    }

    /// The owner whose subscriptions fill the slot (`None`: ownership unknown).
    pub fn owner(&self) -> Option<OwnerId> {
        u32::try_from(self.owner.load(Ordering::Relaxed))
            .ok()
            .map(OwnerId)
    }

    /// Whether the slot may answer a name owned by `name_owner`: always for a name nobody
    /// owns (uWSGI's rule), else only when the slot has the same owner.
    fn may_answer(&self, name_owner: Option<OwnerId>) -> bool {
        name_owner.is_none() || self.owner() == name_owner
    }

    fn pick(&self, balancing: Balancing) -> Option<Arc<Backend>> {
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

/// The slots by routing key, and the ownership they are checked against, under one lock.
#[derive(Debug, Default)]
struct Inner {
    slots: HashMap<String, Arc<Slot>>,
    ownership: Arc<Ownership>,
}

impl Inner {
    /// The slots that may answer `key`, in the order of its dotsplit walk (the exact name
    /// first): those whose owner is the name's owner, or any when nobody owns the name.
    fn answering<'a>(&'a self, key: &'a str) -> impl Iterator<Item = (&'a str, &'a Arc<Slot>)> {
        let owner = self.ownership.owner_of(key);
        dotsplit(key).filter_map(move |name| {
            let slot = self.slots.get(name)?;
            slot.may_answer(owner).then_some((name, slot))
        })
    }
}

/// Every slot, by routing key. Lookups take a read lock; subscriptions a write lock only
/// when a slot is created or dropped, or the ownership map is replaced.
#[derive(Debug, Default)]
pub struct RoutingTable {
    inner: RwLock<Inner>,
    balancing: Balancing,
}

impl RoutingTable {
    /// An empty table that balances with `balancing`.
    pub fn new(balancing: Balancing) -> RoutingTable {
        RoutingTable {
            inner: RwLock::new(Inner::default()),
            balancing,
        }
    }

    /// The slot of exactly `key`.
    pub fn slot(&self, key: &str) -> Option<Arc<Slot>> {
        self.inner.read().ok()?.slots.get(key).cloned()
    }

    /// Every slot (for stats).
    pub fn slots(&self) -> Vec<Arc<Slot>> {
        self.inner
            .read()
            .map(|s| s.slots.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The ownership map lookups are checked against.
    pub fn ownership(&self) -> Arc<Ownership> {
        self.inner
            .read()
            .map(|i| i.ownership.clone())
            .unwrap_or_default()
    }

    /// Replace the ownership map (a new revision of the control plane's domain map).
    pub fn set_ownership(&self, ownership: Arc<Ownership>) {
        if let Ok(mut inner) = self.inner.write() {
            inner.ownership = ownership;
        }
    }

    /// Route a key: the exact name, then its dotsplit suffixes; the first slot with a live
    /// node that may answer the name (see [`Ownership::owner_of`]) wins and that node is
    /// chosen.
    pub fn route(&self, key: &str) -> Option<(Arc<Slot>, Arc<Backend>)> {
        let inner = self.inner.read().ok()?;
        let routed = inner.answering(key).find_map(|(_, slot)| {
            let node = slot.pick(self.balancing)?;
            Some((slot.clone(), node))
        });
        routed
    }

    /// The TLS settings for an SNI name: the first slot on its dotsplit walk that may answer
    /// the name and has any.
    pub fn tls_for(&self, key: &str) -> Option<(String, Arc<DomainTls>)> {
        let inner = self.inner.read().ok()?;
        let found = inner
            .answering(key)
            .find_map(|(name, slot)| Some((name.to_owned(), slot.tls()?)));
        found
    }

    /// Add or refresh a node of `key` for `owner`. A subscription from another owner than
    /// the slot's (the name changed hands) empties the slot first: nodes and TLS settings.
    pub fn subscribe(
        &self,
        key: &str,
        announce: NodeAnnounce,
        owner: Option<OwnerId>,
    ) -> Subscribed {
        let existing = self.slot(key);
        let (slot, created) = match existing {
            Some(slot) => (slot, false),
            None => match self.inner.write() {
                Ok(mut inner) => {
                    let mut created = false;
                    let slot = inner
                        .slots
                        .entry(key.to_owned())
                        .or_insert_with(|| {
                            created = true;
                            Arc::new(Slot::new(key.to_owned(), owner))
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
        if slot.owner.load(Ordering::Relaxed) != owner_bits(owner) {
            tracing::info!(
                key,
                dropped = nodes.len(),
                "the name has a new owner: its nodes and TLS settings are dropped"
            );
            nodes.clear();
            if let Ok(mut tls) = slot.tls.write() {
                *tls = None;
            }
            slot.owner.store(owner_bits(owner), Ordering::Relaxed);
        }
        if let Some(node) = nodes.iter().find(|n| n.address == announce.address) {
            node.refresh(announce.weight, announce.cores, announce.load);
            return Subscribed::Refreshed;
        }
        let node = Backend::new(
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

    /// Whether node `address` of `key` brings TLS material to build: material the node did
    /// not announce last time (it is recorded as the node's now) and the slot does not use.
    /// Nodes that keep announcing the material they always did never take the slot back,
    /// and material that could not be used is not tried again until it changes.
    pub fn wants_tls(&self, key: &str, address: &str, material: Material) -> bool {
        let Some(slot) = self.slot(key) else {
            return false;
        };
        let node = slot
            .nodes
            .lock()
            .ok()
            .and_then(|nodes| nodes.iter().find(|n| n.address == address).cloned());
        if !node.is_some_and(|n| n.announce_material(material)) {
            return false;
        }
        slot.tls
            .read()
            .is_ok_and(|t| t.as_ref().map(|(m, _)| *m) != Some(material))
    }

    /// Make `tls`, built from `material`, the TLS settings of `key`: the newest wins.
    /// Returns whether the slot still exists.
    pub fn set_tls(&self, key: &str, material: Material, tls: Arc<DomainTls>) -> bool {
        let Some(slot) = self.slot(key) else {
            return false;
        };
        let Ok(mut current) = slot.tls.write() else {
            return false;
        };
        *current = Some((material, tls));
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
        if let Ok(mut inner) = self.inner.write() {
            let empty = inner
                .slots
                .get(key)
                .is_some_and(|s| s.nodes.lock().map(|n| n.is_empty()).unwrap_or(false));
            if empty {
                inner.slots.remove(key);
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
        assert_eq!(
            t.subscribe("a.org", announce("/1", 1), None),
            Subscribed::NewSlot
        );
        assert_eq!(
            t.subscribe("a.org", announce("/2", 1), None),
            Subscribed::NewNode
        );
        assert_eq!(
            t.subscribe("a.org", announce("/1", 1), None),
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
        t.subscribe(".example.org", announce("/wild", 1), None);
        t.subscribe("a.example.org", announce("/exact", 1), None);
        let route = |k: &str| t.route(k).map(|(_, n)| n.address.clone());
        assert_eq!(route("a.example.org").as_deref(), Some("/exact"));
        assert_eq!(route("b.a.example.org").as_deref(), Some("/wild"));
        assert_eq!(route("example.org"), None);
        if let Some(slot) = t.slot("a.example.org") {
            slot.nodes()[0].mark_dead();
        }
        assert_eq!(route("a.example.org").as_deref(), Some("/wild"));
        t.subscribe("a.example.org", announce("/exact", 1), None);
        assert_eq!(route("a.example.org").as_deref(), Some("/exact"));
    }

    #[test]
    fn another_owners_wildcard_never_answers_an_owned_name() {
        let t = RoutingTable::new(Balancing::WeightedRoundRobin);
        let (a, b) = (Some(OwnerId(1)), Some(OwnerId(2)));
        t.set_ownership(Arc::new(Ownership::of_owners([
            (".p.example.net".to_owned(), OwnerId(1)),
            ("shop.p.example.net".to_owned(), OwnerId(2)),
        ])));
        t.subscribe(".p.example.net", announce("/a-wild", 1), a);
        t.subscribe("own.p.example.net", announce("/a-own", 1), a);
        let route = |k: &str| t.route(k).map(|(_, n)| n.address.clone());
        assert_eq!(route("x.p.example.net").as_deref(), Some("/a-wild"));
        assert_eq!(route("own.p.example.net").as_deref(), Some("/a-own"));
        assert_eq!(route("shop.p.example.net"), None, "B's name, B has no node");
        t.subscribe("shop.p.example.net", announce("/b", 1), b);
        assert_eq!(route("shop.p.example.net").as_deref(), Some("/b"));
        if let Some(slot) = t.slot("shop.p.example.net") {
            slot.nodes()[0].mark_dead();
        }
        assert_eq!(route("shop.p.example.net"), None, "B's node is down");
        assert_eq!(
            route("deep.shop.p.example.net"),
            None,
            "under B's name: B's"
        );
        // The name changes hands: the new owner's subscription replaces the old nodes.
        assert_eq!(
            t.subscribe("own.p.example.net", announce("/b-own", 1), b),
            Subscribed::NewNode
        );
        assert_eq!(
            t.slot("own.p.example.net").map(|s| s.nodes().len()),
            Some(1)
        );
    }

    #[test]
    fn the_newest_tls_material_wins_and_old_announces_do_not_take_it_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tls = Arc::new(crate::routing::domain_tls::tests::domain_tls(dir.path()));
        let t = RoutingTable::new(Balancing::WeightedRoundRobin);
        let (old, new) = (
            Material::of("k", "old", None),
            Material::of("k", "new", None),
        );
        t.subscribe("a.org", announce("/1", 1), None);
        t.subscribe("a.org", announce("/2", 1), None);
        assert!(t.wants_tls("a.org", "/1", old));
        assert!(t.set_tls("a.org", old, tls.clone()));
        assert!(!t.wants_tls("a.org", "/1", old), "/1 announces it again");
        assert!(!t.wants_tls("a.org", "/2", old), "already in use");
        assert!(t.wants_tls("a.org", "/2", new), "/2 switched");
        t.set_tls("a.org", new, tls);
        assert!(!t.wants_tls("a.org", "/1", old), "/1 does not take it back");
        assert!(!t.wants_tls("a.org", "/2", new));
        assert!(!t.wants_tls("a.org", "/3", new), "no such node");
        assert!(t.slot("a.org").and_then(|s| s.tls()).is_some());
    }

    #[test]
    fn expiry_drops_silent_nodes() {
        let t = RoutingTable::new(Balancing::WeightedRoundRobin);
        t.subscribe("a.org", announce("/1", 1), None);
        assert!(t.expire(Duration::from_secs(30)).is_empty());
        std::thread::sleep(Duration::from_millis(5));
        let dropped = t.expire(Duration::ZERO);
        assert_eq!(dropped, vec![("a.org".to_owned(), "/1".to_owned())]);
        assert!(t.route("a.org").is_none());
        assert!(t.slots().is_empty());
    }
}
