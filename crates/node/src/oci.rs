//! The part of the OCI runtime spec (1.0) berth writes as a bundle's `config.json`.

use serde::Serialize;

/// A bundle's `config.json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Spec {
    pub oci_version: &'static str,
    pub process: Process,
    pub root: Root,
    pub hostname: String,
    pub mounts: Vec<Mount>,
    pub linux: Linux,
}

/// The container's init.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Process {
    pub terminal: bool,
    pub user: User,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub capabilities: Capabilities,
    pub no_new_privileges: bool,
}

/// uid and gid of the init.
#[derive(Debug, Serialize)]
pub(crate) struct User {
    pub uid: u32,
    pub gid: u32,
}

/// Capability sets; berth gives none.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Capabilities {
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub inheritable: Vec<String>,
    pub permitted: Vec<String>,
    pub ambient: Vec<String>,
}

/// The root file system.
#[derive(Debug, Serialize)]
pub(crate) struct Root {
    pub path: String,
    pub readonly: bool,
}

/// One mount, in order.
#[derive(Debug, Serialize)]
pub(crate) struct Mount {
    pub destination: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub source: String,
    pub options: Vec<&'static str>,
}

/// Linux specifics.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Linux {
    pub resources: Resources,
    pub cgroups_path: String,
    pub namespaces: Vec<Namespace>,
    pub masked_paths: Vec<&'static str>,
    pub readonly_paths: Vec<&'static str>,
}

/// cgroup limits.
#[derive(Debug, Serialize)]
pub(crate) struct Resources {
    pub devices: Vec<DeviceRule>,
    pub memory: Memory,
}

/// A device cgroup rule.
#[derive(Debug, Serialize)]
pub(crate) struct DeviceRule {
    pub allow: bool,
    pub access: &'static str,
}

/// The memory limit.
#[derive(Debug, Serialize)]
pub(crate) struct Memory {
    pub limit: i64,
}

/// A namespace to create.
#[derive(Debug, Serialize)]
pub(crate) struct Namespace {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The paths runc hides by default.
pub(crate) const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

/// The paths runc makes read-only by default.
pub(crate) const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

impl Mount {
    /// A bind mount.
    pub fn bind(source: &str, destination: &str, options: &[&'static str]) -> Mount {
        let mut all = vec!["rbind"];
        all.extend_from_slice(options);
        Mount {
            destination: destination.to_owned(),
            kind: "bind",
            source: source.to_owned(),
            options: all,
        }
    }

    /// A kernel file system (proc, tmpfs, …).
    pub fn special(kind: &'static str, destination: &str, options: &[&'static str]) -> Mount {
        Mount {
            destination: destination.to_owned(),
            kind,
            source: kind.to_owned(),
            options: options.to_vec(),
        }
    }
}
