//! `berth node`: the server agent. It joins the control plane once (a join token from
//! `berth admin server add` becomes a credential kept in a file), then follows the server's
//! desired state and realises it as runc containers, reporting what it sees. `berth up` runs
//! the same agent for its own machine.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use berth_node::ssh::{SshConfig, SshServer};
use berth_node::{
    ControlPlane, HttpControlPlane, LegionConfig, NetworkConfig, NodeConfig, Runtime,
};
use clap::{Args, Subcommand};

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
    /// Serve `ssh <uid>@<server>` into the containers on this address (`0.0.0.0:22`)
    /// [berth node: no ssh; berth up: 127.0.0.1:2222].
    #[arg(long = "ssh", env = "BERTH_NODE_SSH")]
    ssh: Option<SocketAddr>,
    /// The ssh server's ed25519 host key, generated (mode 0600) at first start
    /// [berth node: /var/lib/berth/node/ssh_host_ed25519_key; berth up:
    /// <data>/node/ssh_host_ed25519_key].
    #[arg(long = "ssh-host-key")]
    ssh_host_key: Option<PathBuf>,
    /// Leave the containers only their loopback: no `uwsgi0`, links, dmz or port mappings,
    /// and no change to this machine's forwarding or nftables.
    #[arg(long = "no-network")]
    no_network: bool,
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
            network: self.network().ok(),
            ..NodeConfig::standard()
        }
    }

    /// The containers' network, or why they have none (`--no-network`, or no `nft`).
    pub fn network(&self) -> Result<NetworkConfig, &'static str> {
        if self.no_network {
            return Err("--no-network");
        }
        let nft = std::process::Command::new("nft")
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .status();
        if !nft.is_ok_and(|status| status.success()) {
            return Err("nft is not installed: apt-get install nftables");
        }
        Ok(NetworkConfig::standard())
    }

    /// Starts the ssh server on `--ssh`, else on `default` when given; the runtime keeps its
    /// key book current. `None` when there is no address to listen on.
    pub fn start_ssh(
        &self,
        config: &NodeConfig,
        runtime: &Runtime,
        default: Option<SocketAddr>,
        default_host_key: &Path,
    ) -> anyhow::Result<Option<SshServer>> {
        let Some(listen) = self.ssh.or(default) else {
            return Ok(None);
        };
        let host_key = self
            .ssh_host_key
            .clone()
            .unwrap_or_else(|| default_host_key.to_owned());
        let server =
            berth_node::ssh::spawn(SshConfig::new(listen, host_key, config), runtime.key_book())
                .with_context(|| format!("cannot serve ssh on {listen}"))?;
        Ok(Some(server))
    }
}

/// Flags of `berth node`: the agent, or one of its tools.
#[derive(Debug, Args)]
#[command(subcommand_negates_reqs = true, args_conflicts_with_subcommands = true)]
pub struct NodeArgs {
    #[command(subcommand)]
    tool: Option<NodeTool>,
    /// The control plane's address, e.g. `http://api.example.net:8080`; several API replicas
    /// comma-separated (`http://a:8080,http://b:8080`): the node follows whichever answers.
    #[arg(long = "api", env = "BERTH_NODE_API", required = true)]
    api: Option<String>,
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
    /// The interface that carries this server's address; the Lord of a legion holds the
    /// failover address on it.
    #[arg(long = "legion-interface", default_value = "eth0")]
    legion_interface: String,
    /// Where keepalived's configuration and pid files for the legions are kept.
    #[arg(long = "legion-dir", default_value = "/var/lib/berth/node/legion")]
    legion_dir: PathBuf,
    /// The keepalived binary, run for the server's legions (VRRP).
    #[arg(long = "keepalived", default_value = "keepalived")]
    keepalived: PathBuf,
}

/// Tools of `berth node` that are not the agent.
#[derive(Debug, Subcommand)]
enum NodeTool {
    /// Distros: the read-only root file systems containers run on.
    #[command(subcommand)]
    Distro(DistroTool),
}

/// `berth node distro …`.
#[derive(Debug, Subcommand)]
enum DistroTool {
    /// Build a Debian distro with debootstrap, holding uWSGI and its python3, psgi and rack
    /// plugins; then register it with `berth admin distro add <name> --path <dir>`.
    Build(DistroBuildArgs),
}

/// Flags of `berth node distro build`.
#[derive(Debug, Args)]
struct DistroBuildArgs {
    /// The distro's directory name.
    name: String,
    /// The Debian suite.
    #[arg(long, default_value = "bookworm")]
    suite: String,
    /// The Debian mirror.
    #[arg(long, default_value = "http://deb.debian.org/debian")]
    mirror: String,
    /// The directory the distros are kept in.
    #[arg(long, default_value = "/distros")]
    into: PathBuf,
    /// More packages to include (comma-separated).
    #[arg(long, value_delimiter = ',')]
    include: Vec<String>,
}

impl DistroBuildArgs {
    fn run(self) -> anyhow::Result<()> {
        println!(
            "building {} ({}) with debootstrap into {}; this takes a few minutes",
            self.name,
            self.suite,
            self.into.display()
        );
        let built = berth_node::distro::build(&berth_node::distro::DistroBuild {
            name: self.name.clone(),
            suite: self.suite,
            mirror: self.mirror,
            into: self.into,
            extra_packages: self.include,
        })?;
        println!(
            "built {}; register it with\n  berth admin distro add {} --path {}",
            built.display(),
            self.name,
            built.display()
        );
        Ok(())
    }
}

impl NodeArgs {
    fn api(&self) -> anyhow::Result<&str> {
        self.api.as_deref().context("--api is required")
    }

    fn credential(&self) -> anyhow::Result<String> {
        if let Some(token) = &self.token {
            let credential = HttpControlPlane::join(self.api()?, token)?;
            if let Some(dir) = self.credential_file.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            crate::private_file::write_private(&self.credential_file, &credential)?;
            return Ok(credential);
        }
        std::fs::read_to_string(&self.credential_file).with_context(|| {
            format!(
                "no credential in {}: give --token with a join token from `berth admin server add`",
                self.credential_file.display()
            )
        })
    }

    /// Runs the tool asked for; else joins if needed, then realises the desired state
    /// forever.
    pub fn run(self) -> anyhow::Result<()> {
        if let Some(NodeTool::Distro(DistroTool::Build(build))) = self.tool {
            return build.run();
        }
        let credential = self.credential()?;
        let api = self.api()?;
        let control = HttpControlPlane::new(api, &credential)?;
        let mut config = self.runtime.config(
            Path::new("/containers"),
            Path::new("/var/lib/berth/node/bundles"),
            &self.subscribe_dir,
        );
        config.legion = Some(LegionConfig {
            dir: self.legion_dir.clone(),
            interface: self.legion_interface.clone(),
            keepalived: self.keepalived.clone(),
        });
        let runtime = Runtime::new(config.clone())?;
        // Kept until the node stops.
        let ssh = self.runtime.start_ssh(
            &config,
            &runtime,
            None,
            Path::new(berth_node::ssh::DEFAULT_HOST_KEY),
        )?;
        if let Some(ssh) = &ssh {
            println!("berth node: ssh on {}", ssh.local_addr());
        }
        match self.runtime.network() {
            Ok(network) => println!(
                "berth node: containers on 10.0.0.0/8 via {}, nftables table {}",
                berth_node::GATEWAY,
                network.table
            ),
            Err(why) => println!("berth node: container network off ({why})"),
        }
        println!("berth node: following {api} as this server");
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
