//! One request to a node, driven by the request's own task: the request bytes (an HTTP/1.1
//! head or a uwsgi packet) and then the client's body are written while the node's
//! response head is read; the response body is read later by [`NodeBody`](crate::upstream::body::NodeBody).

use std::future::poll_fn;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use berth_wire::{Http1Error, ResponseHead};
use bytes::Bytes;
use hyper::body::{Body, Incoming};
use tokio::io::AsyncWrite;

use crate::routing::table::Slot;
use crate::upstream::backend::{Backend, Counters};
use crate::upstream::connection::NodeConn;

/// Request body bytes gathered before they are written (so a small body leaves in one
/// write with the head).
const GATHER: usize = 64 * 1024;

/// How the client's request body is sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    Empty,
    /// As is: its length was announced (`Content-Length`).
    Identity,
    /// Chunked: the length is not known in advance.
    Chunked,
}

impl BodyFraming {
    /// How to send `body` of a request with or without a `Content-Length` header.
    pub fn of(body: &Incoming, has_length: bool) -> BodyFraming {
        if body.is_end_stream() {
            BodyFraming::Empty
        } else if has_length {
            BodyFraming::Identity
        } else {
            BodyFraming::Chunked
        }
    }
}

/// The client's request body on its way to a node, counted as bytes in.
#[derive(Debug)]
pub struct RequestBody {
    body: Incoming,
    framing: BodyFraming,
    done: bool,
    node: Arc<Backend>,
    slot: Arc<Slot>,
}

impl RequestBody {
    /// Send `body` with `framing`, counting its bytes against `node` and `slot`.
    pub fn new(body: Incoming, framing: BodyFraming, node: Arc<Backend>, slot: Arc<Slot>) -> Self {
        RequestBody {
            body,
            done: framing == BodyFraming::Empty,
            framing,
            node,
            slot,
        }
    }

    /// Append the frames that are ready to `out` (up to [`GATHER`] bytes), with the
    /// chunked framing if any; `Ready` once the body is complete.
    fn poll_gather(&mut self, cx: &mut Context<'_>, out: &mut Vec<u8>) -> Poll<io::Result<()>> {
        while !self.done {
            if out.len() >= GATHER {
                return Poll::Pending;
            }
            match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    if data.is_empty() {
                        continue;
                    }
                    let n = data.len() as u64;
                    Counters::add(&self.node.counters.bytes_in, n);
                    Counters::add(&self.slot.counters.bytes_in, n);
                    if self.framing == BodyFraming::Chunked {
                        let _ = write!(out, "{:x}\r\n", data.len());
                        out.extend_from_slice(&data);
                        out.extend_from_slice(b"\r\n");
                    } else {
                        out.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => return Poll::Ready(Err(io::Error::other(e))),
                None => {
                    if self.framing == BodyFraming::Chunked {
                        out.extend_from_slice(b"0\r\n\r\n");
                    }
                    self.done = true;
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Why a request to a node got no response head.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The node closed the connection before a whole response head.
    #[error("the node closed the connection before answering ({read} bytes read)")]
    Closed {
        /// Response bytes read before the close.
        read: usize,
    },
    /// What the node sent is not an HTTP/1.x response head.
    #[error("bad response: {0}")]
    Bad(#[from] Http1Error),
}

/// The node's answer: its response head, with the connection for the body that follows.
#[derive(Debug)]
pub struct Answer {
    /// The parsed head.
    pub head: ResponseHead,
    /// The head's bytes (what `head`'s ranges point into).
    pub raw: Bytes,
    /// Whether the whole request body was sent (else the connection cannot be reused).
    pub body_sent: bool,
}

/// Write `conn.output` and then `body` to the node, reading its response head meanwhile
/// (interim 1xx answers other than 101 are skipped). When the head comes first, the rest
/// of the body is not sent.
pub async fn exchange(
    conn: &mut NodeConn,
    body: &mut RequestBody,
    head_request: bool,
) -> Result<Answer, ExchangeError> {
    let mut written = 0;
    let mut sending = true;
    let mut send_error = None;
    poll_fn(|cx| {
        if sending {
            match poll_send(conn, body, &mut written, cx) {
                Poll::Ready(Ok(())) => sending = false,
                Poll::Ready(Err(e)) => {
                    // The node may still answer (say, 413 before reading the body).
                    sending = false;
                    send_error = Some(e);
                }
                Poll::Pending => {}
            }
        }
        loop {
            if !conn.input.is_empty() {
                if let Some(head) = ResponseHead::parse(&conn.input, head_request)? {
                    let raw = conn.input.split_to(head.len).freeze();
                    if head.is_interim() {
                        continue;
                    }
                    return Poll::Ready(Ok(Answer {
                        head,
                        raw,
                        body_sent: body.done && written == conn.output.len(),
                    }));
                }
            }
            match ready!(conn.poll_fill(cx)) {
                Ok(0) => {
                    return Poll::Ready(Err(match send_error.take() {
                        Some(e) if conn.input.is_empty() => ExchangeError::Io(e),
                        _ => ExchangeError::Closed {
                            read: conn.input.len(),
                        },
                    }))
                }
                Ok(_) => {}
                Err(e) => return Poll::Ready(Err(e.into())),
            }
        }
    })
    .await
}

/// Write what is gathered in `conn.output` (from `*written` on), gathering body frames as
/// they come; `Ready` once the request is all written.
fn poll_send(
    conn: &mut NodeConn,
    body: &mut RequestBody,
    written: &mut usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    loop {
        if *written > 0 && *written == conn.output.len() {
            conn.output.clear();
            *written = 0;
        }
        let gathered = body.poll_gather(cx, &mut conn.output);
        if let Poll::Ready(Err(e)) = gathered {
            return Poll::Ready(Err(e));
        }
        if *written < conn.output.len() {
            let pending = &conn.output[*written..];
            let n = ready!(Pin::new(&mut conn.stream).poll_write(cx, pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
            continue;
        }
        if gathered.is_ready() {
            return Poll::Ready(Ok(()));
        }
        // All written, and the body has more to come (its waker is registered: with
        // nothing gathered, `poll_gather` only waits on the body).
        return Poll::Pending;
    }
}
