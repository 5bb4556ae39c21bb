//! The container specs the node accepts: what it checks before it touches anything.

use berth_model::node::ContainerSpec;

use crate::error::NodeError;
use crate::rootfs::DistroRoot;

/// The lowest uid a container may have (uwsgi.it's 30000): never a system account.
const MIN_UID: i64 = 30000;

/// A container spec checked to be safe to realise.
pub(crate) struct Checked<'a> {
    /// The container's uid, a container's (at least 30000).
    pub uid: u32,
    /// Its memory limit in bytes.
    pub memory_bytes: i64,
    /// Its storage limit in bytes.
    pub storage_bytes: i64,
    /// The spec as sent.
    pub spec: &'a ContainerSpec,
}

/// Refuse what cannot be realised safely.
pub(crate) fn check(spec: &ContainerSpec) -> Result<Checked<'_>, NodeError> {
    let invalid = |reason: String| NodeError::InvalidSpec {
        uid: spec.uid,
        reason,
    };
    let uid = u32::try_from(spec.uid)
        .ok()
        .filter(|&u| i64::from(u) >= MIN_UID && u != u32::MAX)
        .ok_or_else(|| invalid(format!("uid must be in {MIN_UID}..{}", u32::MAX)))?;
    let memory_bytes = spec
        .memory
        .checked_mul(1 << 20)
        .filter(|_| spec.memory > 0)
        .ok_or_else(|| invalid(format!("bad memory limit {} MB", spec.memory)))?;
    let storage_bytes = spec
        .storage
        .checked_mul(1 << 20)
        .filter(|_| spec.storage > 0)
        .ok_or_else(|| invalid(format!("bad storage {} MB", spec.storage)))?;
    let hostname = &spec.hostname;
    if hostname.is_empty()
        || hostname.len() > 63
        || !hostname
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(invalid(format!("bad hostname {hostname:?}")));
    }
    // Before anything is touched: a running container whose distro went missing keeps
    // running. (A custom distro is checked at start: the platform distro stands in for it.)
    DistroRoot::platform(&spec.distro.path).map_err(invalid)?;
    if !spec
        .customer_private_key_pem
        .trim_start()
        .starts_with("-----BEGIN ")
    {
        return Err(invalid("the customer key is not PEM".to_owned()));
    }
    if spec
        .ssh_keys
        .iter()
        .any(|k| k.contains(['\n', '\r', '\0']) || k.trim().is_empty())
    {
        return Err(invalid("an ssh key is not one line".to_owned()));
    }
    Ok(Checked {
        uid,
        memory_bytes,
        storage_bytes,
        spec,
    })
}
