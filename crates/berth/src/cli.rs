//! The command line: one subcommand per part of the platform.

use clap::{Parser, Subcommand};

use crate::store_args::StoreArgs;
use crate::{admin, api, up};

/// berth: containers, domains with HTTPS, VPN networks and billing, through one REST API.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The parts of berth that can be run.
#[derive(Debug, Subcommand)]
enum Command {
    /// The whole platform on this machine, on an embedded SQLite store.
    Up(Box<up::UpArgs>),
    /// The control-plane API alone (for deployments on several machines).
    Api(api::ApiArgs),
    /// Apply pending database migrations and exit.
    Migrate(StoreArgs),
    /// Staff tooling: customers, servers, distros, containers and billing, straight on the store.
    Admin(admin::AdminArgs),
    /// The HTTP/HTTPS router that uWSGI vassals subscribe to, alone.
    Router(Box<crate::router::RouterArgs>),
    /// The server agent: runs this server's containers as the control plane says (root).
    Node(crate::node::NodeArgs),
}

impl Cli {
    /// Runs the chosen subcommand. The router sizes its own runtime (`--threads`) and the
    /// node is synchronous; every other part runs on a multi-threaded tokio runtime.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Router(args) => return args.run(),
            Command::Node(args) => return args.run(),
            _ => {}
        }
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(self.run_async())
    }

    async fn run_async(self) -> anyhow::Result<()> {
        match self.command {
            Command::Up(args) => up::run(*args).await,
            Command::Api(args) => api::run(args).await,
            Command::Migrate(args) => {
                let store = args.connect().await?;
                let applied = berth_store::migrations::apply(&store).await?;
                if applied.is_empty() {
                    println!("the database is up to date");
                } else {
                    println!("applied migrations {applied:?}");
                }
                Ok(())
            }
            Command::Admin(args) => admin::run(args).await,
            Command::Router(_) | Command::Node(_) => {
                anyhow::bail!("the router and the node are started by Cli::run, off this runtime")
            }
        }
    }
}
