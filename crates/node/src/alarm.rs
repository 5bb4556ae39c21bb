//! System alarms (level 0): what the node itself raises about a container (its disk quota
//! nearly full, a process killed for lack of memory, a custom distro it could not boot). Each is appended to the container's
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
    /// The container's custom distro could not be used: it runs on its platform distro.
    CustomDistro,
}

impl AlarmKind {
    fn name(self) -> &'static str {
        match self {
            AlarmKind::Quota => "quota",
            AlarmKind::OutOfMemory => "oom",
            AlarmKind::CustomDistro => "custom_distro",
        }
    }
}

/// The current time, unix seconds.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The alarms of one container in one round: raised through [`Alarms::raise`], throttled
/// by the container's `alarm_freq` (the time of the last alarm of each kind is kept in the
/// bundle, root only, so that a node restart does not repeat one).
pub(crate) struct Alarms<'a> {
    bundle: &'a Path,
    home: &'a Path,
    uid: u32,
    freq: i64,
    now: i64,
    raised: &'a mut Vec<SystemAlarm>,
}

impl<'a> Alarms<'a> {
    /// The alarms of the container of `uid`, collected into `raised`.
    pub fn new(
        bundle: &'a Path,
        home: &'a Path,
        uid: u32,
        freq: i64,
        raised: &'a mut Vec<SystemAlarm>,
    ) -> Alarms<'a> {
        Alarms {
            bundle,
            home,
            uid,
            freq,
            now: now(),
            raised,
        }
    }

    /// Raise `msg` unless an alarm of `kind` was raised less than `alarm_freq` seconds ago:
    /// record the time, append it to the Emperor's log, add it to the report. Whether it was
    /// raised.
    pub fn raise(&mut self, kind: AlarmKind, msg: String) -> bool {
        let path = record(self.bundle, kind);
        let last: Option<i64> = fs::read_to_string(&path)
            .ok()
            .and_then(|text| text.trim().parse().ok());
        let due =
            last.is_none_or(|last| self.now.saturating_sub(last) >= self.freq || last > self.now);
        if !due {
            return false;
        }
        let uid = self.uid;
        if let Err(error) = fs::write(&path, self.now.to_string()) {
            tracing::warn!(uid, path = %path.display(), %error, "cannot record an alarm");
        }
        if let Err(error) = home::append_log(self.home, uid, &format!("[berth alarm] {msg}")) {
            tracing::warn!(uid, %error, "cannot log an alarm to emperor.log");
        }
        tracing::info!(uid, msg, "system alarm");
        self.raised.push(SystemAlarm {
            uid: i64::from(uid),
            unix: self.now,
            msg,
        });
        true
    }
}

/// Where the time of the last alarm of `kind` is kept.
fn record(bundle: &Path, kind: AlarmKind) -> std::path::PathBuf {
    bundle.join(format!("alarm.{}", kind.name()))
}
