//! The out-of-memory alarm: the kernel counts, in each memory cgroup, the processes its OOM
//! killer killed there (cgroup v1 `memory.oom_control`, v2 `memory.events`, both as
//! `oom_kill N`). The node compares that counter with the count it already raised an alarm
//! for, kept in the container's bundle.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cgroup;

/// The file holding the kill count already raised an alarm for.
const SEEN: &str = "oom_kills";

/// How many processes the kernel killed for lack of memory in the cgroup `cgroup`
/// (`/berth/30009`) since it was created; `None` when neither cgroup version has it.
pub(crate) fn kills(cgroup: &str) -> Option<u64> {
    let relative = cgroup.trim_start_matches('/');
    cgroup::read_first(&[
        format!("memory/{relative}/memory.oom_control"),
        format!("{relative}/memory.events"),
    ])
    .and_then(|text| cgroup::field(&text, "oom_kill"))
}

/// Kills not alarmed yet: `now` minus the count recorded in `bundle` (reset to 0 whenever the
/// container starts with a new cgroup). A count below the recorded one means the cgroup was
/// made anew anyway: all are new.
pub(crate) fn unseen(bundle: &Path, now: u64) -> u64 {
    let seen: u64 = fs::read_to_string(seen_file(bundle))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0);
    if now < seen {
        now
    } else {
        now - seen
    }
}

/// The out-of-memory alarm's message (uwsgi.it's, with the count) for `new` kills in the
/// container of `uid` limited to `memory_mb`.
pub(crate) fn alarm(uid: u32, new: u64, memory_mb: i64) -> String {
    let processes = if new == 1 { "process" } else { "processes" };
    format!(
        "container {uid}: OUT OF MEMORY !!! ({new} {processes} killed at the {memory_mb} MB limit)"
    )
}

/// Record that the alarm covers `count` kills.
pub(crate) fn mark_seen(bundle: &Path, count: u64) {
    let path = seen_file(bundle);
    if let Err(error) = fs::write(&path, count.to_string()) {
        tracing::warn!(path = %path.display(), %error, "cannot record the OOM kills seen");
    }
}

fn seen_file(bundle: &Path) -> PathBuf {
    bundle.join(SEEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restarted_cgroup_counts_from_zero() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(unseen(dir.path(), 2), 2);
        mark_seen(dir.path(), 2);
        assert_eq!(unseen(dir.path(), 2), 0);
        assert_eq!(unseen(dir.path(), 5), 3);
        assert_eq!(unseen(dir.path(), 1), 1);
    }
}
