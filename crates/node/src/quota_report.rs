//! `quota` inside every container (the quickstart's "To check your diskspace: quota -s").
//!
//! The storage limit is a btrfs qgroup, which quota(1) of the quota package cannot read, so
//! the platform ships its own `quota`: a small POSIX shell program in the platform layer of
//! `/usr` (`/usr/bin/quota`, on every PATH, also in custom distros) that prints a report the
//! node renders each round from the qgroup it already reads, in quota-tools' own layout
//! (quota 4.06, Debian 12): `quota -s` (`--human-readable`) in K, M, G and T, plain `quota`
//! in 1K blocks. The reports live in the root-owned platform directory (`/berth/quota.human`,
//! `/berth/quota.blocks`), so the customer can read but not forge them.
//!
//! btrfs limits bytes, not files: the files columns show 0 used, no quota and no limit.

use std::fs;
use std::path::Path;

use crate::error::NodeError;
use crate::quota::Usage;

/// The `quota` program, as written into the platform layer of `/usr`.
pub(crate) const QUOTA_PROGRAM: &str = r#"#!/bin/sh
# quota(1) of a berth container: the use and limit of the container's storage as the node
# last read them, in quota's own layout; -s (--human-readable) in K/M/G/T, else 1K blocks.
report=/berth/quota.blocks
for arg in "$@"; do
    case "$arg" in
        --human-readable*) report=/berth/quota.human ;;
        --*) ;;
        -*s*) report=/berth/quota.human ;;
    esac
done
if [ ! -r "$report" ]; then
    echo "quota: the storage use of this container is not known yet" >&2
    exit 1
fi
while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "$line"
done < "$report"
"#;

/// The report of `quota -s`, in the platform directory.
pub(crate) const HUMAN_REPORT: &str = "quota.human";

/// The report of plain `quota`, in the platform directory.
pub(crate) const BLOCKS_REPORT: &str = "quota.blocks";

/// quota-tools' space2str: KiB as a number with a K, M, G or T suffix (rounded up), the
/// largest unit that still gives at least 100 of it.
fn human_space(kib: u64) -> String {
    for (shift, suffix) in [(30, 'T'), (20, 'G'), (10, 'M')] {
        let unit = 1u64 << shift;
        if kib >= unit * 100 {
            return format!("{}{suffix}", kib.div_ceil(unit));
        }
    }
    format!("{kib}K")
}

/// What quota(1) prints for the container of `uid` whose storage is `filesystem` (its home),
/// with `usage` (`None`: no limit) in human units or 1K blocks.
pub(crate) fn render(uid: u32, filesystem: &str, usage: Option<Usage>, human: bool) -> String {
    let heading = format!("Disk quotas for user {uid} (uid {uid}): ");
    let Some(usage) = usage.filter(|usage| usage.limit > 0) else {
        return format!("{heading}none\n");
    };
    let used = u64::try_from(usage.used).unwrap_or(0).div_ceil(1024);
    let limit = u64::try_from(usage.limit).unwrap_or(0).div_ceil(1024);
    if used == 0 {
        return format!("{heading}no limited resources used\n");
    }
    let space = |kib: u64| {
        if human {
            human_space(kib)
        } else {
            kib.to_string()
        }
    };
    let mut out = format!(
        "{heading}\n{:>15}{:>8} {:>7}{:>8}{:>8}{:>8} {:>7}{:>8}{:>8}\n",
        "Filesystem",
        if human { "space" } else { "blocks" },
        "quota",
        "limit",
        "grace",
        "files",
        "quota",
        "limit",
        "grace"
    );
    if filesystem.len() > 15 {
        out.push_str(&format!("{filesystem}\n{:15}", ""));
    } else {
        out.push_str(&format!("{filesystem:>15}"));
    }
    let over = if used >= limit { '*' } else { ' ' };
    out.push_str(&format!(
        " {:>7}{over} {:>6} {:>7} {:>7}",
        space(used),
        space(limit),
        space(limit),
        ""
    ));
    out.push_str(&format!(" {:>7}  {:>6} {:>7} {:>7}\n", "0", "0", "0", ""));
    out
}

/// Write both reports of the container of `uid` into `platform` (its `/berth`), each only
/// when it changed.
pub(crate) fn write(
    platform: &Path,
    uid: u32,
    home: &Path,
    usage: Option<Usage>,
) -> Result<(), NodeError> {
    let filesystem = home.to_string_lossy();
    for (name, human) in [(HUMAN_REPORT, true), (BLOCKS_REPORT, false)] {
        let report = render(uid, &filesystem, usage, human);
        let path = platform.join(name);
        if fs::read_to_string(&path).is_ok_and(|old| old == report) {
            continue;
        }
        let staged = platform.join(format!(".{name}.new"));
        fs::write(&staged, &report).map_err(NodeError::io(&staged))?;
        fs::rename(&staged, &path).map_err(NodeError::io(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER_S: &str =
        "     Filesystem   space   quota   limit   grace   files   quota   limit   grace\n";

    #[test]
    fn human_units_follow_quota_tools() {
        assert_eq!(human_space(0), "0K");
        assert_eq!(human_space(99), "99K");
        assert_eq!(human_space(1616), "1616K");
        assert_eq!(human_space(102_399), "102399K");
        assert_eq!(human_space(102_400), "100M");
        assert_eq!(human_space(1_024_000), "1000M");
        assert_eq!(human_space(1_024_001), "1001M");
        assert_eq!(human_space(100 << 20), "100G");
    }

    #[test]
    fn the_report_has_quotas_layout() {
        let usage = Usage {
            used: 1_654_784,
            limit: 1000 << 20,
        };
        assert_eq!(
            render(30009, "/containers/30009", Some(usage), true),
            format!(
                "Disk quotas for user 30009 (uid 30009): \n{HEADER_S}/containers/30009\n\
                 {:15}   1616K   1000M   1000M               0       0       0        \n",
                ""
            )
        );
        let blocks = render(30009, "/c/30009", Some(usage), false);
        assert!(blocks.contains("Filesystem  blocks   quota"), "{blocks}");
        assert!(blocks.ends_with(
            "       /c/30009    1616  1024000 1024000               0       0       0        \n"
        ), "{blocks:?}");
        let full = render(
            30009,
            "/c",
            Some(Usage {
                used: 5 << 20,
                limit: 5 << 20,
            }),
            true,
        );
        assert!(full.contains("   5120K*  5120K   5120K"), "{full}");
    }

    #[test]
    fn without_a_limit_there_is_none() {
        assert_eq!(
            render(30009, "/containers/30009", None, true),
            "Disk quotas for user 30009 (uid 30009): none\n"
        );
        assert_eq!(
            render(30009, "/c", Some(Usage { used: 0, limit: 10 }), false),
            "Disk quotas for user 30009 (uid 30009): no limited resources used\n"
        );
    }
}
