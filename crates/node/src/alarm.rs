//! System alarms (level 0): what the node itself raises about a container (its disk quota
//! nearly full, a process killed for lack of memory). Each is appended to the container's
//! `logs/emperor.log` and reported to the control plane, which stores it in the customer's
//! alarm ring. Like uWSGI's `alarm-freq`, an alarm of one kind is raised at most once per the
//! container's `alarm_freq` seconds.

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use berth_model::node::SystemAlarm;

use crate::home;

/// A kind of system alarm; each kind is throttled on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlarmKind {
    /// Disk usage crossed the container's `quota_threshold`.
    Quota,
    /// The kernel killed a process of the container: out of memory.
    OutOfMemory,
}

impl AlarmKind {
    fn name(self) -> &'static str {
        match self {
            AlarmKind::Quota => "quota",
            AlarmKind::OutOfMemory => "oom",
        }
    }
}

/// The current time, unix seconds.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whether an alarm of `kind` may be raised now: none was raised in the last `freq` seconds
/// (recorded in the bundle, root only, so that a node restart does not repeat one).
pub(crate) fn due(bundle: &Path, kind: AlarmKind, freq: i64, now: i64) -> bool {
    let last: Option<i64> = fs::read_to_string(record(bundle, kind))
        .ok()
        .and_then(|text| text.trim().parse().ok());
    last.is_none_or(|last| now.saturating_sub(last) >= freq || last > now)
}

/// Raise `msg` for the container of `uid` (the caller checked [`due`]): record the time,
/// append it to the Emperor's log, and return it for the node report.
pub(crate) fn raise(
    bundle: &Path,
    home: &Path,
    uid: u32,
    kind: AlarmKind,
    msg: String,
    now: i64,
) -> SystemAlarm {
    let path = record(bundle, kind);
    if let Err(error) = fs::write(&path, now.to_string()) {
        tracing::warn!(uid, path = %path.display(), %error, "cannot record an alarm");
    }
    if let Err(error) = home::append_log(home, uid, &format!("[berth alarm] {msg}")) {
        tracing::warn!(uid, %error, "cannot log an alarm to emperor.log");
    }
    tracing::info!(uid, msg, "system alarm");
    SystemAlarm {
        uid: i64::from(uid),
        unix: now,
        msg,
    }
}

/// Where the time of the last alarm of `kind` is kept.
fn record(bundle: &Path, kind: AlarmKind) -> std::path::PathBuf {
    bundle.join(format!("alarm.{}", kind.name()))
}
