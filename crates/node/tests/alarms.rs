//! Storage quotas on btrfs and the system alarms (quota threshold, out of memory), against
//! real runc containers (needs root, `runc`, `btrfs-progs`, `python3`, as CI has).

mod support;

use std::process::Command;
use std::sync::Mutex;
use std::thread::sleep;
use std::time::Duration;

use berth_node::{step, Change};
use support::storage::{fixture_on_btrfs, fixture_on_tmpfs};
use support::{desired, fixture, MEMORY_MB};

const MIB: i64 = 1 << 20;

#[test]
fn storage_is_enforced_on_btrfs_reported_and_alarmed_at_most_once_per_alarm_freq() {
    let f = fixture_on_btrfs(300);
    assert_eq!(f.runtime.quota_off_reason(), None);
    let uid = 31701;
    let mut spec = f.spec(uid.into());
    spec.storage = 20;
    spec.quota_threshold = 50;
    spec.alarm_freq = 3600;

    let done = f.runtime.reconcile(&desired(vec![spec.clone()]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    assert_eq!(done.changes, vec![Change::Started(uid)]);
    assert!(done.alarms.is_empty(), "{:?}", done.alarms);
    let used = done.statuses[0].disk_used.expect("usage reported");
    assert!(used < MIB, "a fresh home uses {used} bytes");
    // The home is a subvolume of its own, limited to the storage.
    let show = Command::new("btrfs")
        .args(["subvolume", "show"])
        .arg(f.home(uid))
        .output()
        .expect("btrfs");
    assert!(show.status.success());
    assert!(String::from_utf8_lossy(&show.stdout).contains("Limit referenced:\t20.00MiB"));

    // 12 of 20 MB: past the 50% threshold, one alarm, in the report and in emperor.log.
    let (ok, _, err) = f.run_as_customer(uid, "dd if=/dev/zero of=$HOME/a bs=1M count=12 && sync");
    assert!(ok, "{err}");
    let done = f.runtime.reconcile(&desired(vec![spec.clone()]));
    assert!(done.changes.is_empty());
    let used = done.statuses[0].disk_used.expect("usage reported");
    assert!((12 * MIB..14 * MIB).contains(&used), "{used}");
    assert_eq!(done.alarms.len(), 1, "{:?}", done.alarms);
    let alarm = &done.alarms[0];
    assert_eq!(alarm.uid, i64::from(uid));
    assert!(alarm.msg.contains("disk usage at 6"), "{}", alarm.msg);
    assert!(alarm.msg.contains("20 MB quota"), "{}", alarm.msg);
    assert!(f.emperor_log(uid).contains(&alarm.msg));
    // "To check your diskspace: quota -s", in quota's own layout; plain quota in 1K blocks.
    let home = f.home(uid);
    let (ok, quota, err) = f.run_as_customer(uid, "quota -s");
    assert!(ok, "{err}");
    let lines: Vec<&str> = quota.lines().collect();
    assert_eq!(
        lines[0],
        format!("Disk quotas for user {uid} (uid {uid}): ")
    );
    assert_eq!(
        lines[1],
        "     Filesystem   space   quota   limit   grace   files   quota   limit   grace"
    );
    assert_eq!(lines[2], home.display().to_string());
    let columns: Vec<&str> = lines[3].split_whitespace().collect();
    // quota-tools switches to M from 100M up: 20 MB reads 20480K.
    let used_kib = (used + 1023) / 1024;
    let used_human = format!("{used_kib}K");
    assert_eq!(
        columns,
        [used_human.as_str(), "20480K", "20480K", "0", "0", "0"],
        "{quota}"
    );
    let (ok, blocks, _) = f.run_as_customer(uid, "quota");
    assert!(ok);
    assert!(blocks.contains("Filesystem  blocks   quota"), "{blocks}");
    let columns: Vec<&str> = blocks
        .lines()
        .nth(3)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        columns[..3],
        [used_kib.to_string(), "20480".to_owned(), "20480".to_owned()]
    );

    // Not again within alarm_freq.
    let done = f.runtime.reconcile(&desired(vec![spec.clone()]));
    assert!(done.alarms.is_empty(), "{:?}", done.alarms);

    // Writes beyond the quota fail.
    let (ok, _, err) = f.run_as_customer(uid, "dd if=/dev/zero of=$HOME/b bs=1M count=30 && sync");
    assert!(!ok, "30 MB more fitted in a 20 MB quota");
    assert!(err.contains("Disk quota exceeded"), "{err}");

    // A larger storage applies without a restart; a shorter alarm_freq lets the alarm repeat.
    spec.storage = 100;
    spec.alarm_freq = 1;
    sleep(Duration::from_millis(1100));
    let done = f.runtime.reconcile(&desired(vec![spec.clone()]));
    assert!(done.changes.is_empty(), "{:?}", done.changes);
    assert_eq!(done.alarms.len(), 0, "20% of 100 MB is under the threshold");
    let (ok, _, err) = f.run_as_customer(
        uid,
        "rm -f $HOME/b && dd if=/dev/zero of=$HOME/b bs=1M count=50 && sync",
    );
    assert!(ok, "{err}");
    let done = f.runtime.reconcile(&desired(vec![spec.clone()]));
    assert_eq!(done.alarms.len(), 1, "{:?}", done.alarms);
    sleep(Duration::from_millis(1100));
    let done = f.runtime.reconcile(&desired(vec![spec]));
    assert_eq!(done.alarms.len(), 1, "the alarm repeats after alarm_freq");
    assert_eq!(f.emperor_log(uid).matches("[berth alarm]").count(), 3);
}

#[test]
fn without_btrfs_quotas_are_off_and_say_why() {
    let f = fixture_on_tmpfs();
    let why = f.runtime.quota_off_reason().expect("quotas are off");
    assert!(why.contains("not on btrfs"), "{why}");
    let uid = 31702;
    let done = f.runtime.reconcile(&desired(vec![f.spec(uid.into())]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    assert_eq!(done.statuses[0].disk_used, None);
}

#[test]
fn an_app_killed_for_lack_of_memory_raises_one_oom_alarm_in_the_report_and_the_log() {
    let f = fixture();
    let uid = 31703;
    let control = support::FakeControlPlane {
        state: desired(vec![f.spec(uid.into())]),
        reports: Mutex::default(),
    };
    step(&control, &f.runtime, None).expect("step");
    assert!(control.reports.lock().expect("lock")[0].alarms.is_empty());

    let (ok, _, _) = f.run_as_customer(uid, "python3 -c 'b = bytearray(256 << 20); print(len(b))'");
    assert!(!ok, "a process exceeded the memory limit and lived");
    step(&control, &f.runtime, None).expect("step");
    step(&control, &f.runtime, None).expect("step");

    let reports = control.reports.lock().expect("lock");
    assert_eq!(reports[1].alarms.len(), 1, "{:?}", reports[1].alarms);
    let alarm = &reports[1].alarms[0];
    assert_eq!(alarm.uid, i64::from(uid));
    assert!(
        alarm
            .msg
            .starts_with(&format!("container {uid}: OUT OF MEMORY !!!")),
        "{}",
        alarm.msg
    );
    assert!(reports[2].alarms.is_empty(), "one kill, one alarm");
    let log = f.emperor_log(uid);
    assert!(
        log.contains(&format!("[berth alarm] {}", alarm.msg)),
        "{log}"
    );
    drop(reports);

    // After a restart (a new cgroup, counting from zero) the next kill raises an alarm again.
    let mut spec = f.spec(uid.into());
    spec.last_reboot = 2;
    spec.alarm_freq = 0;
    let done = f.runtime.reconcile(&desired(vec![spec.clone()]));
    assert_eq!(done.changes, vec![Change::Restarted(uid)]);
    assert!(done.alarms.is_empty(), "{:?}", done.alarms);
    let (ok, _, _) = f.run_as_customer(uid, "python3 -c 'b = bytearray(256 << 20); print(len(b))'");
    assert!(!ok);
    let done = f.runtime.reconcile(&desired(vec![spec]));
    assert_eq!(done.alarms.len(), 1, "{:?}", done.alarms);
    assert!(
        done.alarms[0]
            .msg
            .contains(&format!("(1 process killed at the {MEMORY_MB} MB limit)")),
        "{}",
        done.alarms[0].msg
    );
}
