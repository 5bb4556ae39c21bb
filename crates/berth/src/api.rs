//! `berth api`: the control plane alone.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use berth_api::connections::ConnectionLimits;
use berth_api::dns_proof::{self, DnsProofConfig};
use berth_api::ldap::LdapConfig;
use berth_api::ApiOptions;
use berth_model::billing::ProviderCountry;
use clap::Args;

use crate::limits;
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
    #[command(flatten)]
    ldap: LdapArgs,
    #[command(flatten)]
    connections: ConnectionArgs,
}

/// How the API treats slow and silent clients.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "API connections")]
pub struct ConnectionArgs {
    /// How long a client may take to send a request head (`10s`, `500ms`; from the accept
    /// for the first request of a connection, from its first byte for the next ones).
    #[arg(long = "api-head-timeout", env = "BERTH_API_HEAD_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    head_timeout: Duration,
    /// How long a kept-alive connection may stay idle between two requests.
    #[arg(long = "api-idle-timeout", env = "BERTH_API_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// How long a client may take to send a request body, from the end of its head (408).
    #[arg(long = "api-body-timeout", env = "BERTH_API_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    body_timeout: Duration,
    /// How many connections the API keeps open at most; at the cap the oldest idle ones are
    /// closed first. Default: the open file limit less 128 (halved under `berth up`, which
    /// runs the router in the same process).
    #[arg(long = "api-max-connections", env = "BERTH_API_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,
}

impl ConnectionArgs {
    /// The limits these flags give, the cap derived for a process where the API has one of
    /// `shares` of the open files.
    fn limits(&self, shares: u64) -> ConnectionLimits {
        let max_connections = match self.max_connections {
            Some(max) => usize::try_from(max).unwrap_or(usize::MAX),
            None => limits::default_max_connections(limits::nofile_limit(), shares),
        };
        ConnectionLimits {
            head_timeout: self.head_timeout,
            idle_timeout: self.idle_timeout,
            body_timeout: self.body_timeout,
            max_connections,
        }
    }
}

/// A duration as `30s`, `500ms` or a bare number of seconds; more than zero.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.strip_suffix("ms") {
        Some(number) => (number, 0.001),
        None => (text.strip_suffix('s').unwrap_or(text), 1.0),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s or 500ms"))?;
    let seconds = value * unit;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!("{text:?} must be more than 0 and at most a day"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Logging in with LDAP accounts: none of these flags, no LDAP.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "LDAP login")]
pub struct LdapArgs {
    /// Let users log in with their LDAP accounts from this directory
    /// (`ldap://host[:port]` or `ldaps://host[:port]`); needs --ldap-base-dn.
    #[arg(long = "ldap-url", env = "BERTH_LDAP_URL", requires = "ldap_base_dn")]
    ldap_url: Option<String>,
    /// Where users are searched (the whole subtree), e.g. `ou=customers,dc=example,dc=org`.
    #[arg(
        long = "ldap-base-dn",
        env = "BERTH_LDAP_BASE_DN",
        requires = "ldap_url"
    )]
    ldap_base_dn: Option<String>,
    /// Search bound as this DN (else anonymously); needs --ldap-bind-password-file.
    #[arg(
        long = "ldap-bind-dn",
        env = "BERTH_LDAP_BIND_DN",
        requires_all = ["ldap_url", "ldap_bind_password_file"]
    )]
    ldap_bind_dn: Option<String>,
    /// A file holding the password of --ldap-bind-dn (one trailing newline is ignored).
    #[arg(
        long = "ldap-bind-password-file",
        env = "BERTH_LDAP_BIND_PASSWORD_FILE",
        requires = "ldap_bind_dn"
    )]
    ldap_bind_password_file: Option<PathBuf>,
    /// The search filter that finds a user; `{username}` stands for the (escaped) username.
    #[arg(
        long = "ldap-user-filter",
        env = "BERTH_LDAP_USER_FILTER",
        default_value = berth_model::ldap::DEFAULT_USER_FILTER,
        requires = "ldap_url"
    )]
    ldap_user_filter: String,
    /// The attribute of the user's entry that must equal the username exactly.
    #[arg(
        long = "ldap-username-attribute",
        env = "BERTH_LDAP_USERNAME_ATTRIBUTE",
        default_value = berth_model::ldap::DEFAULT_USERNAME_ATTRIBUTE,
        requires = "ldap_url"
    )]
    ldap_username_attribute: String,
    /// The attribute new accounts take their e-mail address from.
    #[arg(
        long = "ldap-email-attribute",
        env = "BERTH_LDAP_EMAIL_ATTRIBUTE",
        default_value = berth_model::ldap::DEFAULT_EMAIL_ATTRIBUTE,
        requires = "ldap_url"
    )]
    ldap_email_attribute: String,
}

impl LdapArgs {
    /// The directory these flags name, checked; `None` without --ldap-url.
    pub fn config(&self) -> anyhow::Result<Option<LdapConfig>> {
        let (Some(url), Some(base_dn)) = (&self.ldap_url, &self.ldap_base_dn) else {
            return Ok(None);
        };
        let mut config = LdapConfig::new(url, base_dn)?
            .with_user_filter(&self.ldap_user_filter)?
            .with_username_attribute(&self.ldap_username_attribute)?
            .with_email_attribute(&self.ldap_email_attribute)?;
        if let (Some(dn), Some(file)) = (&self.ldap_bind_dn, &self.ldap_bind_password_file) {
            let password = std::fs::read_to_string(file).with_context(|| {
                format!("cannot read the LDAP bind password from {}", file.display())
            })?;
            let password = password
                .strip_suffix('\n')
                .map(|line| line.strip_suffix('\r').unwrap_or(line))
                .unwrap_or(&password);
            config = config
                .with_bind(dn, password)
                .with_context(|| format!("the LDAP bind password in {}", file.display()))?;
        }
        Ok(Some(config))
    }
}

fn parse_country(text: &str) -> Result<ProviderCountry, String> {
    ProviderCountry::parse(text).map_err(|e| e.to_string())
}

impl ApiOptionArgs {
    /// The options the API runs with (reads the LDAP bind password file, if any), in a
    /// process where it has one of `shares` of the open files.
    pub fn options(&self, shares: u64) -> anyhow::Result<ApiOptions> {
        let ldap = self.ldap.config()?;
        if let Some(ldap) = &ldap {
            tracing::info!(
                url = ldap.url(),
                "users may also log in with their LDAP accounts"
            );
        }
        let connections = self.connections.limits(shares);
        tracing::info!(
            max_connections = connections.max_connections,
            head_timeout = ?connections.head_timeout,
            idle_timeout = ?connections.idle_timeout,
            body_timeout = ?connections.body_timeout,
            "API connection limits"
        );
        Ok(ApiOptions {
            dns: self
                .dns_server
                .map(DnsProofConfig::server)
                .unwrap_or_default(),
            provider_country: self.provider_country.clone(),
            ldap,
            connections,
            ..ApiOptions::default()
        })
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
    let options = args.options.options(1)?;
    let store = args.store.open().await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr().unwrap_or(args.listen);
    tracing::info!(%address, "berth api listening");
    berth_api::serve(store, options, listener, shutdown_signal()).await?;
    Ok(())
}
