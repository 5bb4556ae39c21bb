//! `ssh <uid>@<server>`: an ssh server embedded in the node (russh). A customer logs in as
//! the uid of a running container with one of that container's keys (from the desired state,
//! through the [`KeyBook`]); passwords never work. Every session is a `runc exec` into the
//! container, so it runs with the container's namespaces, cgroup and uid: a shell (with a
//! terminal when asked), a command (`ssh 30009@server cmd`, which is also how `scp -O`
//! works), or the distro's sftp server (`sftp`, and `scp`).

mod connection;
mod consoles;
mod exec;
mod host_key;
mod key_book;
mod pty;
mod session;

use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use russh::server::{Config, Server};
use russh::{MethodKind, MethodSet};
use tokio::sync::oneshot;

use crate::config::NodeConfig;
use crate::error::NodeError;
use connection::{Connection, Shared};
use exec::Entrance;

pub use consoles::Consoles;
pub use key_book::{AuthorizedKey, KeyBook};

/// The default host key file of `berth node`.
pub const DEFAULT_HOST_KEY: &str = "/var/lib/berth/node/ssh_host_ed25519_key";

/// Where the ssh server listens and what it uses.
#[derive(Debug, Clone)]
pub struct SshConfig {
    /// The address to listen on (`0.0.0.0:22`).
    pub listen: SocketAddr,
    /// The ed25519 host key file, generated (mode 0600) when missing.
    pub host_key: PathBuf,
    /// The runc binary (as the node's).
    pub runc_binary: PathBuf,
    /// runc's state directory (as the node's).
    pub runc_root: PathBuf,
    /// Parent of the homes (as the node's): sessions start in the home.
    pub containers_root: PathBuf,
}

impl SshConfig {
    /// Listen on `listen` with the host key in `host_key`, entering the containers of `node`.
    pub fn new(listen: SocketAddr, host_key: PathBuf, node: &NodeConfig) -> SshConfig {
        SshConfig {
            listen,
            host_key,
            runc_binary: node.runc_binary.clone(),
            runc_root: node.runc_root.clone(),
            containers_root: node.containers_root.clone(),
        }
    }
}

/// A running ssh server (on a thread of its own, with its own tokio runtime). Dropping it
/// stops it: connections are closed and their sessions hung up.
#[derive(Debug)]
pub struct SshServer {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SshServer {
    /// The address it listens on (with the port chosen when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Start the ssh server: load (or create) the host key and bind the address now, so that
/// their errors are returned here, then serve on a thread of its own. `keys` is read at each
/// login; keep it up to date (`Runtime::reconcile` does, for `Runtime::key_book`).
pub fn spawn(config: SshConfig, keys: KeyBook) -> Result<SshServer, NodeError> {
    let host_key = host_key::load_or_generate(&config.host_key)?;
    let listen_error = |e: std::io::Error| {
        NodeError::Config(format!("ssh: cannot listen on {}: {e}", config.listen))
    };
    let listener = TcpListener::bind(config.listen).map_err(listen_error)?;
    listener.set_nonblocking(true).map_err(listen_error)?;
    let local_addr = listener.local_addr().map_err(listen_error)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("berth-ssh")
        .enable_all()
        .build()
        .map_err(|e| NodeError::Config(format!("ssh: cannot start its runtime: {e}")))?;
    let russh_config = Arc::new(Config {
        server_id: russh::SshId::Standard("SSH-2.0-berth".into()),
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        keys: vec![host_key],
        auth_rejection_time: Duration::from_secs(1),
        // OpenSSH asks with "none" first to learn the methods: no need to make it wait.
        auth_rejection_time_initial: Some(Duration::ZERO),
        // Idle shells stay; dead clients are noticed by keepalives.
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 4,
        nodelay: true,
        ..Config::default()
    });
    let pid_dir_error = |e: std::io::Error| {
        NodeError::Config(format!("ssh: cannot make a directory for pid files: {e}"))
    };
    let pid_dir = tempfile::Builder::new()
        .prefix("berth-ssh-")
        .tempdir()
        .map_err(pid_dir_error)?;
    std::fs::set_permissions(pid_dir.path(), std::fs::Permissions::from_mode(0o700))
        .map_err(pid_dir_error)?;
    let mut server = Listener {
        shared: Arc::new(Shared {
            keys,
            entrance: Entrance {
                runc_binary: config.runc_binary,
                runc_root: config.runc_root,
                containers_root: config.containers_root,
            },
            pid_dir,
            sessions: AtomicU64::new(0),
        }),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("berth-ssh".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(error) => return tracing::error!(%error, "ssh: cannot listen"),
                };
                let running = server.run_on_socket(russh_config, &listener);
                let handle = running.handle();
                tokio::select! {
                    result = running => {
                        if let Err(error) = result {
                            tracing::error!(%error, "ssh server stopped");
                        }
                    }
                    _ = stopped => handle.shutdown("the node is stopping".to_owned()),
                }
            });
        })
        .map_err(|e| NodeError::Config(format!("ssh: cannot start its thread: {e}")))?;
    tracing::info!(%local_addr, "ssh server listening");
    Ok(SshServer {
        local_addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// Makes one [`Connection`] per client.
struct Listener {
    shared: Arc<Shared>,
}

impl Server for Listener {
    type Handler = Connection;

    fn new_client(&mut self, peer: Option<SocketAddr>) -> Connection {
        Connection::new(Arc::clone(&self.shared), peer)
    }

    fn handle_session_error(&mut self, error: russh::Error) {
        tracing::debug!(%error, "ssh connection ended with an error");
    }
}
