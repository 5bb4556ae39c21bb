//! Response bodies sent to clients: error pages, and node bodies read straight from the
//! node's connection (by length, chunks or until close), counted as bytes out; a
//! kept-alive HTTP connection goes back to its node's pool as soon as its body is read.

use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use berth_wire::{ChunkedDecoder, Framing};
use bytes::{Buf, Bytes};
use hyper::body::{Body, Frame, SizeHint};

use crate::routing::table::Slot;
use crate::upstream::backend::{Backend, Counters};
use crate::upstream::connection::NodeConn;

/// One request in flight to a node; the count drops when this does.
#[derive(Debug)]
pub struct InFlight(Arc<Backend>);

impl InFlight {
    /// Count a request to `node`.
    pub fn start(node: Arc<Backend>) -> InFlight {
        node.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(node)
    }

    /// The node.
    pub fn node(&self) -> &Arc<Backend> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The body of a response to a client.
#[derive(Debug)]
pub enum ResponseBody {
    /// Nothing (or nothing left).
    Empty,
    /// Bytes known in full: an error page, or a node's body that had already arrived.
    Full(Bytes),
    /// A node's body still to be read from its connection.
    Node(NodeBody),
}

impl ResponseBody {
    /// A body of `bytes`.
    pub fn full(bytes: Bytes) -> ResponseBody {
        if bytes.is_empty() {
            ResponseBody::Empty
        } else {
            ResponseBody::Full(bytes)
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        match this {
            ResponseBody::Empty => Poll::Ready(None),
            ResponseBody::Full(_) => match std::mem::replace(this, ResponseBody::Empty) {
                ResponseBody::Full(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
                _ => Poll::Ready(None),
            },
            ResponseBody::Node(n) => n.poll_data(cx).map(|d| d.map(|r| r.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Empty => true,
            ResponseBody::Full(_) => false,
            ResponseBody::Node(n) => n.conn.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Empty => SizeHint::with_exact(0),
            ResponseBody::Full(b) => SizeHint::with_exact(b.len() as u64),
            ResponseBody::Node(NodeBody {
                state: State::Length(n),
                ..
            }) => SizeHint::with_exact(*n),
            ResponseBody::Node(_) => SizeHint::default(),
        }
    }
}

#[derive(Debug)]
enum State {
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

/// What a node body needs besides its connection.
#[derive(Debug)]
pub struct BodyContext {
    /// The domain, for its counters.
    pub slot: Arc<Slot>,
    /// The request's in-flight count (and its node).
    pub in_flight: InFlight,
    /// Whether the connection goes back to the node's pool once the body is read.
    pub reusable: bool,
}

/// A node's response body, read from its connection.
#[derive(Debug)]
pub struct NodeBody {
    /// `None` once the body is complete (or failed).
    conn: Option<NodeConn>,
    state: State,
    cx: BodyContext,
}

impl NodeBody {
    /// The body framed by `framing` that follows a head on `conn`: already complete
    /// (connection pooled or dropped) when it was empty or all of it had arrived.
    pub fn start(mut conn: NodeConn, framing: Framing, cx: BodyContext) -> ResponseBody {
        let state = match framing {
            Framing::Empty => State::Length(0),
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(ChunkedDecoder::default()),
            Framing::UntilClose => State::UntilClose,
        };
        if let State::Length(n) = state {
            if conn.input.len() as u64 >= n {
                // usize: at most the buffered length.
                let data = conn.input.split_to(n as usize).freeze();
                let mut body = NodeBody {
                    conn: Some(conn),
                    state: State::Length(0),
                    cx,
                };
                body.count(data.len());
                body.finish();
                return ResponseBody::full(data);
            }
        }
        ResponseBody::Node(NodeBody {
            conn: Some(conn),
            state,
            cx,
        })
    }

    fn count(&self, n: usize) {
        let n = n as u64;
        Counters::add(&self.cx.in_flight.node().counters.bytes_out, n);
        Counters::add(&self.cx.slot.counters.bytes_out, n);
    }

    /// The body is complete: pool the connection if it may carry another request.
    fn finish(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.cx.reusable && conn.input.is_empty() {
                self.cx.in_flight.node().http_pool.put(conn);
            }
        }
    }

    fn fail(&mut self, e: io::Error) -> Poll<Option<io::Result<Bytes>>> {
        self.conn = None;
        Counters::add(&self.cx.in_flight.node().counters.errors, 1);
        Counters::add(&self.cx.slot.counters.errors, 1);
        Poll::Ready(Some(Err(e)))
    }

    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return Poll::Ready(None);
            };
            let data = match &mut self.state {
                State::Length(0) => {
                    self.finish();
                    return Poll::Ready(None);
                }
                State::Length(left) if !conn.input.is_empty() => {
                    let n = (*left).min(conn.input.len() as u64);
                    *left -= n;
                    // usize: at most the buffered length.
                    Some(conn.input.split_to(n as usize).freeze())
                }
                State::Chunked(dec) if !conn.input.is_empty() => {
                    let d = match dec.decode(&conn.input) {
                        Ok(d) => d,
                        Err(e) => return self.fail(io::Error::new(io::ErrorKind::InvalidData, e)),
                    };
                    conn.input.advance(d.consumed - d.data_len);
                    if d.data_len > 0 {
                        Some(conn.input.split_to(d.data_len).freeze())
                    } else if dec.is_done() {
                        self.finish();
                        return Poll::Ready(None);
                    } else if d.consumed > 0 {
                        continue;
                    } else {
                        None
                    }
                }
                State::UntilClose if !conn.input.is_empty() => Some(conn.input.split().freeze()),
                _ => None,
            };
            if let Some(data) = data {
                self.count(data.len());
                if matches!(self.state, State::Length(0)) {
                    self.finish();
                }
                return Poll::Ready(Some(Ok(data)));
            }
            match ready!(conn.poll_fill(cx)) {
                Ok(0) if matches!(self.state, State::UntilClose) => {
                    self.conn = None;
                    return Poll::Ready(None);
                }
                Ok(0) => {
                    return self.fail(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the node closed the connection in the middle of a body",
                    ))
                }
                Ok(_) => {}
                Err(e) => return self.fail(e),
            }
        }
    }
}
