//! The TLS acceptor: the handshake, choosing the certificate and client CA from the
//! ClientHello's SNI name (a domain's settings from the routing table, else the default).

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;

use crate::routing::host::routing_key;
use crate::routing::table::RoutingTable;

/// What a TLS handshake established, for the request vars and for access checks.
#[derive(Debug, Clone, Default)]
pub struct TlsInfo {
    /// The slot whose settings finished the handshake (`None`: the default certificate).
    pub domain: Option<String>,
    /// The client certificate's subject in OpenSSL's one-line form, if one was verified.
    pub client_dn: Option<String>,
    /// The client certificate in DER, if one was verified.
    pub client_cert: Option<Vec<u8>>,
}

/// The subject of a DER certificate in OpenSSL's one-line form: `/C=IT/O=Unbit/CN=client1`.
pub fn subject_dn(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let registry = x509_parser::objects::oid_registry();
    let mut dn = String::new();
    for rdn in cert.subject().iter_rdn() {
        for attr in rdn.iter() {
            let oid = attr.attr_type();
            let name = x509_parser::objects::oid2abbrev(oid, registry)
                .map(str::to_owned)
                .unwrap_or_else(|_| oid.to_id_string());
            let value = attr.as_str().unwrap_or("");
            dn.push('/');
            dn.push_str(&name);
            dn.push('=');
            dn.push_str(value);
        }
    }
    Some(dn)
}

/// Accepts TLS connections, picking the configuration by SNI from the routing table.
#[derive(Debug, Clone)]
pub struct TlsAcceptor {
    default: Arc<ServerConfig>,
    table: Arc<RoutingTable>,
    handshake_timeout: Duration,
}

impl TlsAcceptor {
    /// An acceptor that falls back to `default`.
    pub fn new(
        default: Arc<ServerConfig>,
        table: Arc<RoutingTable>,
        handshake_timeout: Duration,
    ) -> TlsAcceptor {
        TlsAcceptor {
            default,
            table,
            handshake_timeout,
        }
    }

    /// Finish a handshake: the SNI name's slot (exact, then dotsplit) supplies the
    /// certificate and client CA, else the default certificate is served.
    pub async fn accept(&self, tcp: TcpStream) -> std::io::Result<(TlsStream<TcpStream>, TlsInfo)> {
        let handshake = async {
            let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp).await?;
            let chosen = start
                .client_hello()
                .server_name()
                .and_then(routing_key)
                .and_then(|sni| self.table.tls_for(&sni));
            let (domain, config) = match chosen {
                Some((domain, tls)) => (Some(domain), tls.config.clone()),
                None => (None, self.default.clone()),
            };
            let stream = start.into_stream(config).await?;
            let client_cert = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec());
            let info = TlsInfo {
                domain,
                client_dn: client_cert.as_deref().and_then(subject_dn),
                client_cert,
            };
            Ok::<_, std::io::Error>((stream, info))
        };
        tokio::time::timeout(self.handshake_timeout, handshake)
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
            })?
    }
}
