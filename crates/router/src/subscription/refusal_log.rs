//! Rate-limited logging of refused subscription packets (and of TLS material refused):
//! every refusal is counted by reason (the stats show the totals); within each interval
//! the first few are logged one by one, the rest only in one summary line at the end of the
//! interval. A flood of garbage datagrams writes a few lines, not one per datagram.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refusals logged one by one per interval; the rest go into the summary.
pub const DETAILED_PER_INTERVAL: u32 = 10;

/// The current interval.
#[derive(Debug)]
struct Window {
    started: Instant,
    detailed: u32,
    unlogged: BTreeMap<&'static str, u64>,
}

/// Counts refusals by reason and decides which get a log line.
#[derive(Debug)]
pub struct RefusalLog {
    interval: Duration,
    window: Mutex<Window>,
    totals: Mutex<BTreeMap<&'static str, u64>>,
}

impl RefusalLog {
    /// A log with one summary line per `interval` at most.
    pub fn new(interval: Duration) -> RefusalLog {
        RefusalLog {
            interval,
            window: Mutex::new(Window {
                started: Instant::now(),
                detailed: 0,
                unlogged: BTreeMap::new(),
            }),
            totals: Mutex::new(BTreeMap::new()),
        }
    }

    /// Count a refusal for `reason`; `log` writes its own line when it is among the first
    /// few of the interval. Returns whether it was logged.
    pub fn record(&self, reason: &'static str, log: impl FnOnce()) -> bool {
        if let Ok(mut totals) = self.totals.lock() {
            *totals.entry(reason).or_default() += 1;
        }
        let detailed = {
            let Ok(mut window) = self.window.lock() else {
                return false;
            };
            self.roll(&mut window);
            if window.detailed < DETAILED_PER_INTERVAL {
                window.detailed += 1;
                true
            } else {
                *window.unlogged.entry(reason).or_default() += 1;
                false
            }
        };
        if detailed {
            log();
        }
        detailed
    }

    /// End the interval if it is over (called every second, so a summary is not held back
    /// until the next refusal).
    pub fn tick(&self) {
        if let Ok(mut window) = self.window.lock() {
            self.roll(&mut window);
        }
    }

    /// Totals by reason since the start.
    pub fn totals(&self) -> BTreeMap<&'static str, u64> {
        self.totals.lock().map(|t| t.clone()).unwrap_or_default()
    }

    fn roll(&self, window: &mut Window) {
        if window.started.elapsed() < self.interval {
            return;
        }
        let unlogged: u64 = window.unlogged.values().sum();
        if unlogged > 0 {
            let reasons: Vec<String> = window
                .unlogged
                .iter()
                .map(|(reason, n)| format!("{reason}: {n}"))
                .collect();
            tracing::warn!(
                unlogged,
                "refused {unlogged} more subscriptions in the last {} s ({}), not logged one by one; totals in the router stats",
                window.started.elapsed().as_secs(),
                reasons.join(", ")
            );
        }
        window.started = Instant::now();
        window.detailed = 0;
        window.unlogged.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_logs_a_few_lines_and_counts_everything() {
        let log = RefusalLog::new(Duration::from_millis(100));
        let mut lines = 0;
        for i in 0..1000 {
            let reason = if i % 2 == 0 {
                "malformed"
            } else {
                "bad_signature"
            };
            if log.record(reason, || {}) {
                lines += 1;
            }
        }
        assert_eq!(lines, DETAILED_PER_INTERVAL);
        assert_eq!(log.totals().get("malformed"), Some(&500));
        assert_eq!(log.totals().get("bad_signature"), Some(&500));
        std::thread::sleep(Duration::from_millis(120));
        log.tick();
        assert!(log.record("malformed", || {}), "a new interval logs again");
    }
}
