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

/// What makes one container's `config.json` besides its mounts.
pub(crate) struct Container<'a> {
    /// uid and gid of its processes.
    pub uid: u32,
    /// Its home: `HOME` and the working directory.
    pub home: &'a str,
    /// The init's command line.
    pub args: Vec<String>,
    /// The bundle's root directory.
    pub rootfs: String,
    /// Its host name.
    pub hostname: &'a str,
    /// Its memory limit.
    pub memory_bytes: i64,
    /// Its cgroup (`/berth/30009`).
    pub cgroups_path: String,
    /// Whether it gets a cgroup namespace of its own (cgroup v2).
    pub cgroup_namespace: bool,
}

impl Spec {
    /// A container's spec: its init as the container's user without capabilities, its own
    /// namespaces, the read-only root, no devices, the memory limit.
    pub fn container(container: Container<'_>, mounts: Vec<Mount>) -> Spec {
        let Container { uid, home, .. } = container;
        Spec {
            oci_version: "1.0.2",
            process: Process {
                terminal: false,
                user: User { uid, gid: uid },
                args: container.args,
                env: vec![
                    "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".to_owned(),
                    format!("HOME={home}"),
                    format!("USER={uid}"),
                    "LANG=C.UTF-8".to_owned(),
                ],
                cwd: home.to_owned(),
                capabilities: Capabilities::default(),
                no_new_privileges: true,
            },
            root: Root {
                path: container.rootfs,
                readonly: true,
            },
            hostname: container.hostname.to_owned(),
            mounts,
            linux: Linux {
                resources: Resources {
                    devices: vec![DeviceRule {
                        allow: false,
                        access: "rwm",
                    }],
                    memory: Memory {
                        limit: container.memory_bytes,
                    },
                },
                cgroups_path: container.cgroups_path,
                namespaces: ["pid", "network", "ipc", "uts", "mount"]
                    .into_iter()
                    .chain(container.cgroup_namespace.then_some("cgroup"))
                    .map(|kind| Namespace { kind })
                    .collect(),
                masked_paths: MASKED_PATHS.to_vec(),
                readonly_paths: READONLY_PATHS.to_vec(),
            },
        }
    }
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
    pub options: Vec<String>,
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
    pub fn bind(source: &str, destination: &str, options: &[&str]) -> Mount {
        let mut all = vec!["rbind".to_owned()];
        all.extend(options.iter().map(|option| (*option).to_owned()));
        Mount {
            destination: destination.to_owned(),
            kind: "bind",
            source: source.to_owned(),
            options: all,
        }
    }

    /// A read-only overlay of the directories `lower`, the first on top (no upper directory:
    /// nothing can be written to it). `None` when a path holds a character the overlay's
    /// option syntax reserves (`:`, `,`, `\`).
    pub fn overlay(lower: &[&str], destination: &str, options: &[&str]) -> Option<Mount> {
        if lower
            .iter()
            .any(|dir| dir.is_empty() || dir.contains([':', ',', '\\']))
        {
            return None;
        }
        let mut all: Vec<String> = options.iter().map(|option| (*option).to_owned()).collect();
        all.push(format!("lowerdir={}", lower.join(":")));
        Some(Mount {
            destination: destination.to_owned(),
            kind: "overlay",
            source: "overlay".to_owned(),
            options: all,
        })
    }

    /// A kernel file system (proc, tmpfs, …).
    pub fn special(kind: &'static str, destination: &str, options: &[&str]) -> Mount {
        Mount {
            destination: destination.to_owned(),
            kind,
            source: kind.to_owned(),
            options: options.iter().map(|option| (*option).to_owned()).collect(),
        }
    }
}
