//! Any text as a PEM public key (what a sign-check dir or the control plane supplies):
//! never panics, and a key that parses verifies nothing it did not sign.
#![no_main]
use berth_wire::VerifyingKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = VerifyingKey::from_pem(text) {
            assert!(!key.verify(b"message", &[0u8; 4]));
        }
    }
});
