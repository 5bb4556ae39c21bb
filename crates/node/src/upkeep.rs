//! What every round does for a converged container besides runc (storage quota and its
//! report, alarms, loopboxes), and the containers' resource usage sampled for the metrics.

use std::fs;
use std::time::{Duration, Instant};

use berth_model::node::{ContainerStatus, MetricPoint, SystemAlarm};

use crate::alarm::{AlarmKind, Alarms};
use crate::checked::Checked;
use crate::loopbox;
use crate::oom;
use crate::platform;
use crate::quota_report;
use crate::rootfs::CUSTOM_DISTRO_REFUSED;
use crate::runtime::Runtime;
use crate::usage;

/// How often the containers' resource usage is sampled for the metrics.
pub const USAGE_EVERY: Duration = Duration::from_secs(60);

impl Runtime {
    /// What a converged container needs every round besides runc: its storage limit and
    /// usage (with the quota alarm), the out-of-memory alarm, and its loopboxes.
    pub(crate) fn upkeep(
        &self,
        checked: &Checked<'_>,
        status: &mut ContainerStatus,
        raised: &mut Vec<SystemAlarm>,
    ) {
        let (uid, spec) = (checked.uid, checked.spec);
        let home = self.home(uid);
        let bundle = self.bundle(uid);
        let mut alarms = Alarms::new(&bundle, &home, uid, spec.alarm_freq, raised);
        let usage = match self.quota.enforce(&home, checked.storage_bytes) {
            Ok(Some(usage)) => {
                status.disk_used = Some(usage.used);
                if let Some(msg) = usage.alarm(uid, spec.storage, spec.quota_threshold) {
                    alarms.raise(AlarmKind::Quota, msg);
                }
                Ok(Some(usage))
            }
            other => other,
        };
        match usage {
            Ok(usage) => {
                if let Err(error) = quota_report::write(&platform::dir(&bundle), uid, &home, usage)
                {
                    tracing::warn!(uid, %error, "quota report");
                }
            }
            Err(error) => tracing::warn!(uid, %error, "storage quota"),
        }
        let refused = bundle.join(CUSTOM_DISTRO_REFUSED);
        if let Ok(msg) = fs::read_to_string(&refused) {
            if alarms.raise(AlarmKind::CustomDistro, msg) {
                let _ = fs::remove_file(&refused);
            }
        }
        if let Some(kills) = oom::kills(&self.cgroup(uid)) {
            let new = oom::unseen(&bundle, kills);
            if new > 0 && alarms.raise(AlarmKind::OutOfMemory, oom::alarm(uid, new, spec.memory)) {
                oom::mark_seen(&bundle, kills);
            }
        }
        if let Ok(Some(state)) = self.state(uid) {
            if state.is_running() {
                let mut notes = self
                    .loopbox_notes
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let notes = notes.entry(uid).or_default();
                loopbox::sync(&home, uid, state.pid, &spec.loopboxes, notes);
            }
        }
    }

    /// The resource usage of the running containers among `statuses`, as metric points
    /// (memory, CPU, block I/O, disk, network), sampled at most once per [`USAGE_EVERY`]: empty
    /// between samples.
    pub fn usage(&self, statuses: &[ContainerStatus]) -> Vec<MetricPoint> {
        {
            let mut last = self
                .last_usage
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < USAGE_EVERY) {
                return Vec::new();
            }
            *last = Some(Instant::now());
        }
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs() as i64);
        usage::sample_running(
            statuses,
            |uid| u32::try_from(uid).ok().map(|uid| self.cgroup(uid)),
            |uid| {
                let uid = u32::try_from(uid).ok()?;
                self.network.as_ref()?.traffic(uid)
            },
            unix,
        )
    }
}
