//! The DNS proof of a domain: a TXT record `uwsgi:<customer uuid>` on the name or one of its
//! parents (down to two labels), as uwsgi.it checks it.
//!
//! By default the proof asks the domain's own name servers, so that a record just added is
//! seen at once, without waiting for caches: it looks up the NS records of the name (or of
//! the nearest parent that has them), resolves at most four of them and sends the TXT queries
//! there. When no name server is found it asks the resolver instead. With a DNS server
//! configured (`--dns-server`), every query goes to that one server.
//!
//! DNS trouble never becomes a server error: every failure is a [`ProofFailure`] whose reason
//! says which record was looked for, where, and what went wrong.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use berth_model::domain::{self, DomainName};
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};

/// How long one DNS query may take (uwsgi.it's value).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// At most this many name servers are asked (as uwsgi.it).
const MAX_NAME_SERVERS: usize = 4;

/// The port name servers answer on.
const DNS_PORT: u16 = 53;

/// Where the proof sends its queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsMode {
    /// Ask the domain's authoritative name servers, found through `resolver` (the system's
    /// resolver from `/etc/resolv.conf` when `None`), as uwsgi.it does.
    Authoritative {
        /// The resolver that finds the name servers and answers when there are none.
        resolver: Option<SocketAddr>,
    },
    /// Send every query to this one server.
    Server(SocketAddr),
}

/// How domains are proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsProofConfig {
    /// Where queries go.
    pub mode: DnsMode,
    /// How long one query may take.
    pub timeout: Duration,
}

impl Default for DnsProofConfig {
    /// uwsgi.it's behaviour: authoritative servers, found through the system resolver.
    fn default() -> Self {
        Self {
            mode: DnsMode::Authoritative { resolver: None },
            timeout: QUERY_TIMEOUT,
        }
    }
}

impl DnsProofConfig {
    /// Every query to `server`.
    pub fn server(server: SocketAddr) -> Self {
        Self {
            mode: DnsMode::Server(server),
            ..Self::default()
        }
    }
}

/// Parses a DNS server address: `ip` (port 53) or `ip:port` (`[v6]:port` for IPv6).
pub fn parse_server(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, DNS_PORT));
    }
    text.parse::<SocketAddr>()
        .map_err(|_| format!("{text:?} is not an IP address or ip:port"))
}

/// Why a domain could not be proved, in words for its customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProofFailure(pub String);

/// What one TXT query found.
enum Answer {
    /// The proof record is there.
    Proved,
    /// Other TXT strings starting with `uwsgi:` (a likely typo or another customer's uuid).
    Others(Vec<String>),
}

/// Where queries went, for the failure's reason.
struct Asked {
    resolver: TokioResolver,
    description: String,
}

/// Resolver options: a query is sent twice at most (a lost UDP datagram is not a failed
/// proof), each try getting half of `timeout`, so that one query takes `timeout` at most.
fn options(timeout: Duration) -> ResolverOpts {
    let mut options = ResolverOpts::default();
    options.timeout = timeout / 2;
    options.attempts = 1;
    options.use_hosts_file = ResolveHosts::Never;
    options
}

fn build(config: ResolverConfig, timeout: Duration) -> Result<TokioResolver, ProofFailure> {
    Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options(timeout))
        .build()
        .map_err(|error| ProofFailure(format!("cannot set up DNS queries: {error}")))
}

/// A resolver that asks exactly `servers`, over UDP (and TCP for long answers).
fn resolver_for(servers: &[SocketAddr], timeout: Duration) -> Result<TokioResolver, ProofFailure> {
    let name_servers = servers
        .iter()
        .map(|server| {
            let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                .into_iter()
                .map(|mut connection| {
                    connection.port = server.port();
                    connection
                })
                .collect();
            NameServerConfig::new(server.ip(), true, connections)
        })
        .collect();
    build(ResolverConfig::from_name_servers(name_servers), timeout)
}

/// The resolver the authoritative mode starts from.
fn bootstrap(resolver: Option<SocketAddr>, timeout: Duration) -> Result<Asked, ProofFailure> {
    match resolver {
        Some(server) => Ok(Asked {
            resolver: resolver_for(&[server], timeout)?,
            description: server.to_string(),
        }),
        None => {
            let mut builder = TokioResolver::builder_tokio().map_err(|error| {
                ProofFailure(format!(
                    "cannot read this server's DNS configuration: {error}"
                ))
            })?;
            *builder.options_mut() = options(timeout);
            let resolver = builder
                .build()
                .map_err(|error| ProofFailure(format!("cannot set up DNS queries: {error}")))?;
            Ok(Asked {
                resolver,
                description: "the system resolver".to_owned(),
            })
        }
    }
}

fn fqdn(name: &str) -> String {
    format!("{name}.")
}

fn timed_out(timeout: Duration, asked: &str, what: &str) -> ProofFailure {
    ProofFailure(format!(
        "the DNS query timed out: {asked} did not answer within {} s when asked for {what}; \
         try again later",
        timeout.as_secs_f32()
    ))
}

