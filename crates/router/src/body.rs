//! Body wrappers that count bytes per node and domain, and keep in-flight counts and the
//! HTTP keep-alive pool right.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;

use crate::node::{Counters, Node};
use crate::routing_table::Slot;
use crate::upstream::RequestBody;

/// One request in flight to a node; the count drops when this does.
#[derive(Debug)]
pub struct InFlight(Arc<Node>);

impl InFlight {
    /// Count a request to `node`.
    pub fn start(node: Arc<Node>) -> InFlight {
        node.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(node)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A client's request body on its way to a node, counted as bytes in.
#[derive(Debug)]
pub struct RequestCounter {
    inner: Incoming,
    node: Arc<Node>,
    slot: Arc<Slot>,
}

impl RequestCounter {
    /// Count `inner` against `node` and `slot`, boxed for the upstream client.
    pub fn boxed(inner: Incoming, node: Arc<Node>, slot: Arc<Slot>) -> RequestBody {
        RequestBody::new(RequestCounter { inner, node, slot })
    }
}

impl Body for RequestCounter {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                let n = data.len() as u64;
                Counters::add(&this.node.counters.bytes_in, n);
                Counters::add(&this.slot.counters.bytes_in, n);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A node's response body on its way to the client: counted as bytes out; when it ends, a
/// kept-alive HTTP connection goes back to the node's pool.
#[derive(Debug)]
pub struct ResponseRelay {
    inner: Incoming,
    slot: Arc<Slot>,
    in_flight: InFlight,
    reusable: Option<SendRequest<RequestBody>>,
}

impl ResponseRelay {
    /// Relay `inner`; `reusable` is the HTTP connection to pool once the body is complete.
    pub fn new(
        inner: Incoming,
        slot: Arc<Slot>,
        in_flight: InFlight,
        reusable: Option<SendRequest<RequestBody>>,
    ) -> ResponseRelay {
        ResponseRelay {
            inner,
            slot,
            in_flight,
            reusable,
        }
    }

    fn finished(&mut self) {
        if let Some(sender) = self.reusable.take() {
            self.in_flight.0.http_pool.put(sender);
        }
    }
}

impl Drop for ResponseRelay {
    fn drop(&mut self) {
        // A body hyper knew was empty (Content-Length: 0, HEAD) is never polled.
        if self.inner.is_end_stream() {
            self.finished();
        }
    }
}

impl Body for ResponseRelay {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let n = data.len() as u64;
                    Counters::add(&this.in_flight.0.counters.bytes_out, n);
                    Counters::add(&this.slot.counters.bytes_out, n);
                }
                if this.inner.is_end_stream() {
                    this.finished();
                }
            }
            Poll::Ready(None) => this.finished(),
            Poll::Ready(Some(Err(_))) => {
                this.reusable = None;
                Counters::add(&this.in_flight.0.counters.errors, 1);
                Counters::add(&this.slot.counters.errors, 1);
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
