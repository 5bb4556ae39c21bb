//! Subscription signatures: RSASSA-PKCS1-v1_5 over SHA-1, as uWSGI's
//! `sign=SHA1:key.pem` and `subscriptions-sign-check=SHA1:dir` produce and check them.

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::{Digest, Sha1};

/// A key that could not be read, or a signature that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The PEM is neither a SubjectPublicKeyInfo nor a PKCS#1 RSA public key.
    #[error("not an RSA public key in PEM (SPKI or PKCS#1)")]
    BadPublicKey,
    /// The PEM is neither a PKCS#8 nor a PKCS#1 RSA private key.
    #[error("not an unencrypted RSA private key in PEM (PKCS#8 or PKCS#1)")]
    BadPrivateKey,
    /// The RSA operation failed.
    #[error("RSA signing failed: {0}")]
    Rsa(#[from] rsa::Error),
}

/// A domain owner's public key, which checks subscription signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey(RsaPublicKey);

impl VerifyingKey {
    /// Read a PEM public key: `BEGIN PUBLIC KEY` (what `openssl rsa -pubout` writes) or
    /// `BEGIN RSA PUBLIC KEY`.
    pub fn from_pem(pem: &str) -> Result<VerifyingKey, SigningError> {
        let pem = pem.trim();
        RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .map(VerifyingKey)
            .map_err(|_| SigningError::BadPublicKey)
    }

    /// Whether `signature` is this key's RSA-SHA1 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let digest = Sha1::digest(message);
        self.0
            .verify(Pkcs1v15Sign::new::<Sha1>(), &digest, signature)
            .is_ok()
    }
}

/// A private key that signs subscriptions, as a vassal's `sign=SHA1:key.pem` does.
#[derive(Debug, Clone)]
pub struct SigningKey(RsaPrivateKey);

impl SigningKey {
    /// Read an unencrypted PEM private key (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<SigningKey, SigningError> {
        let pem = pem.trim();
        RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map(SigningKey)
            .map_err(|_| SigningError::BadPrivateKey)
    }

    /// The RSA-SHA1 (PKCS#1 v1.5) signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        let digest = Sha1::digest(message);
        Ok(self.0.sign(Pkcs1v15Sign::new::<Sha1>(), &digest)?)
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.to_public_key())
    }
}
