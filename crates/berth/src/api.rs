//! `berth api`: the control plane alone.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;

use crate::store_args::StoreArgs;

/// Flags of `berth api`.
#[derive(Debug, Args)]
pub struct ApiArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address the API listens on.
    #[arg(
        long = "listen",
        env = "BERTH_API_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    listen: SocketAddr,
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Runs the API until stopped.
pub async fn run(args: ApiArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(address = %args.listen, "berth api listening");
    berth_api::serve(store, listener, shutdown_signal()).await?;
    Ok(())
}
