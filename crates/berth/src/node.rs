//! `berth node`: the server agent. It joins the control plane once (a join token from
//! `berth admin server add` becomes a credential kept in a file), then follows the server's
//! desired state and realises it as runc containers, reporting what it sees. `berth up` runs
//! the same agent for its own machine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use berth_node::{ControlPlane, HttpControlPlane, NodeConfig, Runtime};
use clap::Args;

/// How long to wait before asking again after the control plane failed.
const RETRY: Duration = Duration::from_secs(2);

/// Where the container runtime keeps its things; flags shared by `berth node` and `berth up`,
/// whose defaults differ for the containers and bundles (`berth up` keeps them in its data
/// directory).
#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// Parent of the containers' homes; a home is at the same path inside its container
    /// [berth node: /containers; berth up: <data>/containers].
    #[arg(long = "containers")]
    containers_root: Option<PathBuf>,
    /// Where runc bundles are kept [berth node: /var/lib/berth/node/bundles; berth up:
    /// <data>/node/bundles].
    #[arg(long = "bundles")]
    bundles_dir: Option<PathBuf>,
    /// runc's state directory.
    #[arg(long = "runc-root", default_value = "/run/berth/runc")]
    runc_root: PathBuf,
    /// The cgroup under which every container gets its own (`<parent>/<uid>`).
    #[arg(long = "cgroup-parent", default_value = "berth")]
    cgroup_parent: String,
}

impl RuntimeArgs {
    /// The runtime's configuration: the given flags, else `containers` and `bundles`.
    pub fn config(&self, containers: &Path, bundles: &Path, subscribe_dir: &Path) -> NodeConfig {
        NodeConfig {
            containers_root: self
                .containers_root
                .clone()
                .unwrap_or_else(|| containers.to_owned()),
            bundles_dir: self
                .bundles_dir
                .clone()
                .unwrap_or_else(|| bundles.to_owned()),
            runc_root: self.runc_root.clone(),
            subscribe_dir: subscribe_dir.to_owned(),
            cgroup_parent: self.cgroup_parent.clone(),
            ..NodeConfig::standard()
        }
    }
}

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
    /// The directory of the routers' subscription sockets, bound at /run/subscribe inside.
    #[arg(long = "subscribe-dir", default_value = "/subscribe")]
    subscribe_dir: PathBuf,
    #[command(flatten)]
    runtime: RuntimeArgs,
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
        let runtime = Runtime::new(self.runtime.config(
            Path::new("/containers"),
            Path::new("/var/lib/berth/node/bundles"),
            &self.subscribe_dir,
        ))?;
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
