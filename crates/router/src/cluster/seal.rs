//! Datagrams between legion members, sealed with ChaCha20-Poly1305 (ring's AEAD) under the
//! legion's 256-bit key: `nonce (12 bytes) || ciphertext || tag`. Nonces are random; at one
//! announce per vassal and second a collision stays out of reach for the key's lifetime.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

/// Bound to every sealed datagram, so a sealed value of another berth protocol never opens
/// as a cluster subscription.
const AAD: &[u8] = b"berth cluster subscription v1";

/// The legion's key, ready to seal and open.
pub struct SealKey(LessSafeKey);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// The key of 32 bytes; `None` for any other length.
    pub fn new(bytes: &[u8]) -> Option<SealKey> {
        UnboundKey::new(&CHACHA20_POLY1305, bytes)
            .ok()
            .map(|k| SealKey(LessSafeKey::new(k)))
    }

    /// `plain`, sealed under a fresh random nonce; `None` when no randomness is available.
    pub fn seal(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).ok()?;
        let mut sealed = plain.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut sealed,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(out)
    }

    /// The plain text of `sealed`; `None` when it was not sealed with this key or was
    /// altered.
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(AAD), &mut body)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_what_it_sealed_and_nothing_else() {
        let key = SealKey::new(&[7u8; 32]).expect("key");
        let sealed = key.seal(b"key=example.com").expect("sealed");
        assert!(!sealed.windows(7).any(|w| w == b"example"), "not in clear");
        assert_eq!(key.open(&sealed).as_deref(), Some(&b"key=example.com"[..]));
        let other = SealKey::new(&[8u8; 32]).expect("key");
        assert_eq!(other.open(&sealed), None, "another legion's key");
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(key.open(&altered), None, "altered");
        assert_eq!(key.open(b"short"), None);
        assert!(SealKey::new(&[0u8; 16]).is_none());
    }

    proptest::proptest! {
        /// Whatever a host on the network sends the cluster port, opening it neither panics
        /// nor yields anything: only what a member sealed opens.
        #[test]
        fn datagrams_from_anyone_never_open(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let key = SealKey::new(&[7u8; 32]).expect("key");
            proptest::prop_assert_eq!(key.open(&bytes), None);
        }

        /// A sealed datagram with any one byte changed never opens.
        #[test]
        fn any_altered_byte_is_refused(plain in proptest::collection::vec(proptest::num::u8::ANY, 0..512), at in proptest::num::usize::ANY, flip in 1u8..=255) {
            let key = SealKey::new(&[7u8; 32]).expect("key");
            let mut sealed = key.seal(&plain).expect("sealed");
            let at = at % sealed.len();
            sealed[at] ^= flip;
            proptest::prop_assert_eq!(key.open(&sealed), None);
        }
    }
}
