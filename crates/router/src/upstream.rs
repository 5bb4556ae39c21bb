//! Talking to nodes: connecting, the uwsgi protocol (vars, then the raw HTTP response),
//! and plain HTTP with kept-alive connections.

use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::node::Target;

/// The body type of requests sent to nodes.
pub type RequestBody = BoxBody<Bytes, hyper::Error>;

/// A stream to a node, over TCP or a unix socket.
#[derive(Debug)]
pub enum UpstreamStream {
    /// TCP.
    Tcp(TcpStream),
    /// Unix stream socket.
    Unix(UnixStream),
}

/// Connect to a node within `timeout`.
pub async fn connect(target: &Target, timeout: Duration) -> io::Result<UpstreamStream> {
    let connecting = async {
        match target {
            Target::UwsgiTcp(addr) | Target::Http(addr) => {
                let s = TcpStream::connect(addr).await?;
                s.set_nodelay(true)?;
                Ok(UpstreamStream::Tcp(s))
            }
            Target::UwsgiUnix(path) => Ok(UpstreamStream::Unix(UnixStream::connect(path).await?)),
        }
    };
    tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))?
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            UpstreamStream::Tcp($s) => $e,
            UpstreamStream::Unix($s) => $e,
        }
    };
}

impl AsyncRead for UpstreamStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for UpstreamStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

const HEAD_END: &[u8; 4] = b"\r\n\r\n";

#[derive(Debug)]
enum UwsgiState {
    /// Swallowing the HTTP/1.1 request head hyper writes; `matched` bytes of `\r\n\r\n` seen.
    Head { matched: usize },
    /// Writing the uwsgi packet (header + vars) in place of that head.
    Packet { pos: usize },
    /// Passing the request body through.
    Body,
}

/// A node stream dressed so that hyper's HTTP/1 client can drive a uwsgi request: the
/// request head hyper writes is replaced by the uwsgi packet, the body that follows is
/// passed through as is (identity with Content-Length, chunked otherwise, exactly what
/// uWSGI's `http-chunked-input` forwards), and the node's raw HTTP response is read back by
/// hyper's parser: status, headers, then a body framed by length, chunks or EOF.
#[derive(Debug)]
pub struct UwsgiStream {
    inner: UpstreamStream,
    packet: Vec<u8>,
    state: UwsgiState,
}

impl UwsgiStream {
    /// Wrap `inner`; `packet` is the uwsgi header and vars to send first.
    pub fn new(inner: UpstreamStream, packet: Vec<u8>) -> UwsgiStream {
        UwsgiStream {
            inner,
            packet,
            state: UwsgiState::Head { matched: 0 },
        }
    }

    fn poll_packet(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let UwsgiState::Packet { pos } = self.state {
            if pos >= self.packet.len() {
                self.state = UwsgiState::Body;
                self.packet = Vec::new();
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.packet[pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.state = UwsgiState::Packet { pos: pos + n };
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for UwsgiStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for UwsgiStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let UwsgiState::Head { mut matched } = this.state {
            for (i, b) in buf.iter().enumerate() {
                matched = if *b == HEAD_END[matched] {
                    matched + 1
                } else if *b == HEAD_END[0] {
                    1
                } else {
                    0
                };
                if matched == HEAD_END.len() {
                    this.state = UwsgiState::Packet { pos: 0 };
                    return Poll::Ready(Ok(i + 1));
                }
            }
            this.state = UwsgiState::Head { matched };
            return Poll::Ready(Ok(buf.len()));
        }
        ready!(this.poll_packet(cx))?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_packet(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_packet(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// Start an HTTP/1 client connection over `io`, driven by a spawned task; upgrades
/// (websockets) are let through.
pub async fn handshake<T>(io: T) -> Result<SendRequest<RequestBody>, hyper::Error>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(io))
        .await?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "upstream connection ended with an error");
        }
    });
    Ok(sender)
}

/// Idle kept-alive connections to an HTTP node.
#[derive(Debug, Default)]
pub struct HttpPool {
    idle: Mutex<Vec<SendRequest<RequestBody>>>,
}

/// Most idle connections kept per HTTP node.
const POOL_MAX_IDLE: usize = 64;

impl HttpPool {
    /// An idle connection that is still open, if any (the caller awaits its readiness).
    pub fn take(&self) -> Option<SendRequest<RequestBody>> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    /// Give back a connection whose response is complete.
    pub fn put(&self, sender: SendRequest<RequestBody>) {
        if sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < POOL_MAX_IDLE {
                idle.push(sender);
            }
        }
    }

    /// Drop every idle connection.
    pub fn clear(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn head_is_replaced_by_the_packet() {
        let (a, mut b) = UnixStream::pair().expect("pair");
        let mut s = UwsgiStream::new(UpstreamStream::Unix(a), b"PKT".to_vec());
        s.write_all(b"POST / HTTP/1.1\r\nhost: x\r")
            .await
            .expect("w");
        s.write_all(b"\n\r\nbody").await.expect("w");
        s.flush().await.expect("flush");
        drop(s);
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.expect("read");
        assert_eq!(got, b"PKTbody");
    }
}
