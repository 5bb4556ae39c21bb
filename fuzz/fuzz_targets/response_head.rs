//! Any bytes as a node's response head: never panics; a parsed head's ranges lie within
//! the head, and the head parses the same with anything appended.
#![no_main]
use berth_wire::response_head::MAX_HEAD;
use berth_wire::ResponseHead;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let head_request = data.first().is_some_and(|b| b & 1 == 1);
    let Ok(Some(head)) = ResponseHead::parse(data, head_request) else {
        return;
    };
    assert!(head.len <= data.len() && head.len <= MAX_HEAD);
    assert!((100..=999).contains(&head.status));
    assert!(head.reason.end <= head.len);
    for h in &head.headers {
        assert!(h.name.end <= head.len && h.value.end <= head.len);
        assert!(!data[h.name.clone()].is_empty());
    }
    let mut longer = data[..head.len].to_vec();
    longer.extend_from_slice(b"trailing body bytes");
    assert_eq!(ResponseHead::parse(&longer, head_request), Ok(Some(head)));
});
