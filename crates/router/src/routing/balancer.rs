//! Choosing a node among a domain's live nodes.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::upstream::backend::Backend;

/// The balancing algorithm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Balancing {
    /// Weighted round robin, as uWSGI's default `wrr`.
    #[default]
    WeightedRoundRobin,
    /// Fewest requests in flight relative to weight (uWSGI's `wlrc`).
    LeastConnections,
}

impl std::str::FromStr for Balancing {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wrr" | "round-robin" => Ok(Balancing::WeightedRoundRobin),
            "lc" | "wlrc" | "least-connections" => Ok(Balancing::LeastConnections),
            other => Err(format!(
                "unknown balancing {other:?}: use round-robin or least-connections"
            )),
        }
    }
}

impl Balancing {
    /// Choose a live node, or `None` when every node is dead. The caller holds the slot's
    /// lock, so the round robin credits change atomically with respect to other picks.
    pub fn pick(self, nodes: &[Arc<Backend>]) -> Option<Arc<Backend>> {
        match self {
            Balancing::WeightedRoundRobin => wrr(nodes),
            Balancing::LeastConnections => least_connections(nodes),
        }
    }
}

/// uWSGI's wrr: the first live node with credit is chosen and spends one; when none has
/// credit, every live node gets `weight / min_weight` and the last live node is chosen.
fn wrr(nodes: &[Arc<Backend>]) -> Option<Arc<Backend>> {
    let live = || nodes.iter().filter(|n| n.is_live());
    if let Some(n) = live().find(|n| n.wrr_credit.load(Ordering::Relaxed) > 0) {
        n.wrr_credit.fetch_sub(1, Ordering::Relaxed);
        return Some(n.clone());
    }
    let min = live()
        .map(|n| n.weight.load(Ordering::Relaxed))
        .min()?
        .max(1);
    for n in live() {
        n.wrr_credit
            .store(n.weight.load(Ordering::Relaxed) / min, Ordering::Relaxed);
    }
    let last = live().next_back()?;
    let credit = last.wrr_credit.load(Ordering::Relaxed);
    last.wrr_credit
        .store(credit.saturating_sub(1), Ordering::Relaxed);
    Some(last.clone())
}

/// The live node with the smallest in-flight/weight ratio; the first one on ties.
fn least_connections(nodes: &[Arc<Backend>]) -> Option<Arc<Backend>> {
    nodes
        .iter()
        .filter(|n| n.is_live())
        .min_by(|a, b| {
            let (ra, wa) = (
                a.in_flight.load(Ordering::Relaxed),
                a.weight.load(Ordering::Relaxed),
            );
            let (rb, wb) = (
                b.in_flight.load(Ordering::Relaxed),
                b.weight.load(Ordering::Relaxed),
            );
            (u128::from(ra) * u128::from(wb)).cmp(&(u128::from(rb) * u128::from(wa)))
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::connection::Target;

    fn node(name: &str, weight: u64) -> Arc<Backend> {
        Arc::new(Backend::new(
            name.into(),
            Target::UwsgiUnix(name.into()),
            0,
            0,
            weight,
        ))
    }

    fn names(b: Balancing, nodes: &[Arc<Backend>], n: usize) -> String {
        (0..n)
            .filter_map(|_| b.pick(nodes))
            .map(|n| n.address.clone())
            .collect()
    }

    #[test]
    fn wrr_follows_uwsgi_order() {
        let nodes = [node("A", 1), node("B", 2)];
        assert_eq!(names(Balancing::WeightedRoundRobin, &nodes, 6), "BABBAB");
    }

    #[test]
    fn wrr_skips_dead_nodes() {
        let nodes = [node("A", 1), node("B", 1), node("C", 1)];
        nodes[1].mark_dead();
        assert_eq!(names(Balancing::WeightedRoundRobin, &nodes, 4), "CACA");
        nodes[0].mark_dead();
        nodes[2].mark_dead();
        assert!(Balancing::WeightedRoundRobin.pick(&nodes).is_none());
    }

    #[test]
    fn least_connections_prefers_idle_nodes() {
        let nodes = [node("A", 1), node("B", 1)];
        nodes[0].in_flight.store(3, Ordering::Relaxed);
        assert_eq!(names(Balancing::LeastConnections, &nodes, 1), "B");
        nodes[1].in_flight.store(5, Ordering::Relaxed);
        assert_eq!(names(Balancing::LeastConnections, &nodes, 1), "A");
        assert_eq!("least-connections".parse(), Ok(Balancing::LeastConnections));
        assert!("x".parse::<Balancing>().is_err());
    }
}
