//! Wall-clock time as the store keeps it: unix seconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}
