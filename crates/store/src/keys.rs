//! The RSA-2048 keypair every customer gets: their containers sign router subscriptions with
//! the private key, and routers check them against the public key.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;

use crate::{Result, StoreError};

/// A customer's subscription-signing keypair, PEM-encoded.
#[derive(Debug, Clone)]
pub struct SigningKeypair {
    /// The private key, PKCS#8 PEM (`BEGIN PRIVATE KEY`), as OpenSSL and uWSGI read it.
    pub private_pem: String,
    /// The public key, SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`).
    pub public_pem: String,
}

/// Generates a new RSA-2048 keypair.
pub fn generate() -> Result<SigningKeypair> {
    let crypto = |what: &str| StoreError::Crypto(format!("RSA key generation failed: {what}"));
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| crypto("generate"))?;
    let private: Pkcs8V1Der = pair.as_der().map_err(|_| crypto("private key encoding"))?;
    let public: PublicKeyX509Der = pair
        .public_key()
        .as_der()
        .map_err(|_| crypto("public key encoding"))?;
    Ok(SigningKeypair {
        private_pem: pem::encode(&pem::Pem::new("PRIVATE KEY", private.as_ref())),
        public_pem: pem::encode(&pem::Pem::new("PUBLIC KEY", public.as_ref())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypairs_are_pem_and_distinct() {
        let a = generate().expect("keypair");
        let b = generate().expect("keypair");
        assert!(a.private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(a.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_ne!(a.public_pem, b.public_pem);
        let der = pem::parse(&a.private_pem).expect("pem");
        assert!(KeyPair::from_pkcs8(der.contents()).is_ok());
    }
}
