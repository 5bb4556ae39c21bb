//! The runc command line: the node's only way to create, inspect and destroy containers.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde::Deserialize;

use crate::error::NodeError;

/// Prefix of the runc ids of berth's containers.
const ID_PREFIX: &str = "berth-";

/// The runc id of the container of `uid`.
pub fn container_id(uid: u32) -> String {
    format!("{ID_PREFIX}{uid}")
}

/// The uid of a runc id made by [`container_id`]; `None` for other containers.
pub fn uid_of_container_id(id: &str) -> Option<u32> {
    let digits = id.strip_prefix(ID_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A container as `runc list` / `runc state` report it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RuncState {
    /// The runc id.
    pub id: String,
    /// The init's pid on the host (0 once stopped).
    pub pid: i64,
    /// `creating`, `created`, `running`, `paused` or `stopped`.
    pub status: String,
    /// The bundle directory.
    pub bundle: PathBuf,
}

impl RuncState {
    /// Whether the init runs.
    pub fn is_running(&self) -> bool {
        self.status == "running"
    }
}

/// runc with berth's state directory.
#[derive(Debug, Clone)]
pub(crate) struct Runc {
    binary: PathBuf,
    root: PathBuf,
}

impl Runc {
    pub fn new(binary: PathBuf, root: PathBuf) -> Runc {
        Runc { binary, root }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command.arg("--root").arg(&self.root);
        command.stdin(Stdio::null());
        command
    }

    fn output(&self, action: &'static str, id: &str, args: &[&str]) -> Result<Output, NodeError> {
        let output = self
            .command()
            .args(args)
            .output()
            .map_err(|e| NodeError::Runc {
                action,
                id: id.to_owned(),
                detail: format!("cannot run {}: {e}", self.binary.display()),
            })?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(NodeError::Runc {
                action,
                id: id.to_owned(),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }

    /// Every container runc knows in this state directory.
    pub fn list(&self) -> Result<Vec<RuncState>, NodeError> {
        let output = self.output("list", "", &["list", "--format", "json"])?;
        // runc prints `null` when there is no container.
        let states: Option<Vec<RuncState>> =
            serde_json::from_slice(&output.stdout).map_err(|e| NodeError::Runc {
                action: "list",
                id: String::new(),
                detail: format!("unexpected output: {e}"),
            })?;
        Ok(states.unwrap_or_default())
    }

    /// The state of `id`, `None` when runc does not know it.
    pub fn state(&self, id: &str) -> Result<Option<RuncState>, NodeError> {
        Ok(self.list()?.into_iter().find(|s| s.id == id))
    }

    /// Create `id` from `bundle`: its namespaces and init exist, but the init waits for
    /// [`Runc::start`]. The container's stdout and stderr (and runc's own errors) go to `log`,
    /// whose tail explains a failure.
    pub fn create(&self, id: &str, bundle: &Path, log: &Path) -> Result<(), NodeError> {
        let open = || {
            File::options()
                .create(true)
                .append(true)
                .open(log)
                .map_err(NodeError::io(log))
        };
        let (out, err) = (open()?, open()?);
        let start = out.metadata().map_err(NodeError::io(log))?.len();
        let status = self
            .command()
            .args(["create", "--bundle"])
            .arg(bundle)
            .arg(id)
            .stdout(out)
            .stderr(err)
            .status()
            .map_err(|e| NodeError::Runc {
                action: "create",
                id: id.to_owned(),
                detail: format!("cannot run {}: {e}", self.binary.display()),
            })?;
        if status.success() {
            return Ok(());
        }
        Err(NodeError::Runc {
            action: "create",
            id: id.to_owned(),
            detail: tail(log, start).unwrap_or_else(|| status.to_string()),
        })
    }

    /// Let the init of the created container `id` run its process.
    pub fn start(&self, id: &str) -> Result<(), NodeError> {
        self.output("start", id, &["start", id]).map(|_| ())
    }

    /// Send `signal` (`TERM`, `KILL`, …) to the init of `id`.
    pub fn kill(&self, id: &str, signal: &str) -> Result<(), NodeError> {
        self.output("kill", id, &["kill", id, signal]).map(|_| ())
    }

    /// Kill what is left of `id` and forget it.
    pub fn delete(&self, id: &str) -> Result<(), NodeError> {
        self.output("delete", id, &["delete", "--force", id])
            .map(|_| ())
    }
}

/// What was appended to `log` after byte `start` (at most its last 2 KiB), if anything.
fn tail(log: &Path, start: u64) -> Option<String> {
    let mut file = File::open(log).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(start.max(len.saturating_sub(2048))))
        .ok()?;
    let mut text = String::new();
    file.take(2048).read_to_string(&mut text).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_round_trip_and_foreign_ids_are_ignored() {
        assert_eq!(container_id(30001), "berth-30001");
        assert_eq!(uid_of_container_id("berth-30001"), Some(30001));
        assert_eq!(uid_of_container_id("berth-"), None);
        assert_eq!(uid_of_container_id("berth-+1"), None);
        assert_eq!(uid_of_container_id("berth-99999999999"), None);
        assert_eq!(uid_of_container_id("other-30001"), None);
    }
}
