//! Entering a container: the `runc exec` command line of an ssh session. The process gets the
//! container's namespaces, cgroup, uid and gid, and its spec's restrictions (no capabilities,
//! `noNewPrivileges`), because runc starts it from the container's own bundle.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::runc::container_id;

/// `PATH` inside a session.
const PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

/// The login shell of every container user.
const SHELL: &str = "/bin/bash";

/// Runs the distro's sftp server, wherever the distro keeps it.
const SFTP_SERVER: &str = "for s in /usr/lib/openssh/sftp-server /usr/lib/sftp-server \
     /usr/libexec/sftp-server /usr/libexec/openssh/sftp-server; do \
     [ -x \"$s\" ] && exec \"$s\"; done; \
     echo 'berth: this distro has no sftp-server' >&2; exit 127";

/// What a session runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Program {
    /// The user's login shell (`shell` request).
    Shell,
    /// A command line for `/bin/sh -c` (`exec` request), as sent (not necessarily UTF-8).
    Command(Vec<u8>),
    /// The sftp server (`subsystem sftp`).
    Sftp,
}

/// How to start processes in the containers.
#[derive(Debug, Clone)]
pub(crate) struct Entrance {
    /// The runc binary.
    pub runc_binary: PathBuf,
    /// runc's state directory (`--root`).
    pub runc_root: PathBuf,
    /// Parent of the homes (a home has the same path inside).
    pub containers_root: PathBuf,
}

impl Entrance {
    /// The `runc exec` command running `program` as `uid` in its container, from its home,
    /// with a terminal of type `term` when given, plus the client's accepted `env`. runc
    /// writes the process's pid (on the host) to `pid_file`.
    pub fn command(
        &self,
        uid: u32,
        program: &Program,
        term: Option<&str>,
        env: &[(String, String)],
        pid_file: &Path,
    ) -> Command {
        let home = self.containers_root.join(uid.to_string());
        let mut command = Command::new(&self.runc_binary);
        command
            .arg("--root")
            .arg(&self.runc_root)
            .arg("exec")
            .arg("--user")
            .arg(format!("{uid}:{uid}"))
            .arg("--cwd")
            .arg(&home)
            .arg("--pid-file")
            .arg(pid_file);
        let mut home_var = std::ffi::OsString::from("HOME=");
        home_var.push(&home);
        command.arg("--env").arg(home_var);
        for var in [
            format!("USER={uid}"),
            format!("LOGNAME={uid}"),
            format!("SHELL={SHELL}"),
            format!("PATH={PATH}"),
        ] {
            command.arg("--env").arg(var);
        }
        if let Some(term) = term {
            command
                .arg("--env")
                .arg(format!("TERM={term}"))
                .arg("--tty");
        }
        for (name, value) in env {
            command.arg("--env").arg(format!("{name}={value}"));
        }
        command.arg(container_id(uid));
        match program {
            Program::Shell => command.args([SHELL, "-l"]),
            Program::Command(line) => command.args(["/bin/sh", "-c"]).arg(OsStr::from_bytes(line)),
            Program::Sftp => command.args(["/bin/sh", "-c", SFTP_SERVER]),
        };
        // Its own process group: a signal to the node's group (Ctrl-C in its terminal) does
        // not reach the sessions. If its task is dropped, the session dies with it.
        command.process_group(0).kill_on_drop(true);
        command
    }
}

/// Whether the client may set `name` (`env` request): the locale only, as OpenSSH's default
/// `AcceptEnv LANG LC_*`.
pub(crate) fn accepted_env(name: &str, value: &str) -> bool {
    let locale = name == "LANG"
        || name.strip_prefix("LC_").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
        });
    locale && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic())
}

/// The terminal type to give the session: the client's, when it is a plain name.
pub(crate) fn terminal_type(term: &str) -> &str {
    let plain = !term.is_empty()
        && term.len() <= 64
        && term
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b));
    if plain {
        term
    } else {
        "xterm"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(command: &Command) -> Vec<String> {
        command
            .as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_command_line_enters_the_container_as_its_uid_from_its_home() {
        let entrance = Entrance {
            runc_binary: "runc".into(),
            runc_root: "/run/berth/runc".into(),
            containers_root: "/containers".into(),
        };
        let exec = entrance.command(
            30009,
            &Program::Command(b"id -u".to_vec()),
            None,
            &[("LANG".to_owned(), "C.UTF-8".to_owned())],
            Path::new("/tmp/s.pid"),
        );
        let a = args(&exec);
        assert_eq!(
            &a[..7],
            [
                "--root",
                "/run/berth/runc",
                "exec",
                "--user",
                "30009:30009",
                "--cwd",
                "/containers/30009"
            ]
        );
        assert!(a.windows(2).any(|w| w == ["--pid-file", "/tmp/s.pid"]));
        assert!(a
            .windows(2)
            .any(|w| w == ["--env", "HOME=/containers/30009"]));
        assert!(a.windows(2).any(|w| w == ["--env", "LANG=C.UTF-8"]));
        assert!(!a.contains(&"--tty".to_owned()));
        assert_eq!(&a[a.len() - 4..], ["berth-30009", "/bin/sh", "-c", "id -u"]);

        let shell = entrance.command(
            30009,
            &Program::Shell,
            Some("xterm-256color"),
            &[],
            Path::new("/tmp/s.pid"),
        );
        let a = args(&shell);
        assert!(a.windows(2).any(|w| w == ["--env", "TERM=xterm-256color"]));
        assert!(a.contains(&"--tty".to_owned()));
        assert_eq!(&a[a.len() - 3..], ["berth-30009", "/bin/bash", "-l"]);
    }

    #[test]
    fn only_the_locale_is_accepted_from_the_client() {
        assert!(accepted_env("LANG", "en_US.UTF-8"));
        assert!(accepted_env("LC_ALL", "C"));
        assert!(!accepted_env("LC_", "C"));
        assert!(!accepted_env("LD_PRELOAD", "/tmp/x.so"));
        assert!(!accepted_env("PATH", "/tmp"));
        assert!(!accepted_env("LANG", "a b"));
        assert_eq!(terminal_type("xterm-256color"), "xterm-256color");
        assert_eq!(terminal_type("x\u{1b}]"), "xterm");
        assert_eq!(terminal_type(""), "xterm");
    }
}
