//! Any bytes as a uwsgi packet: never panics; a parsed packet re-encodes to its prefix.
#![no_main]
use berth_wire::Packet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        let again = Packet::encode(p.header.modifier1, p.header.modifier2, p.body)
            .expect("a parsed body fits a header");
        assert_eq!(&data[..again.len()], &again[..]);
    }
});
