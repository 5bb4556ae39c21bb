//! Any bytes as a subscription datagram: never panics; a parsed subscription re-encodes to
//! a datagram that parses to the same fields.
#![no_main]
use berth_wire::Subscription;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sub) = Subscription::parse(data) {
        assert!(!sub.key.is_empty() && sub.key.len() <= 255);
        assert!(!sub.address.is_empty() && sub.address.len() <= 255);
        if let Ok(bytes) = sub.encode() {
            let again = Subscription::parse(&bytes).expect("re-encoded subscription parses");
            assert_eq!(again.key, sub.key);
            assert_eq!(again.address, sub.address);
            assert_eq!(again.kind, sub.kind);
            assert_eq!(again.modifier1, sub.modifier1);
            assert_eq!(again.weight, sub.weight);
            assert_eq!(again.sni_ca, sub.sni_ca);
        }
    }
});
