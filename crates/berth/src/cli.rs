//! The command line: one subcommand per part of the platform.

use clap::{Parser, Subcommand};

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
    /// Print the version and exit.
    Version,
    /// Run the HTTP/HTTPS router that uWSGI vassals subscribe to.
    Router(Box<crate::router::RouterArgs>),
}

impl Cli {
    /// Run the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Version => {
                println!("berth {}", env!("CARGO_PKG_VERSION"));
                Ok(())
            }
            Command::Router(args) => args.run(),
        }
    }
}
