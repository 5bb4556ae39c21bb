//! Reading the containers' cgroup files, in either cgroup version.

use std::fs;
use std::path::Path;
use std::str::FromStr;

/// Where the cgroup file systems are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The first of `files` (paths under the cgroup root, e.g. the v1 and the v2 name of one
/// value) that can be read.
pub(crate) fn read_first(files: &[String]) -> Option<String> {
    files
        .iter()
        .find_map(|file| fs::read_to_string(Path::new(CGROUP_ROOT).join(file)).ok())
}

/// The host directories of the cgroup `cgroup` (`/berth/30009`), each with where it appears
/// under the container's `/run/cgroup`: on cgroup v1 the memory and cpu controllers
/// (`memory`, `cpu`), on v2 the one unified directory (``).
pub(crate) fn container_dirs(cgroup: &str) -> Vec<(String, &'static str)> {
    let relative = cgroup.trim_start_matches('/');
    let root = Path::new(CGROUP_ROOT);
    if root.join("cgroup.controllers").exists() {
        return vec![(format!("{CGROUP_ROOT}/{relative}"), "")];
    }
    let mut dirs = Vec::new();
    if root.join("memory").is_dir() {
        dirs.push((format!("{CGROUP_ROOT}/memory/{relative}"), "memory"));
    }
    for cpu in ["cpu,cpuacct", "cpu"] {
        if root.join(cpu).is_dir() {
            dirs.push((format!("{CGROUP_ROOT}/{cpu}/{relative}"), "cpu"));
            break;
        }
    }
    dirs
}

/// The value of the `name N` line of a cgroup key-value file (`memory.stat`,
/// `memory.events`, `cpu.stat`, …).
pub(crate) fn field<T: FromStr>(text: &str, name: &str) -> Option<T> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_cgroup_files_are_read_by_name() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        let v2 = "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(field::<u64>(v1, "oom_kill"), Some(3));
        assert_eq!(field::<u64>(v2, "oom_kill"), Some(2));
        assert_eq!(field::<u64>("oom_kill x\n", "oom_kill"), None);
        assert_eq!(field::<u64>("", "oom_kill"), None);
        let stat = "cache 10\nrss 20\ntotal_cache 30\ntotal_rss 40\n";
        assert_eq!(field::<i64>(stat, "total_rss"), Some(40));
        assert_eq!(field::<i64>(stat, "rss"), Some(20));
        assert_eq!(field::<i64>(stat, "anon"), None);
    }
}
