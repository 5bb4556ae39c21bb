//! What can go wrong while realising containers.

use std::path::PathBuf;

/// An error of the node runtime or reconciler.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The node's own configuration cannot work.
    #[error("node configuration: {0}")]
    Config(String),
    /// A container spec from the control plane cannot be realised safely.
    #[error("container {uid}: {reason}")]
    InvalidSpec {
        /// The container's uid as sent.
        uid: i64,
        /// Why it was refused.
        reason: String,
    },
    /// The control plane could not be reached or answered an error.
    #[error("control plane: {0}")]
    ControlPlane(String),
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path being worked on.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// runc failed or answered something unexpected.
    #[error("runc {action} {id}: {detail}")]
    Runc {
        /// The runc subcommand.
        action: &'static str,
        /// The container id (empty for `list`).
        id: String,
        /// runc's own message, or why its answer was not understood.
        detail: String,
    },
    /// A system tool (`btrfs`, `losetup`, `mount`) failed.
    #[error("{command}: {detail}")]
    Tool {
        /// The command line.
        command: String,
        /// Its own message, or its exit status.
        detail: String,
    },
}

impl NodeError {
    /// An [`NodeError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> NodeError {
        let path = path.into();
        move |source| NodeError::Io { path, source }
    }
}
