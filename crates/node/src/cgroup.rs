//! The containers' cgroup files, in either cgroup version: reading them, and how a container
//! sees its own.

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

/// Where the container's own cgroup appears inside it.
pub(crate) const VIEW: &str = "/run/cgroup";

/// The names cgroup v1 gave the two values the quickstart reads, each with the cgroup v2 file
/// of the same meaning (the memory in use, the limit, in bytes).
pub(crate) const V1_NAMES: &[(&str, &str)] = &[
    ("memory.usage_in_bytes", "memory.current"),
    ("memory.limit_in_bytes", "memory.max"),
];

/// The files of a cgroup v2 directory shown under [`VIEW`] (those a kernel lacks, or whose
/// controller is not enabled, are dangling links): the core's, the memory controller's and
/// the pressure, cpu, io and pids accounting.
const V2_FILES: &[&str] = &[
    "cgroup.controllers",
    "cgroup.events",
    "cgroup.procs",
    "cgroup.stat",
    "cgroup.threads",
    "cgroup.type",
    "cpu.max",
    "cpu.pressure",
    "cpu.stat",
    "cpu.weight",
    "io.pressure",
    "io.stat",
    "memory.current",
    "memory.events",
    "memory.events.local",
    "memory.high",
    "memory.low",
    "memory.max",
    "memory.min",
    "memory.numa_stat",
    "memory.oom.group",
    "memory.peak",
    "memory.pressure",
    "memory.stat",
    "memory.swap.current",
    "memory.swap.events",
    "memory.swap.high",
    "memory.swap.max",
    "pids.current",
    "pids.events",
    "pids.max",
];

/// How the container sees its own cgroup (`/berth/30009`) at [`VIEW`], read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum View {
    /// cgroup v1: the memory controller's directory of the cgroup is bound at [`VIEW`] itself,
    /// so its files (`memory.usage_in_bytes`, `memory.limit_in_bytes`, `memory.stat`, …) are
    /// at its top level, as the quickstart reads them.
    V1Memory(String),
    /// cgroup v2: the container gets its own cgroup namespace and the cgroup file system at
    /// `/sys/fs/cgroup` (its own cgroup as the root), and [`VIEW`] is a directory of links
    /// to those files, plus the two v1 names of [`V1_NAMES`].
    V2,
    /// No memory controller: nothing to show.
    None,
}

/// The view of the cgroup `cgroup` on this host.
pub(crate) fn view(cgroup: &str) -> View {
    let root = Path::new(CGROUP_ROOT);
    if root.join("cgroup.controllers").exists() {
        return View::V2;
    }
    if root.join("memory").is_dir() {
        let relative = cgroup.trim_start_matches('/');
        return View::V1Memory(format!("{CGROUP_ROOT}/memory/{relative}"));
    }
    View::None
}

/// (Re)write `dir` as the cgroup v2 view: a link per file of [`V2_FILES`] to
/// `/sys/fs/cgroup/<file>`, and the v1 names to their v2 files.
pub(crate) fn write_v2_view(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    let links = V2_FILES
        .iter()
        .map(|file| (*file, *file))
        .chain(V1_NAMES.iter().copied());
    for (name, file) in links {
        std::os::unix::fs::symlink(format!("/sys/fs/cgroup/{file}"), dir.join(name))?;
    }
    Ok(())
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
    fn the_v2_view_links_the_files_and_the_v1_names() {
        let dir = tempfile::tempdir().expect("dir");
        let view = dir.path().join("cgroup");
        write_v2_view(&view).expect("view");
        write_v2_view(&view).expect("rewritten");
        let link = |name: &str| fs::read_link(view.join(name)).expect("link");
        assert_eq!(
            link("memory.usage_in_bytes"),
            Path::new("/sys/fs/cgroup/memory.current")
        );
        assert_eq!(
            link("memory.limit_in_bytes"),
            Path::new("/sys/fs/cgroup/memory.max")
        );
        assert_eq!(link("memory.stat"), Path::new("/sys/fs/cgroup/memory.stat"));
    }

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
