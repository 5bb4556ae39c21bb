//! berth node: the server agent. It takes a server's [`DesiredState`] (fetched from the
//! control plane over `/node/v1`, however obtained) and makes the machine match it: one runc
//! container per [`ContainerSpec`], whose init is the customer's uWSGI Emperor watching
//! `<home>/vassals`, with the platform's shortcut options (`domain`, `ssl-domain`, …)
//! injected into every vassal.
//!
//! The reconciler ([`Runtime::reconcile`]) is idempotent and keeps no state of its own beyond
//! what it finds on disk and in runc, so after a node restart it adopts the containers that
//! still run instead of starting them twice.
//!
//! Each round it also keeps every running container in line: the home's storage limit and
//! usage when the containers root is on btrfs (a qgroup-limited subvolume per home), the
//! system alarms (disk quota threshold, out of memory) for the node report and the
//! container's `logs/emperor.log`, and its loopboxes (ext4 images of the home mounted in the
//! container's own mount namespace).
//!
//! A server in legions holds their failover address with keepalived, which the node runs
//! as its child and reloads when a legion changes ([`Legions`]).
//!
//! [`DesiredState`]: berth_model::node::DesiredState
//! [`ContainerSpec`]: berth_model::node::ContainerSpec

mod alarm;
mod beneath;
mod cgroup;
mod checked;
mod cluster_peers;
mod command;
mod config;
mod control;
pub mod distro;
mod error;
mod home;
mod http_control;
mod legion;
mod loopbox;
mod mounts;
mod network;
mod oci;
mod oom;
mod platform;
mod quota;
mod quota_report;
mod reconcile;
mod rootfs;
mod runc;
mod runtime;
mod shortcuts;
pub mod ssh;
mod teardown;
mod tunnel;
mod upkeep;
mod usage;
mod vpn;

pub use config::NodeConfig;
pub use control::{step, ControlPlane};
pub use error::NodeError;
pub use http_control::HttpControlPlane;
pub use legion::{keepalived_conf, LegionChange, LegionConfig, Legions};
pub use network::{NetworkConfig, GATEWAY};
pub use reconcile::{Change, Reconciliation};
pub use runc::{container_id, uid_of_container_id, RuncState};
pub use runtime::Runtime;
pub use shortcuts::SHORTCUTS_INI;
pub use teardown::{detach_mounts_below, remove_tree};
