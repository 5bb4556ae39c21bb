//! Running the system tools the node relies on besides runc (`btrfs`, `losetup`, `mount`).

use std::process::{Command, Stdio};

use crate::error::NodeError;

/// Run `program` with `args`; its stdout when it succeeds, its stderr (or exit status) as a
/// [`NodeError::Tool`] when it fails.
pub(crate) fn run<S: AsRef<std::ffi::OsStr>>(
    program: &str,
    args: &[S],
) -> Result<String, NodeError> {
    let shown = || {
        let mut line = program.to_owned();
        for arg in args {
            line.push(' ');
            line.push_str(&arg.as_ref().to_string_lossy());
        }
        line
    };
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| NodeError::Tool {
            command: shown(),
            detail: format!("cannot run {program}: {e}"),
        })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    Err(NodeError::Tool {
        command: shown(),
        detail: if stderr.is_empty() {
            output.status.to_string()
        } else {
            stderr
        },
    })
}
