//! Any bytes as a vars block: never panics; the well-formed prefix re-encodes byte for byte.
#![no_main]
use berth_wire::vars::{Vars, VarsBuilder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rebuilt = VarsBuilder::new();
    let mut good_len = 0;
    for entry in Vars::new(data) {
        let Ok(entry) = entry else { break };
        assert!(!entry.key.is_empty());
        rebuilt.push(entry.key, entry.value).expect("parsed entries fit");
        good_len = entry.offset + 4 + entry.key.len() + entry.value.len();
    }
    assert_eq!(rebuilt.as_bytes(), &data[..good_len]);
});
