//! The head of the HTTP/1.x response a node answers with (raw after a uwsgi request, or
//! from a plain HTTP node), and how the body after it is delimited (RFC 9112 §6.3).
//!
//! ```
//! use berth_wire::{Framing, ResponseHead};
//! let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
//! let head = ResponseHead::parse(raw, false).expect("valid").expect("complete");
//! assert_eq!((head.status, head.len), (200, raw.len() - 5));
//! assert_eq!(head.framing, Framing::Length(5));
//! assert!(head.keep_alive);
//! assert_eq!(&raw[head.headers[0].name.clone()], b"Content-Length");
//! ```

use std::ops::Range;

use crate::error::Http1Error;

/// Most headers a response head may carry.
pub const MAX_HEADERS: usize = 100;

/// Largest response head accepted (status line, headers and the blank line).
pub const MAX_HEAD: usize = 64 * 1024;

/// One header of a parsed head: where its name and value are in the parsed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRange {
    /// The name, as sent.
    pub name: Range<usize>,
    /// The value, without surrounding whitespace.
    pub value: Range<usize>,
}

/// How the body that follows a head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: a HEAD request, a 1xx, 204 or 304 status.
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the node closes the connection.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Bytes of the head, the blank line included: the body starts here.
    pub len: usize,
    /// The status code (100–999).
    pub status: u16,
    /// The reason phrase's place in the parsed bytes.
    pub reason: Range<usize>,
    /// The headers in order, with their places in the parsed bytes.
    pub headers: Vec<HeaderRange>,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the connection may carry another request after this response's body: an
    /// HTTP/1.1 response, no `Connection: close`, and a body with a known end.
    pub keep_alive: bool,
}

fn offset(buf: &[u8], part: &[u8]) -> Range<usize> {
    // `part` is a subslice of `buf` (httparse hands out slices of its input).
    let start = (part.as_ptr() as usize).saturating_sub(buf.as_ptr() as usize);
    start..start + part.len()
}

fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

fn content_length(value: &[u8], seen: Option<u64>) -> Result<u64, Http1Error> {
    let mut found = seen;
    for part in value.split(|b| *b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(Http1Error::ContentLength);
        }
        let n = part.iter().try_fold(0u64, |n, d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        });
        match (n, found) {
            (None, _) => return Err(Http1Error::ContentLength),
            (Some(n), Some(f)) if n != f => return Err(Http1Error::ContentLength),
            (Some(n), _) => found = Some(n),
        }
    }
    found.ok_or(Http1Error::ContentLength)
}

impl ResponseHead {
    /// Parse the head at the start of `buf`: `Ok(None)` while it is incomplete (and
    /// shorter than [`MAX_HEAD`]). `head_request` says the request was HEAD, whose
    /// response has no body whatever its headers say.
    pub fn parse(buf: &[u8], head_request: bool) -> Result<Option<ResponseHead>, Http1Error> {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut slots);
        let len = match resp.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
                return Err(Http1Error::HeadTooLarge)
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(Http1Error::Head("too many headers"))
            }
            Err(_) => return Err(Http1Error::Head("not an HTTP/1.x response head")),
        };
        if len > MAX_HEAD {
            return Err(Http1Error::HeadTooLarge);
        }
        let status = resp
            .code
            .filter(|c| *c >= 100)
            .ok_or(Http1Error::Head("no status, or one below 100"))?;
        let http11 = resp.version == Some(1);
        let reason = offset(buf, resp.reason.unwrap_or_default().as_bytes());
        let mut headers = Vec::with_capacity(resp.headers.len());
        let mut close = false;
        let mut chunked = None;
        let mut length = None;
        for h in resp.headers.iter() {
            let name = h.name.as_bytes();
            if name.eq_ignore_ascii_case(b"connection") {
                close |= has_token(h.value, "close");
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                // The last coding decides: chunked, or the body runs until close.
                if let Some(last) = h.value.rsplit(|b| *b == b',').next() {
                    chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
                }
            } else if name.eq_ignore_ascii_case(b"content-length") {
                length = Some(content_length(h.value, length)?);
            }
            headers.push(HeaderRange {
                name: offset(buf, name),
                value: offset(buf, h.value),
            });
        }
        let framing = if head_request || status < 200 || status == 204 || status == 304 {
            Framing::Empty
        } else {
            match (chunked, length) {
                (Some(true), _) => Framing::Chunked,
                (Some(false), _) => Framing::UntilClose,
                (None, Some(n)) => Framing::Length(n),
                (None, None) => Framing::UntilClose,
            }
        };
        Ok(Some(ResponseHead {
            len,
            status,
            reason,
            headers,
            framing,
            keep_alive: http11 && !close && framing != Framing::UntilClose,
        }))
    }

    /// A 1xx response other than 101: an interim answer, the final one follows.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> ResponseHead {
        ResponseHead::parse(raw, false)
            .expect("valid")
            .expect("complete")
    }

    #[test]
    fn framing_follows_the_headers() {
        let h = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(h.framing, Framing::Chunked);
        assert!(h.keep_alive);
        let h = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
        assert_eq!(h.framing, Framing::UntilClose);
        assert!(!h.keep_alive);
        let h = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\nContent-Length: 7\r\n\r\n");
        assert_eq!(h.framing, Framing::Length(7));
        let h = parse(b"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n");
        assert_eq!(h.framing, Framing::Empty);
        let h =
            parse(b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(h.framing, Framing::Length(0));
        assert!(!h.keep_alive, "Connection: close");
        let h = parse(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
        assert!(!h.keep_alive, "HTTP/1.0");
        let h = parse(b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(h.framing, Framing::UntilClose);
        let h = ResponseHead::parse(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true)
            .expect("valid")
            .expect("complete");
        assert_eq!(h.framing, Framing::Empty);
        assert!(parse(b"HTTP/1.1 100 Continue\r\n\r\n").is_interim());
        assert!(!parse(b"HTTP/1.1 101 Switching Protocols\r\n\r\n").is_interim());
    }

    #[test]
    fn ranges_point_into_the_input() {
        let raw = b"HTTP/1.1 404 Not Found\r\nX-A:  b c \r\n\r\nbody";
        let h = parse(raw);
        assert_eq!(h.status, 404);
        assert_eq!(h.len, raw.len() - 4);
        assert_eq!(&raw[h.reason.clone()], b"Not Found");
        assert_eq!(&raw[h.headers[0].name.clone()], b"X-A");
        assert_eq!(&raw[h.headers[0].value.clone()], b"b c");
    }

    #[test]
    fn bad_heads_are_errors() {
        let bad: [&[u8]; 5] = [
            b"HTTP/1.1 099 Low\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"HTTX/1.1 200 OK\r\n\r\n",
        ];
        for raw in bad {
            assert!(ResponseHead::parse(raw, false).is_err(), "{raw:?}");
        }
        assert_eq!(ResponseHead::parse(b"HTTP/1.1 200 OK\r\n", false), Ok(None));
        let mut huge = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        huge.resize(MAX_HEAD, b'a');
        assert_eq!(
            ResponseHead::parse(&huge, false),
            Err(Http1Error::HeadTooLarge)
        );
    }
}
