//! TLS: the default certificate, per-domain certificates and client CAs from subscriptions,
//! and choosing between them from the ClientHello's SNI name.

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;

use crate::host::routing_key;
use crate::routing_table::RoutingTable;

/// A certificate, key or CA that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// No certificate in the PEM.
    #[error("no certificate found in the PEM")]
    NoCertificate,
    /// No private key in the PEM.
    #[error("no private key found in the PEM")]
    NoKey,
    /// A PEM that could not be read.
    #[error("bad PEM: {0}")]
    Pem(#[from] std::io::Error),
    /// rustls refused the certificate, key or CA.
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client CA could not build a verifier.
    #[error("client CA refused: {0}")]
    ClientCa(#[from] rustls::server::VerifierBuilderError),
}

/// Whether a domain asks for client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate is asked for.
    Off,
    /// A certificate is verified if offered (`sni_ca=CA`).
    Optional,
    /// A verified certificate is required (`sni_ca=!CA`).
    Mandatory,
}

/// The TLS settings of one domain, built from its first SNI subscription.
#[derive(Debug)]
pub struct DomainTls {
    /// The server configuration to finish handshakes for this domain with.
    pub config: Arc<ServerConfig>,
    /// Client certificate policy.
    pub client_auth: ClientAuth,
}

fn certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = rustls_pemfile::certs(&mut BufReader::new(pem)).collect::<Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    Ok(certs)
}

fn key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    rustls_pemfile::private_key(&mut BufReader::new(pem))?.ok_or(TlsError::NoKey)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn finish(mut config: ServerConfig) -> Arc<ServerConfig> {
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The default configuration from the `--cert` and `--key` files.
pub fn default_config(cert: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = certs(&std::fs::read(cert)?)?;
    let key = key(&std::fs::read(key_file)?)?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(finish(config))
}

impl DomainTls {
    /// Build a domain's settings from PEM certificate chain, key and optional client CA
    /// (the CA value's leading `!`, if any, already stripped and given as `mandatory`).
    pub fn from_pem(
        crt: &[u8],
        key_pem: &[u8],
        ca: Option<(&[u8], bool)>,
    ) -> Result<DomainTls, TlsError> {
        let chain = certs(crt)?;
        let key = key(key_pem)?;
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?;
        let (config, client_auth) = match ca {
            None => (
                builder.with_no_client_auth().with_single_cert(chain, key)?,
                ClientAuth::Off,
            ),
            Some((ca_pem, mandatory)) => {
                let mut roots = RootCertStore::empty();
                for ca in certs(ca_pem)? {
                    roots.add(ca)?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
                let (verifier, auth) = if mandatory {
                    (verifier.build()?, ClientAuth::Mandatory)
                } else {
                    (
                        verifier.allow_unauthenticated().build()?,
                        ClientAuth::Optional,
                    )
                };
                (
                    builder
                        .with_client_cert_verifier(verifier)
                        .with_single_cert(chain, key)?,
                    auth,
                )
            }
        };
        Ok(DomainTls {
            config: finish(config),
            client_auth,
        })
    }
}

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