/// The addresses of the name servers of `name` or of its nearest parent that has some;
/// empty when none are found (the resolver then answers the TXT queries itself).
async fn name_servers(bootstrap: &Asked, name: &DomainName) -> Vec<SocketAddr> {
    for candidate in name.proof_names() {
        let lookup = match bootstrap.resolver.ns_lookup(fqdn(&candidate)).await {
            Ok(lookup) => lookup,
            Err(error) if error.is_no_records_found() => continue,
            Err(error) => {
                tracing::debug!(%candidate, %error, "NS lookup failed; using the resolver");
                return Vec::new();
            }
        };
        let hosts: Vec<String> = lookup
            .answers()
            .iter()
            .filter(|record| {
                record
                    .name
                    .to_ascii()
                    .trim_end_matches('.')
                    .eq_ignore_ascii_case(&candidate)
            })
            .filter_map(|record| match &record.data {
                RData::NS(ns) => Some(ns.0.to_ascii()),
                _ => None,
            })
            .take(MAX_NAME_SERVERS)
            .collect();
        if hosts.is_empty() {
            continue;
        }
        let mut lookups = tokio::task::JoinSet::new();
        for host in hosts {
            let resolver = bootstrap.resolver.clone();
            lookups.spawn(async move { resolver.lookup_ip(host).await });
        }
        let mut addresses = Vec::new();
        while let Some(joined) = lookups.join_next().await {
            if let Ok(Ok(ips)) = joined {
                if let Some(ip) = ips.iter().next() {
                    addresses.push(SocketAddr::new(ip, DNS_PORT));
                }
            }
        }
        addresses.sort();
        addresses.dedup();
        return addresses;
    }
    Vec::new()
}

/// Asks for the TXT records of `name`.
async fn txt(asked: &Asked, name: &str, wanted: &str) -> Result<Answer, NetError> {
    let lookup = match asked.resolver.txt_lookup(fqdn(name)).await {
        Ok(lookup) => lookup,
        Err(error) if error.is_no_records_found() => return Ok(Answer::Others(Vec::new())),
        Err(error) => return Err(error),
    };
    let mut others = Vec::new();
    for record in lookup.answers() {
        let RData::TXT(txt) = &record.data else {
            continue;
        };
        let text: String = txt
            .txt_data
            .iter()
            .map(|part| String::from_utf8_lossy(part))
            .collect();
        if text.contains(wanted) {
            return Ok(Answer::Proved);
        }
        if text.starts_with("uwsgi:") {
            others.push(text);
        }
    }
    Ok(Answer::Others(others))
}

/// Proves that the customer with `customer_uuid` controls `name`.
pub async fn prove(
    config: &DnsProofConfig,
    name: &DomainName,
    customer_uuid: &str,
) -> Result<(), ProofFailure> {
    let timeout = config.timeout;
    let asked = match config.mode {
        DnsMode::Server(server) => Asked {
            resolver: resolver_for(&[server], timeout)?,
            description: server.to_string(),
        },
        DnsMode::Authoritative { resolver } => {
            let bootstrap = bootstrap(resolver, timeout)?;
            let servers = name_servers(&bootstrap, name).await;
            if servers.is_empty() {
                bootstrap
            } else {
                let shown: Vec<String> = servers.iter().map(|s| s.ip().to_string()).collect();
                Asked {
                    resolver: resolver_for(&servers, timeout)?,
                    description: format!("the name servers {}", shown.join(", ")),
                }
            }
        }
    };
    let wanted = domain::proof_record(customer_uuid);
    let names = name.proof_names();
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for candidate in &names {
        match txt(&asked, candidate, &wanted).await {
            Ok(Answer::Proved) => return Ok(()),
            Ok(Answer::Others(others)) => found.extend(
                others
                    .into_iter()
                    .map(|text| format!("\"{text}\" on {candidate}")),
            ),
            Err(NetError::Timeout) => {
                return Err(timed_out(
                    timeout,
                    &asked.description,
                    &format!("the TXT records of {candidate}"),
                ))
            }
            Err(error) => failures.push(format!("{candidate}: {error}")),
        }
    }
    let place = match names.as_slice() {
        [only] => only.clone(),
        [first, .., last] => format!("{first} or its parent names down to {last}"),
        [] => name.host().to_owned(),
    };
    let mut reason = format!(
        "no TXT record \"{wanted}\" on {place} (asked {})",
        asked.description
    );
    if !found.is_empty() {
        found.truncate(3);
        reason.push_str(&format!("; found {} instead", found.join(", ")));
    }
    if !failures.is_empty() {
        reason.push_str(&format!("; the queries failed: {}", failures.join("; ")));
    }
    Err(ProofFailure(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_an_ip_or_ip_and_port() {
        assert_eq!(
            parse_server("127.0.0.1"),
            Ok("127.0.0.1:53".parse().expect("addr"))
        );
        assert_eq!(
            parse_server("127.0.0.1:5353"),
            Ok("127.0.0.1:5353".parse().expect("addr"))
        );
        assert_eq!(parse_server("::1"), Ok("[::1]:53".parse().expect("addr")));
        assert_eq!(
            parse_server("[::1]:5353"),
            Ok("[::1]:5353".parse().expect("addr"))
        );
        assert!(parse_server("dns.example.com").is_err());
        assert!(parse_server("127.0.0.1:99999").is_err());
    }
}
