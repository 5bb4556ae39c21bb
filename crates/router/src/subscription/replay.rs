//! Anti-replay for signed subscriptions: per node, `unix` must grow strictly and stay
//! within a tolerance of the router's clock. The state is bounded ([`MAX_NODES`]) and can
//! be saved and restored ([`crate::subscription::replay_state`]), so a restart accepts nothing older.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

/// Nodes remembered at most. When full, the oldest are forgotten and the floor rises to
/// their time: a forgotten node's packets must then be newer than the floor.
pub const MAX_NODES: usize = 100_000;

/// Why a signed packet's time was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// No `unix` entry.
    #[error("signed packet without a unix time")]
    Missing,
    /// Too far from now.
    #[error("unix time {unix} is more than {tolerance_s} s from now ({now})")]
    OutOfWindow {
        /// The packet's time.
        unix: u64,
        /// The router's time.
        now: u64,
        /// The tolerance.
        tolerance_s: u64,
    },
    /// Not newer than the last accepted packet of the node.
    #[error("unix time {unix} is not after the last accepted {last} (replay?)")]
    NotNewer {
        /// The packet's time.
        unix: u64,
        /// The last accepted time.
        last: u64,
    },
}

/// Last accepted `unix` per (routing key, address); kept after a node leaves, so an old
/// packet cannot bring it back while it is still within the time window.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    state: Mutex<ReplayState>,
    dirty: AtomicBool,
    urgent: Notify,
}

/// What the guard remembers: the last time per node, and the floor every node's packets
/// must be newer than.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayState {
    /// Last accepted `unix` per (routing key, address).
    pub last: HashMap<(String, String), u64>,
    /// Packets of nodes not in `last` must be newer than this.
    pub floor: u64,
}

/// Seconds since the epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl ReplayGuard {
    /// Accept `unix` for the node if it is in the window and newer than the last one.
    pub fn check_and_record(
        &self,
        key: &str,
        address: &str,
        unix: Option<u64>,
        now: u64,
        tolerance: Duration,
    ) -> Result<(), ReplayError> {
        let unix = unix.ok_or(ReplayError::Missing)?;
        let tolerance_s = tolerance.as_secs();
        if unix.abs_diff(now) > tolerance_s {
            return Err(ReplayError::OutOfWindow {
                unix,
                now,
                tolerance_s,
            });
        }
        let Ok(mut state) = self.state.lock() else {
            return Err(ReplayError::Missing);
        };
        let node = (key.to_owned(), address.to_owned());
        let last = state.last.get(&node).copied().unwrap_or(state.floor);
        if unix <= last {
            return Err(ReplayError::NotNewer { unix, last });
        }
        if !state.last.contains_key(&node) && state.last.len() >= MAX_NODES {
            state.forget_oldest(MAX_NODES / 10);
        }
        state.last.insert(node, unix);
        drop(state);
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Forget nodes whose last time is out of the window anyway.
    pub fn purge(&self, now: u64, tolerance: Duration) {
        if let Ok(mut state) = self.state.lock() {
            state
                .last
                .retain(|_, unix| now.saturating_sub(*unix) <= tolerance.as_secs());
        }
    }

    /// A guard that starts from `state`.
    pub fn restored(state: ReplayState) -> ReplayGuard {
        ReplayGuard {
            state: Mutex::new(state),
            ..ReplayGuard::default()
        }
    }

    /// A copy of the state, to save.
    pub fn snapshot(&self) -> ReplayState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Ask for the state to be saved at once: the packet just accepted changed the routing
    /// table (a new node, an unsubscribe), so replaying an older one would matter.
    pub fn save_soon(&self) {
        self.urgent.notify_one();
    }

    /// Resolves when [`save_soon`](Self::save_soon) was called since the last time.
    pub async fn urgent(&self) {
        self.urgent.notified().await
    }

    /// Whether a packet was accepted since the last call.
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::Relaxed)
    }
}

impl ReplayState {
    /// Forget the `n` nodes with the oldest times, raising the floor to the newest of them.
    fn forget_oldest(&mut self, n: usize) {
        let mut times: Vec<u64> = self.last.values().copied().collect();
        times.sort_unstable();
        let Some(&cut) = times.get(n.min(times.len()).saturating_sub(1)) else {
            return;
        };
        self.floor = self.floor.max(cut);
        self.last.retain(|_, unix| *unix > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_within_the_window() {
        let g = ReplayGuard::default();
        let t = Duration::from_secs(60);
        assert_eq!(g.check_and_record("a", "x", Some(1000), 1000, t), Ok(()));
        assert!(matches!(
            g.check_and_record("a", "x", Some(1000), 1000, t),
            Err(ReplayError::NotNewer { .. })
        ));
        assert_eq!(g.check_and_record("a", "x", Some(1001), 1000, t), Ok(()));
        assert_eq!(g.check_and_record("a", "y", Some(1000), 1000, t), Ok(()));
        assert!(matches!(
            g.check_and_record("a", "x", Some(2000), 1000, t),
            Err(ReplayError::OutOfWindow { .. })
        ));
        assert_eq!(
            g.check_and_record("a", "x", None, 1000, t),
            Err(ReplayError::Missing)
        );
        g.purge(1100, t);
        assert_eq!(g.check_and_record("a", "x", Some(1090), 1100, t), Ok(()));
    }

    #[test]
    fn a_full_guard_forgets_the_oldest_below_a_floor() {
        let mut state = ReplayState::default();
        for i in 0..10u64 {
            state.last.insert(("k".into(), format!("n{i}")), 100 + i);
        }
        state.forget_oldest(3);
        assert_eq!(state.floor, 102);
        assert_eq!(state.last.len(), 7);
        let g = ReplayGuard::restored(state);
        let t = Duration::from_secs(60);
        assert!(matches!(
            g.check_and_record("k", "n0", Some(102), 110, t),
            Err(ReplayError::NotNewer { last: 102, .. })
        ));
        assert_eq!(g.check_and_record("k", "n0", Some(103), 110, t), Ok(()));
        assert!(matches!(
            g.check_and_record("k", "n9", Some(109), 110, t),
            Err(ReplayError::NotNewer { .. })
        ));
    }
}
