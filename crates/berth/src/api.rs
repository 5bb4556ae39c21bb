//! `berth api`: the control plane alone.

use std::net::SocketAddr;

use anyhow::Context;
use berth_api::dns_proof::{self, DnsProofConfig};
use berth_api::ApiOptions;
use berth_model::billing::ProviderCountry;
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
    #[command(flatten)]
    options: ApiOptionArgs,
}

/// The API's own settings, shared by `berth api` and `berth up`.
#[derive(Debug, Clone, Args)]
pub struct ApiOptionArgs {
    /// Send every DNS query of domain proofs to this server (`ip` or `ip:port`) instead of
    /// asking each domain's own name servers.
    #[arg(long = "dns-server", env = "BERTH_DNS_SERVER", value_parser = dns_proof::parse_server)]
    dns_server: Option<SocketAddr>,
    /// The provider's country (two letters), which decides the VAT on bills.
    #[arg(long = "provider-country", env = "BERTH_PROVIDER_COUNTRY", default_value = "CH", value_parser = parse_country)]
    provider_country: ProviderCountry,
}

fn parse_country(text: &str) -> Result<ProviderCountry, String> {
    ProviderCountry::parse(text).map_err(|e| e.to_string())
}

impl ApiOptionArgs {
    /// The options the API runs with.
    pub fn options(&self) -> ApiOptions {
        ApiOptions {
            dns: self
                .dns_server
                .map(DnsProofConfig::server)
                .unwrap_or_default(),
            provider_country: self.provider_country.clone(),
            ..ApiOptions::default()
        }
    }
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
    berth_api::serve(store, args.options.options(), listener, shutdown_signal()).await?;
    Ok(())
}
