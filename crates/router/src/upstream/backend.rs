//! A backend: one address (a uWSGI node) subscribed under one key, with its live state and
//! counters.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::routing::tls_material::Material;
use crate::upstream::connection::{IdleConns, Target};

/// Per-node counters, exported by the stats server.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests sent to the node (or, for a domain, routed to it).
    pub requests: AtomicU64,
    /// Request body bytes received from clients.
    pub bytes_in: AtomicU64,
    /// Response body bytes sent to clients.
    pub bytes_out: AtomicU64,
    /// Requests that failed: connect errors, upstream errors, timeouts.
    pub errors: AtomicU64,
}

impl Counters {
    /// Add `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// One backend of a domain.
#[derive(Debug)]
pub struct Backend {
    /// The address exactly as subscribed (the node's identity within its key).
    pub address: String,
    /// How to reach it.
    pub target: Target,
    /// modifier1 of the first packet (uWSGI does not update it on refresh).
    pub modifier1: u8,
    /// modifier2 of the first packet.
    pub modifier2: u8,
    /// Balancing weight, at least 1.
    pub weight: AtomicU64,
    /// Announced cores (informational).
    pub cores: AtomicU64,
    /// Announced load (informational).
    pub load: AtomicU64,
    /// When the last announce arrived.
    pub last_seen: Mutex<Instant>,
    /// Set when a connect failed; cleared by the next announce.
    pub dead: AtomicBool,
    /// Requests in flight (for least-connections and stats).
    pub in_flight: AtomicU64,
    /// Weighted round robin credit; only touched under the slot's lock.
    pub wrr_credit: AtomicU64,
    /// Connect failures so far.
    pub failures: AtomicU64,
    /// Traffic counters.
    pub counters: Counters,
    /// Idle keep-alive connections of an HTTP node.
    pub http_pool: IdleConns,
    /// The TLS material the node announced last, if any.
    tls_material: Mutex<Option<Material>>,
}

impl Backend {
    /// A fresh, live node.
    pub fn new(
        address: String,
        target: Target,
        modifier1: u8,
        modifier2: u8,
        weight: u64,
    ) -> Backend {
        Backend {
            address,
            target,
            modifier1,
            modifier2,
            weight: AtomicU64::new(weight.max(1)),
            cores: AtomicU64::new(0),
            load: AtomicU64::new(0),
            last_seen: Mutex::new(Instant::now()),
            dead: AtomicBool::new(false),
            in_flight: AtomicU64::new(0),
            wrr_credit: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            counters: Counters::default(),
            http_pool: IdleConns::default(),
            tls_material: Mutex::new(None),
        }
    }

    /// Whether the node may be chosen.
    pub fn is_live(&self) -> bool {
        !self.dead.load(Ordering::Relaxed)
    }

    /// Record an announce: alive again, seen now, new weight/cores/load.
    pub fn refresh(&self, weight: u64, cores: u64, load: u64) {
        self.dead.store(false, Ordering::Relaxed);
        self.weight.store(weight.max(1), Ordering::Relaxed);
        self.cores.store(cores, Ordering::Relaxed);
        self.load.store(load, Ordering::Relaxed);
        if let Ok(mut seen) = self.last_seen.lock() {
            *seen = Instant::now();
        }
    }

    /// Time since the last announce.
    pub fn silent_for(&self) -> std::time::Duration {
        self.last_seen
            .lock()
            .map(|seen| seen.elapsed())
            .unwrap_or_default()
    }

    /// Record the TLS material of an announce; whether it differs from the last one.
    pub fn announce_material(&self, material: Material) -> bool {
        match self.tls_material.lock() {
            Ok(mut last) => last.replace(material) != Some(material),
            Err(_) => false,
        }
    }

    /// Mark the node dead after a failed connect.
    pub fn mark_dead(&self) {
        self.dead.store(true, Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.http_pool.clear();
    }
}
