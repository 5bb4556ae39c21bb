//! Verifying client certificates against a domain's CA (`sni_ca`). X.509 v3 certificates
//! go through webpki; v1 certificates, which webpki refuses but which the customer
//! quickstart's own `openssl x509 -req -CA ca.crt -CAkey ca.key` makes on OpenSSL 3, are
//! checked here: issued by one of the CAs (issuer name and signature), within their
//! validity period. A v1 certificate has no extensions, so there is nothing else to check.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use x509_parser::certificate::X509Certificate;
use x509_parser::x509::X509Version;

/// webpki for v3 client certificates, the CA's signature for v1 ones.
#[derive(Debug)]
pub struct V1AwareVerifier {
    webpki: Arc<dyn ClientCertVerifier>,
    cas: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl V1AwareVerifier {
    /// Wrap `webpki` (built from the same `cas`), verifying handshake signatures with
    /// `algorithms`.
    pub fn new(
        webpki: Arc<dyn ClientCertVerifier>,
        cas: Vec<CertificateDer<'static>>,
        algorithms: WebPkiSupportedAlgorithms,
    ) -> V1AwareVerifier {
        V1AwareVerifier {
            webpki,
            cas,
            algorithms,
        }
    }

    /// Whether the issuer and signature of the v1 certificate `leaf` are one of the CAs'.
    fn issued_by_a_ca(&self, leaf: &X509Certificate<'_>) -> bool {
        self.cas.iter().any(|ca| {
            x509_parser::parse_x509_certificate(ca).is_ok_and(|(_, ca)| {
                ca.subject().as_raw() == leaf.issuer().as_raw()
                    && leaf.verify_signature(Some(ca.public_key())).is_ok()
            })
        })
    }
}

fn bad_encoding() -> Error {
    Error::InvalidCertificate(CertificateError::BadEncoding)
}

/// The certificate parsed, when it is X.509 v1 (`None` for v3, or what x509-parser cannot
/// read: webpki decides about those).
fn as_v1<'a>(der: &'a CertificateDer<'_>) -> Option<X509Certificate<'a>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    (cert.version() == X509Version::V1).then_some(cert)
}

/// Verify a TLS 1.2 handshake signature with the public key of a v1 certificate: every
/// algorithm of the scheme is tried, as rustls does for v3 certificates.
fn verify_tls12_v1(
    message: &[u8],
    spki: &[u8],
    dss: &DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, Error> {
    let spki = SubjectPublicKeyInfoDer::from(spki);
    let key = webpki::RawPublicKeyEntity::try_from(&spki).map_err(|_| bad_encoding())?;
    let candidates = algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == dss.scheme)
        .map(|(_, algs)| *algs)
        .unwrap_or_default();
    candidates
        .iter()
        .any(|alg| key.verify_signature(*alg, message, dss.signature()).is_ok())
        .then(HandshakeSignatureValid::assertion)
        .ok_or(Error::InvalidCertificate(CertificateError::BadSignature))
}

impl ClientCertVerifier for V1AwareVerifier {
    fn offer_client_auth(&self) -> bool {
        self.webpki.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.webpki.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let Some(leaf) = as_v1(end_entity) else {
            return self
                .webpki
                .verify_client_cert(end_entity, intermediates, now);
        };
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let validity = leaf.validity();
        if now < validity.not_before.timestamp() {
            return Err(Error::InvalidCertificate(CertificateError::NotValidYet));
        }
        if now > validity.not_after.timestamp() {
            return Err(Error::InvalidCertificate(CertificateError::Expired));
        }
        if !self.issued_by_a_ca(&leaf) {
            return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        match as_v1(cert) {
            Some(leaf) => verify_tls12_v1(message, leaf.public_key().raw, dss, &self.algorithms),
            None => self.webpki.verify_tls12_signature(message, cert, dss),
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        match as_v1(cert) {
            Some(leaf) => rustls::crypto::verify_tls13_signature_with_raw_key(
                message,
                &SubjectPublicKeyInfoDer::from(leaf.public_key().raw),
                dss,
                &self.algorithms,
            ),
            None => self.webpki.verify_tls13_signature(message, cert, dss),
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
