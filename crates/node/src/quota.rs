//! Per-container storage quotas. This kernel has no `CONFIG_QUOTA`, so ext4/xfs user quotas
//! cannot work; btrfs can: when the containers root is on btrfs, every home is a btrfs
//! subvolume whose qgroup limits what it references to the container's `storage` MB. Writes
//! beyond it fail with `EDQUOT` ("Disk quota exceeded"), and the qgroup's referenced bytes are
//! the container's disk usage.
//!
//! The node drives btrfs with the `btrfs` tool (btrfs-progs) rather than ioctls: the qgroup
//! ioctls and the tree search that reads usage need hand-laid C structs and `unsafe`, which
//! berth forbids, while `btrfs qgroup show --raw` gives a plain table. (Its `--format json`
//! is not used: btrfs-progs 6.2, Debian 12's, aborts on it once a limit is set.)

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::sys::statfs::{statfs, BTRFS_SUPER_MAGIC};

use crate::command::run;
use crate::error::NodeError;

/// The inode number of the root directory of every btrfs subvolume.
const SUBVOLUME_ROOT_INODE: u64 = 256;

/// Whether the node enforces storage quotas, and why not when it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Quota {
    /// The containers root is on btrfs with quotas enabled: homes are limited subvolumes.
    Btrfs,
    /// Quotas are off, for this reason.
    Off(String),
}

/// A home's disk usage and limit, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// What the home's subvolume references.
    pub used: i64,
    /// Its limit.
    pub limit: i64,
}

impl Quota {
    /// Quotas for homes under `root`: on when `root` is on btrfs and its quotas can be enabled
    /// (`btrfs quota enable`, which does nothing when they already are).
    pub fn detect(root: &Path) -> Quota {
        let fs_type = match statfs(root) {
            Ok(stat) => stat.filesystem_type(),
            Err(e) => return Quota::Off(format!("cannot statfs {}: {e}", root.display())),
        };
        if fs_type != BTRFS_SUPER_MAGIC {
            return Quota::Off(format!(
                "the containers root {} is not on btrfs (file system type {:#x}); this kernel \
                 has no CONFIG_QUOTA, so storage is limited only on btrfs subvolumes",
                root.display(),
                fs_type.0
            ));
        }
        match run("btrfs", &[Path::new("quota"), Path::new("enable"), root]) {
            Ok(_) => Quota::Btrfs,
            Err(e) => Quota::Off(format!("cannot enable btrfs quotas: {e}")),
        }
    }

    /// Create `home` as a subvolume when quotas are on and it does not exist yet (the caller
    /// then lays it out as any home).
    pub fn create_home(&self, home: &Path) -> Result<(), NodeError> {
        if *self != Quota::Btrfs || fs::symlink_metadata(home).is_ok() {
            return Ok(());
        }
        run(
            "btrfs",
            &[Path::new("subvolume"), Path::new("create"), home],
        )
        .map(|_| ())
    }

    /// Limit `home` to `limit` bytes (only when the limit differs) and read its usage;
    /// `None` when quotas are off. A home that is a plain directory (made before quotas were
    /// on) cannot be limited: that is an error naming the fix.
    pub fn enforce(&self, home: &Path, limit: i64) -> Result<Option<Usage>, NodeError> {
        if *self != Quota::Btrfs {
            return Ok(None);
        }
        let meta = fs::symlink_metadata(home).map_err(NodeError::io(home))?;
        if !meta.is_dir() || meta.ino() != SUBVOLUME_ROOT_INODE {
            return Err(NodeError::Tool {
                command: format!("quota of {}", home.display()),
                detail: "the home is not a btrfs subvolume (it was made before quotas were \
                         on): move its files into a new subvolume to limit it"
                    .to_owned(),
            });
        }
        let mut usage = show(home)?;
        if usage.limit != limit {
            let bytes = limit.to_string();
            run(
                "btrfs",
                &[
                    Path::new("qgroup"),
                    Path::new("limit"),
                    Path::new(&bytes),
                    home,
                ],
            )?;
            usage.limit = limit;
        }
        Ok(Some(usage))
    }
}

/// The usage and limit of the subvolume at `home` (limit 0: none).
fn show(home: &Path) -> Result<Usage, NodeError> {
    let args = [
        Path::new("qgroup"),
        Path::new("show"),
        Path::new("-rf"),
        Path::new("--raw"),
        home,
    ];
    let table = run("btrfs", &args)?;
    parse_show(&table).ok_or_else(|| NodeError::Tool {
        command: format!("btrfs qgroup show {}", home.display()),
        detail: format!("unexpected output: {table}"),
    })
}

/// The usage and limit in the table of `btrfs qgroup show -rf --raw`: its row of a level-0
/// qgroup, whose columns are the id, referenced, exclusive and max referenced bytes (`none`
/// when unlimited), then the path.
fn parse_show(table: &str) -> Option<Usage> {
    let row = table.lines().find(|line| line.starts_with("0/"))?;
    let columns: Vec<&str> = row.split_whitespace().collect();
    let used = columns.get(1)?.parse().ok()?;
    let limit = match *columns.get(3)? {
        "none" => 0,
        max => max.parse().ok()?,
    };
    Some(Usage { used, limit })
}

impl Usage {
    /// The quota alarm's message for the container of `uid` when its usage is at or past
    /// `threshold` percent of its `storage_mb` (a threshold of 0 or less: never).
    pub fn alarm(self, uid: u32, storage_mb: i64, threshold: i64) -> Option<String> {
        let percent = self.percent();
        (threshold > 0 && percent >= threshold).then(|| {
            format!(
                "container {uid}: disk usage at {percent}% of its {storage_mb} MB quota \
                 (threshold {threshold}%)"
            )
        })
    }

    /// The percentage of the limit used, rounded down (0 without a limit).
    fn percent(self) -> i64 {
        if self.limit <= 0 {
            return 0;
        }
        i64::try_from(i128::from(self.used) * 100 / i128::from(self.limit)).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_and_limit_are_read_from_the_qgroup_table() {
        let table = "Qgroupid    Referenced    Exclusive  Max referenced   Path \n\
                     --------    ----------    ---------  --------------   ---- \n\
                     0/256          1654784      1654784        20971520   31701\n";
        assert_eq!(
            parse_show(table),
            Some(Usage {
                used: 1_654_784,
                limit: 20_971_520
            })
        );
        let unlimited = "0/257 16384 16384 none 31702\n";
        assert_eq!(parse_show(unlimited).map(|u| u.limit), Some(0));
        assert_eq!(parse_show("ERROR: can't list qgroups\n"), None);
        assert_eq!(parse_show("0/256 12 x"), None);
    }

    #[test]
    fn the_alarm_sounds_at_the_threshold() {
        let usage = Usage {
            used: 90,
            limit: 100,
        };
        assert_eq!(
            usage.alarm(30009, 20, 90).as_deref(),
            Some("container 30009: disk usage at 90% of its 20 MB quota (threshold 90%)")
        );
        assert_eq!(usage.alarm(30009, 20, 91), None);
        assert_eq!(usage.alarm(30009, 20, 0), None);
    }

    #[test]
    fn usage_is_a_percentage_of_the_limit() {
        let usage = |used, limit| Usage { used, limit }.percent();
        assert_eq!(usage(90, 100), 90);
        assert_eq!(usage(899, 1000), 89);
        assert_eq!(usage(5, 0), 0);
        assert_eq!(usage(i64::MAX, 1), i64::MAX);
    }
}
