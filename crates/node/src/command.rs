//! Running the system tools the node relies on besides runc (`btrfs`, `losetup`, `mount`).

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::error::NodeError;

/// Run `program` with `args`; its stdout when it succeeds, its stderr (or exit status) as a
/// [`NodeError::Tool`] when it fails.
pub(crate) fn run<S: AsRef<std::ffi::OsStr>>(
    program: &str,
    args: &[S],
) -> Result<String, NodeError> {
    run_with_input(program, args, None)
}

/// [`run`], with `input` written to the program's stdin (`None`: an empty stdin).
pub(crate) fn run_with_input<S: AsRef<std::ffi::OsStr>>(
    program: &str,
    args: &[S],
    input: Option<&[u8]>,
) -> Result<String, NodeError> {
    let shown = || {
        let mut line = program.to_owned();
        for arg in args {
            line.push(' ');
            line.push_str(&arg.as_ref().to_string_lossy());
        }
        line
    };
    let failed = |detail: String| NodeError::Tool {
        command: shown(),
        detail,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run {program}: {e}")))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(input).map_err(|e| failed(e.to_string()))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    Err(failed(if stderr.is_empty() {
        output.status.to_string()
    } else {
        stderr
    }))
}
