//! The `berth` binary: every part of the platform behind clap subcommands.

mod admin;
mod api;
mod cli;
mod limits;
mod node;
mod output;
mod private_file;
mod router;
mod store_args;
mod up;

use clap::Parser;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    limits::raise_nofile_limit();
    if let Err(error) = cli::Cli::parse().run() {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
