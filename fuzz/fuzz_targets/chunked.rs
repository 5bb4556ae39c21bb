//! Any bytes as a chunked body: never panics, and feeding them in pieces of any size
//! (the first byte picks it) gives the same body, or the same error, as all at once.
#![no_main]
use berth_wire::{ChunkedDecoder, Http1Error};
use libfuzzer_sys::fuzz_target;

/// The decoded body (and whether it ended) from `input` fed `step` bytes at a time.
fn decode(input: &[u8], step: usize) -> Result<(Vec<u8>, bool), Http1Error> {
    let mut dec = ChunkedDecoder::default();
    let mut pending = Vec::new();
    let mut body = Vec::new();
    let mut fed = 0;
    loop {
        let d = dec.decode(&pending)?;
        assert!(d.data_len <= d.consumed && d.consumed <= pending.len());
        body.extend_from_slice(&pending[d.consumed - d.data_len..d.consumed]);
        pending.drain(..d.consumed);
        if dec.is_done() {
            return Ok((body, true));
        }
        if d.consumed == 0 {
            if fed == input.len() {
                return Ok((body, false));
            }
            let end = (fed + step).min(input.len());
            pending.extend_from_slice(&input[fed..end]);
            fed = end;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let step = usize::from(first % 16) + 1;
    let whole = decode(input, input.len().max(1));
    let pieces = decode(input, step);
    match (&whole, &pieces) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        // Limits on buffered framing may trip for one feeding and not the other only
        // when the input is that large.
        _ => assert!(input.len() > 4096, "{whole:?} vs {pieces:?}"),
    }
});
