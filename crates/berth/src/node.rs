//! `berth node`: the server agent. It joins the control plane once (a join token from
//! `berth admin server add` becomes a credential kept in a file), then follows the server's
//! desired state and realises it as runc containers, reporting what it sees.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use berth_node::ssh::SshConfig;
use berth_node::{ControlPlane, HttpControlPlane, NodeConfig, Runtime};
use clap::Args;

/// How long to wait before asking again after the control plane failed.
const RETRY: Duration = Duration::from_secs(2);

/// Flags of `berth node`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The control plane's address, e.g. `http://api.example.net:8080`.
    #[arg(long = "api", env = "BERTH_NODE_API")]
    api: String,
    /// A one-time join token (from `berth admin server add`); spent on first start.
    #[arg(long, env = "BERTH_NODE_TOKEN")]
    token: Option<String>,
    /// Where the server's credential is kept (written on join, mode 0600).
    #[arg(
        long = "credential-file",
        env = "BERTH_NODE_CREDENTIAL_FILE",
        default_value = "/var/lib/berth/node/credential"
    )]
    credential_file: PathBuf,
    /// Parent of the containers' homes.
    #[arg(long = "containers", default_value = "/containers")]
    containers_root: PathBuf,
    /// The directory of the routers' subscription sockets, bound at /run/subscribe inside.
    #[arg(long = "subscribe-dir", default_value = "/subscribe")]
    subscribe_dir: PathBuf,
    /// Where runc bundles are kept.
    #[arg(long = "bundles", default_value = "/var/lib/berth/node/bundles")]
    bundles_dir: PathBuf,
    /// runc's state directory.
    #[arg(long = "runc-root", default_value = "/run/berth/runc")]
    runc_root: PathBuf,
    /// Serve `ssh <uid>@<server>` into the containers on this address (`0.0.0.0:22`);
    /// without it, no ssh.
    #[arg(long = "ssh", env = "BERTH_NODE_SSH")]
    ssh: Option<SocketAddr>,
    /// The ssh server's ed25519 host key, generated (mode 0600) at first start.
    #[arg(long = "ssh-host-key", default_value = berth_node::ssh::DEFAULT_HOST_KEY)]
    ssh_host_key: PathBuf,
}

impl NodeArgs {
    fn credential(&self) -> anyhow::Result<String> {
        if let Some(token) = &self.token {
            let credential = HttpControlPlane::join(&self.api, token)?;
            if let Some(dir) = self.credential_file.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            crate::up::write_private(&self.credential_file, &credential)?;
            return Ok(credential);
        }
        std::fs::read_to_string(&self.credential_file).with_context(|| {
            format!(
                "no credential in {}: give --token with a join token from `berth admin server add`",
                self.credential_file.display()
            )
        })
    }

    /// Joins if needed, then realises the desired state forever.
    pub fn run(self) -> anyhow::Result<()> {
        let credential = self.credential()?;
        let control = HttpControlPlane::new(&self.api, &credential)?;
        let config = NodeConfig {
            containers_root: self.containers_root.clone(),
            bundles_dir: self.bundles_dir.clone(),
            runc_root: self.runc_root.clone(),
            subscribe_dir: self.subscribe_dir.clone(),
            ..NodeConfig::standard()
        };
        let runtime = Runtime::new(config.clone())?;
        // Kept until the node stops; the runtime keeps its key book current.
        let _ssh = match self.ssh {
            Some(listen) => {
                let ssh_config = SshConfig::new(listen, self.ssh_host_key.clone(), &config);
                let server = berth_node::ssh::spawn(ssh_config, runtime.key_book())?;
                println!("berth node: ssh on {}", server.local_addr());
                Some(server)
            }
            None => None,
        };
        println!("berth node: following {} as this server", self.api);
        follow(&control, &runtime)
    }
}

/// The node loop: realise each new desired state; on a failure, wait and ask again.
pub fn follow(control: &impl ControlPlane, runtime: &Runtime) -> anyhow::Result<()> {
    let mut after = None;
    loop {
        match berth_node::step(control, runtime, after) {
            Ok(revision) => after = Some(revision),
            Err(error) => {
                tracing::warn!(%error, "node step failed; retrying");
                std::thread::sleep(RETRY);
            }
        }
    }
}
