//! The `berth` binary: every part of the platform behind clap subcommands.

mod cli;
mod router;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    cli.run()
}
