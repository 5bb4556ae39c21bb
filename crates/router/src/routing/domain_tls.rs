//! A domain's TLS settings: the default certificate, and per-domain certificates and client
//! CAs built from the material subscriptions bring (X.509 v1 certificates included).

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};

use crate::downstream::client_cert::V1AwareVerifier;

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
    /// The certificate could not be parsed.
    #[error("bad certificate: {0}")]
    Certificate(String),
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
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

/// The TLS settings of one domain, built from the newest TLS material its subscriptions
/// brought.
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

/// The certificate chain with its key, checked to belong together. rustls's own check
/// (`with_single_cert`) parses the certificate with webpki, which refuses X.509 v1
/// certificates, the kind `openssl x509 -req -signkey` makes in the customer quickstart; a
/// server needs no such validation of its own certificate, so the key is matched here by
/// comparing public keys.
fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let signing = provider().key_provider.load_private_key(key)?;
    let first = chain.first().ok_or(TlsError::NoCertificate)?;
    let (_, certificate) = x509_parser::parse_x509_certificate(first)
        .map_err(|error| TlsError::Certificate(error.to_string()))?;
    if let Some(public) = signing.public_key() {
        if certificate.tbs_certificate.subject_pki.raw != public.as_ref() {
            return Err(TlsError::KeyMismatch);
        }
    }
    Ok(Arc::new(CertifiedKey::new(chain, signing)))
}

/// Serves one certificate whatever the client asks for (the choice by SNI is made before).
#[derive(Debug)]
struct OneCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn one_certificate(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<OneCertificate>, TlsError> {
    Ok(Arc::new(OneCertificate(certified_key(chain, key)?)))
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
        .with_cert_resolver(one_certificate(chain, key)?);
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
                builder
                    .with_no_client_auth()
                    .with_cert_resolver(one_certificate(chain, key)?),
                ClientAuth::Off,
            ),
            Some((ca_pem, mandatory)) => {
                let cas = certs(ca_pem)?;
                let mut roots = RootCertStore::empty();
                for ca in &cas {
                    roots.add(ca.clone())?;
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
                let verifier = V1AwareVerifier::new(
                    verifier,
                    cas,
                    provider().signature_verification_algorithms,
                );
                (
                    builder
                        .with_client_cert_verifier(Arc::new(verifier))
                        .with_cert_resolver(one_certificate(chain, key)?),
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A key and a self-signed certificate made as the customer quickstart makes them:
    /// `openssl x509 -req -signkey`, an X.509 v1 certificate without extensions.
    fn quickstart_certificate(dir: &Path, name: &str) -> (Vec<u8>, Vec<u8>) {
        let run = |args: &[&str]| {
            let status = std::process::Command::new("openssl")
                .current_dir(dir)
                .args(args)
                .stderr(std::process::Stdio::null())
                .status()
                .expect("openssl runs");
            assert!(status.success(), "openssl {args:?}");
        };
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let crt = format!("{name}.crt");
        run(&["genrsa", "-out", &key, "2048"]);
        run(&[
            "req",
            "-new",
            "-key",
            &key,
            "-out",
            &csr,
            "-subj",
            "/CN=example.org",
        ]);
        run(&[
            "x509", "-req", "-days", "365", "-in", &csr, "-signkey", &key, "-out", &crt,
        ]);
        (
            std::fs::read(dir.join(crt)).expect("certificate"),
            std::fs::read(dir.join(key)).expect("key"),
        )
    }

    /// Settings from a quickstart certificate made in `dir`.
    pub(crate) fn domain_tls(dir: &Path) -> DomainTls {
        let (crt, key) = quickstart_certificate(dir, "slot");
        DomainTls::from_pem(&crt, &key, None).expect("usable")
    }

    #[test]
    fn a_v1_certificate_from_the_quickstart_is_served_and_a_foreign_key_is_refused() {
        let dir = tempfile::tempdir().expect("directory");
        let (crt, key) = quickstart_certificate(dir.path(), "foobar");
        let (_, other_key) = quickstart_certificate(dir.path(), "other");
        let chain = certs(&crt).expect("PEM");
        let (_, parsed) = x509_parser::parse_x509_certificate(&chain[0]).expect("X.509");
        assert_eq!(parsed.version(), x509_parser::x509::X509Version::V1);
        let tls = DomainTls::from_pem(&crt, &key, None).expect("a v1 certificate is usable");
        assert_eq!(tls.client_auth, ClientAuth::Off);
        assert!(matches!(
            DomainTls::from_pem(&crt, &other_key, None),
            Err(TlsError::KeyMismatch)
        ));
    }
}
