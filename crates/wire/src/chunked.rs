//! Decoding a chunked HTTP/1.1 body (RFC 9112 §7.1) as it arrives, in any pieces.
//! Chunk extensions and trailers are read and dropped.
//!
//! ```
//! use berth_wire::ChunkedDecoder;
//! let mut input = &b"5\r\nhello\r\n0\r\n\r\n"[..];
//! let mut dec = ChunkedDecoder::default();
//! let mut body = Vec::new();
//! while !dec.is_done() {
//!     let d = dec.decode(input).expect("valid");
//!     body.extend_from_slice(&input[d.consumed - d.data_len..d.consumed]);
//!     input = &input[d.consumed..];
//! }
//! assert_eq!(body, b"hello");
//! ```

use crate::error::Http1Error;

/// Longest chunk size line (with extensions) accepted.
const MAX_SIZE_LINE: usize = 4096;

/// Most bytes of trailers accepted.
const MAX_TRAILERS: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Expecting a chunk size line.
    #[default]
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// Reading trailer lines after the last chunk; this many bytes so far.
    Trailers(usize),
    /// The body is complete.
    Done,
}

/// An incremental chunked-body decoder.
#[derive(Debug, Clone, Default)]
pub struct ChunkedDecoder {
    state: State,
}

/// What one [`ChunkedDecoder::decode`] step did with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the input used up (framing and data).
    pub consumed: usize,
    /// Body bytes found: the last `data_len` of the consumed bytes.
    pub data_len: usize,
}

impl ChunkedDecoder {
    /// Whether the last chunk and the trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Read framing from `buf` until some body data is found (returned at once), more
    /// input is needed, or the body is done. `consumed == 0` with no data and not done:
    /// give it more bytes.
    pub fn decode(&mut self, buf: &[u8]) -> Result<Decoded, Http1Error> {
        let mut pos = 0;
        loop {
            let rest = &buf[pos..];
            match self.state {
                State::Done => {
                    return Ok(Decoded {
                        consumed: pos,
                        data_len: 0,
                    })
                }
                State::Size => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((used, 0))) => {
                        pos += used;
                        self.state = State::Trailers(0);
                    }
                    Ok(httparse::Status::Complete((used, size))) => {
                        pos += used;
                        self.state = State::Data(size);
                    }
                    Ok(httparse::Status::Partial) if rest.len() < MAX_SIZE_LINE => {
                        return Ok(Decoded {
                            consumed: pos,
                            data_len: 0,
                        })
                    }
                    _ => return Err(Http1Error::ChunkSize),
                },
                State::Data(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    if n == 0 {
                        return Ok(Decoded {
                            consumed: pos,
                            data_len: 0,
                        });
                    }
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                    return Ok(Decoded {
                        consumed: pos + n,
                        data_len: n,
                    });
                }
                State::DataEnd => match rest {
                    [b'\r', b'\n', ..] => {
                        pos += 2;
                        self.state = State::Size;
                    }
                    [] | [b'\r'] => {
                        return Ok(Decoded {
                            consumed: pos,
                            data_len: 0,
                        })
                    }
                    _ => return Err(Http1Error::ChunkEnd),
                },
                State::Trailers(seen) => {
                    let Some(eol) = rest.iter().position(|b| *b == b'\n') else {
                        if seen + rest.len() > MAX_TRAILERS {
                            return Err(Http1Error::TrailersTooLarge);
                        }
                        return Ok(Decoded {
                            consumed: pos,
                            data_len: 0,
                        });
                    };
                    let line = &rest[..eol];
                    pos += eol + 1;
                    if line.is_empty() || line == b"\r" {
                        self.state = State::Done;
                    } else if seen + eol + 1 > MAX_TRAILERS {
                        return Err(Http1Error::TrailersTooLarge);
                    } else {
                        self.state = State::Trailers(seen + eol + 1);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode `input` fed in pieces of `step` bytes; the body, or the error.
    fn decode_in_pieces(input: &[u8], step: usize) -> Result<Vec<u8>, Http1Error> {
        let mut dec = ChunkedDecoder::default();
        let mut pending = Vec::new();
        let mut body = Vec::new();
        let mut fed = 0;
        while !dec.is_done() {
            let d = dec.decode(&pending)?;
            body.extend_from_slice(&pending[d.consumed - d.data_len..d.consumed]);
            pending.drain(..d.consumed);
            if d.consumed == 0 && !dec.is_done() {
                if fed >= input.len() {
                    return Err(Http1Error::ChunkEnd);
                }
                let end = (fed + step).min(input.len());
                pending.extend_from_slice(&input[fed..end]);
                fed = end;
            }
        }
        Ok(body)
    }

    #[test]
    fn any_split_gives_the_same_body() {
        let input = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
        for step in 1..input.len() {
            assert_eq!(
                decode_in_pieces(input, step).as_deref(),
                Ok(&b"hello world"[..]),
                "step {step}"
            );
        }
    }

    #[test]
    fn bad_framing_is_an_error() {
        assert_eq!(
            decode_in_pieces(b"5\r\nhelloX\r\n0\r\n\r\n", 100),
            Err(Http1Error::ChunkEnd)
        );
        assert_eq!(decode_in_pieces(b"zz\r\n", 100), Err(Http1Error::ChunkSize));
        assert_eq!(
            decode_in_pieces(b"fffffffffffffffffffff\r\n", 100),
            Err(Http1Error::ChunkSize)
        );
        let mut long_trailer = b"0\r\nX: ".to_vec();
        long_trailer.resize(MAX_TRAILERS + 10, b'a');
        assert_eq!(
            decode_in_pieces(&long_trailer, 4096),
            Err(Http1Error::TrailersTooLarge)
        );
    }
}
