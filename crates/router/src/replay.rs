//! Anti-replay for signed subscriptions: per node, `unix` must grow strictly and stay
//! within a tolerance of the router's clock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    last: Mutex<HashMap<(String, String), u64>>,
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
        let Ok(mut last) = self.last.lock() else {
            return Err(ReplayError::Missing);
        };
        let entry = last
            .entry((key.to_owned(), address.to_owned()))
            .or_insert(0);
        if unix <= *entry {
            return Err(ReplayError::NotNewer { unix, last: *entry });
        }
        *entry = unix;
        Ok(())
    }

    /// Forget nodes whose last time is out of the window anyway.
    pub fn purge(&self, now: u64, tolerance: Duration) {
        if let Ok(mut last) = self.last.lock() {
            last.retain(|_, unix| now.saturating_sub(*unix) <= tolerance.as_secs());
        }
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
}
