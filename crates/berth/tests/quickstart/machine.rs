//! What the quickstart tests stand on: a machine directory for `berth up` whose containers
//! live on btrfs (as in production, so that storage has a limit `quota` shows), the distro
//! the platform builds, and the customer at their terminal.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The size of the btrfs image the containers live on (sparse).
const STORAGE_IMAGE: &str = "4G";

/// A machine directory; what a test leaves behind is removed on drop: every runc container
/// of its runc root, its cgroup parent, `berth up`'s container network table, the
/// containers' file system.
pub struct Machine {
    dir: tempfile::TempDir,
    /// The cgroup parent of its containers.
    pub cgroup_parent: String,
}

impl Machine {
    /// A fresh machine directory under /var/tmp whose `containers/` is a btrfs file system;
    /// `name` tells its cgroup parent apart from other tests'.
    pub fn new(name: &str) -> Machine {
        let dir = tempfile::Builder::new()
            .prefix("berth-quickstart")
            .tempdir_in("/var/tmp")
            .expect("machine directory outside /tmp");
        // The customers reach their homes through it, as through /containers' parents.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let image = dir.path().join("containers.img");
        let containers = dir.path().join("containers");
        let script = format!(
            "truncate -s {STORAGE_IMAGE} {image} && mkfs.btrfs -q {image} >/dev/null && \
             mkdir {containers} && mount -o loop {image} {containers} && chmod 755 {containers}",
            image = image.display(),
            containers = containers.display()
        );
        let made = Command::new("sh")
            .args(["-c", &script])
            .status()
            .expect("sh");
        assert!(
            made.success(),
            "btrfs for the containers (btrfs-progs, loop devices)"
        );
        Machine {
            dir,
            cgroup_parent: format!("berth-qs-{name}-{}", std::process::id()),
        }
    }

    /// The machine directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let runc_root = self.path().join("runc");
        if let Ok(listed) = Command::new("runc")
            .arg("--root")
            .arg(&runc_root)
            .args(["list", "-q"])
            .output()
        {
            for id in String::from_utf8_lossy(&listed.stdout).lines() {
                let _ = Command::new("runc")
                    .arg("--root")
                    .arg(&runc_root)
                    .args(["delete", "--force", id])
                    .status();
            }
        }
        if let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") {
            for controller in controllers.flatten() {
                let _ = std::fs::remove_dir(controller.path().join(&self.cgroup_parent));
            }
        }
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", "berth"])
            .output();
        let _ = Command::new("umount")
            .arg("--lazy")
            .arg(self.path().join("containers"))
            .status();
    }
}

/// A Debian distro with uWSGI and its plugins, built by `berth node distro build`
/// (debootstrap) once per target directory.
pub fn built_distro() -> PathBuf {
    let into = Path::new(env!("CARGO_TARGET_TMPDIR")).join("distros");
    let distro = into.join("bookworm-quickstart");
    if !distro.join("usr/bin/uwsgi").exists() {
        let _ = std::fs::remove_dir_all(&distro);
        let output = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["node", "distro", "build", "bookworm-quickstart", "--into"])
            .arg(&into)
            .output()
            .expect("berth node distro build runs");
        assert!(
            output.status.success(),
            "building the distro: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    distro
}

/// A TCP port nothing listens on now.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free TCP port")
        .port()
}

/// The address the banner's "Router:" line gives for `scheme` ("HTTP" or "HTTPS").
pub fn router_address(banner: &[String], scheme: &str) -> SocketAddr {
    let line = banner
        .iter()
        .find(|line| line.starts_with("Router:"))
        .expect("a Router line");
    let marker = format!("{scheme} on ");
    let start = line.find(&marker).expect("the scheme in the Router line") + marker.len();
    line[start..]
        .split([',', ' '])
        .next()
        .and_then(|address| address.parse().ok())
        .expect("an address")
}

/// The customer at their terminal: `ssh <uid>@127.0.0.1` with their key.
pub struct Customer {
    /// The container's uid.
    pub uid: i64,
    /// The private key.
    pub key: PathBuf,
    /// The node's ssh port.
    pub ssh_port: u16,
}

impl Customer {
    /// `ssh <uid>@127.0.0.1` with the customer's key, without asking anything.
    fn ssh_command(&self) -> Command {
        let mut command = Command::new("ssh");
        command
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=5",
                "-i",
            ])
            .arg(&self.key)
            .arg("-p")
            .arg(self.ssh_port.to_string())
            .arg(format!("{}@127.0.0.1", self.uid));
        command
    }

    /// Runs `command` over ssh with `stdin`.
    pub fn ssh(&self, command: &str, stdin: &[u8]) -> Output {
        let mut child = self
            .ssh_command()
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the OpenSSH client runs (Debian package openssh-client)");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("command input");
        child.wait_with_output().expect("ssh finishes")
    }

    /// `command` in a terminal (`ssh -tt`), as an open shell: its output, read as it comes,
    /// and the ssh process, killed when dropped.
    pub fn terminal(&self, command: &str) -> Terminal {
        let mut child = self
            .ssh_command()
            .arg("-tt")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the OpenSSH client runs");
        let mut stdout = child.stdout.take().expect("stdout");
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = stdout.read(&mut buffer) {
                if let Ok(mut output) = sink.lock() {
                    output.extend_from_slice(&buffer[..read]);
                }
            }
        });
        Terminal { child, output }
    }

    /// Runs `command` in the container and returns its output; panics when it fails.
    pub fn run(&self, command: &str) -> String {
        let output = self.ssh(command, b"");
        assert!(
            output.status.success(),
            "ssh {command:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Writes a file of the home through ssh, as a customer pasting it into an editor would.
    pub fn write(&self, path: &str, content: &str) {
        let output = self.ssh(&format!("cat > {path}"), content.as_bytes());
        assert!(
            output.status.success(),
            "writing {path}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Replaces a vassal file of the home as an editor saving it does: the new content
    /// renamed over the old, a second after it (the Emperor sees a change by the file's
    /// modification time, in whole seconds).
    pub fn rewrite(&self, path: &str, content: &str) {
        let output = self.ssh(
            &format!("sleep 1.1 && cat > .rewritten && mv .rewritten {path}"),
            content.as_bytes(),
        );
        assert!(
            output.status.success(),
            "rewriting {path}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Waits until ssh into the container works again (after a start or a restart).
    pub fn wait_for_ssh(&self) {
        wait_for("ssh into the container", Duration::from_secs(30), || {
            self.ssh("true", b"").status.success().then_some(())
        });
    }
}

/// An open terminal in the container ([`Customer::terminal`]).
pub struct Terminal {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    /// What the terminal showed so far.
    pub fn shown(&self) -> String {
        self.output
            .lock()
            .map(|output| String::from_utf8_lossy(&output).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls `probe` until it gives something, for at most `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A new key pair of `kind` (`ed25519`, `rsa`) at `path` (and `path.pub`); the public
/// key's line.
pub fn ssh_key(path: &Path, kind: &str) -> String {
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", "", "-C", "kratos@laptop", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(made.success());
    std::fs::read_to_string(path.with_extension("pub"))
        .expect("public key")
        .trim()
        .to_owned()
}

/// The host pid of the init of the container of `uid`, from runc.
pub fn init_pid(machine: &Machine, uid: i64) -> Option<i64> {
    let id = berth_node::container_id(u32::try_from(uid).ok()?);
    let output = Command::new("runc")
        .arg("--root")
        .arg(machine.path().join("runc"))
        .args(["state", &id])
        .output()
        .ok()?;
    let state: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    state["pid"].as_i64().filter(|&pid| pid > 0)
}
