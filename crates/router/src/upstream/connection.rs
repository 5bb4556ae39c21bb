//! Connections to nodes: where a node is reached (its target, from its subscription),
//! connecting over TCP or a unix socket, reading into a buffer, and the idle kept-alive
//! connections of HTTP nodes.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// Where and how a node is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// uwsgi protocol over TCP.
    UwsgiTcp(SocketAddr),
    /// uwsgi protocol over a unix stream socket.
    UwsgiUnix(PathBuf),
    /// Plain HTTP/1.1 over TCP (subscribed with `proto=http`).
    Http(SocketAddr),
}

impl Target {
    /// Read a subscription address: `ip:port` is TCP, anything else a unix path; `proto=http`
    /// asks for plain HTTP (TCP only). `None` for an address that is neither.
    pub fn from_subscription(address: &str, proto: Option<&str>) -> Option<Target> {
        let http = proto.is_some_and(|p| p.eq_ignore_ascii_case("http"));
        if address.contains(':') {
            let addr: SocketAddr = address.parse().ok()?;
            Some(if http {
                Target::Http(addr)
            } else {
                Target::UwsgiTcp(addr)
            })
        } else if http {
            None
        } else {
            Some(Target::UwsgiUnix(PathBuf::from(address)))
        }
    }
}

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

/// A connection to a node: the stream, what was read from it and not used yet, and the
/// bytes of the request being written.
#[derive(Debug)]
pub struct NodeConn {
    /// The stream.
    pub stream: UpstreamStream,
    /// Bytes read from the node and not used yet.
    pub input: BytesMut,
    /// The request bytes to write (reused from request to request on a kept-alive
    /// connection).
    pub output: Vec<u8>,
}

/// How much is read from a node at once.
const READ_CHUNK: usize = 16 * 1024;

impl NodeConn {
    /// A fresh connection over `stream`.
    pub fn new(stream: UpstreamStream) -> NodeConn {
        NodeConn {
            stream,
            input: BytesMut::with_capacity(READ_CHUNK),
            output: Vec::with_capacity(1024),
        }
    }

    /// Read more from the node into `input`; `Ok(0)` at the end of the stream.
    pub fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.input.capacity() - self.input.len() < READ_CHUNK / 4 {
            self.input.reserve(READ_CHUNK);
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.input)
    }

    /// Whether an idle connection can take a request: the node has not closed it and
    /// sent nothing unasked (a read that would block; tokio skips the syscall when the
    /// socket is known not to be readable).
    fn is_reusable(&self) -> bool {
        let mut probe = [0u8; 1];
        let read = match &self.stream {
            UpstreamStream::Tcp(s) => s.try_read(&mut probe),
            UpstreamStream::Unix(s) => s.try_read(&mut probe),
        };
        self.input.is_empty() && matches!(read, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// Idle kept-alive connections to an HTTP node.
#[derive(Debug, Default)]
pub struct IdleConns {
    idle: Mutex<Vec<NodeConn>>,
}

/// Most idle connections kept per HTTP node.
const POOL_MAX_IDLE: usize = 64;

impl IdleConns {
    /// An idle connection that is still usable, if any.
    pub fn take(&self) -> Option<NodeConn> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(conn) = idle.pop() {
            if conn.is_reusable() {
                return Some(conn);
            }
        }
        None
    }

    /// Give back a connection whose response is complete.
    pub fn put(&self, conn: NodeConn) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < POOL_MAX_IDLE {
                idle.push(conn);
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
    use tokio::io::AsyncWriteExt;

    #[test]
    fn targets_from_addresses() {
        assert_eq!(
            Target::from_subscription("127.0.0.1:3031", None),
            Some(Target::UwsgiTcp(([127, 0, 0, 1], 3031).into()))
        );
        assert_eq!(
            Target::from_subscription("127.0.0.1:80", Some("http")),
            Some(Target::Http(([127, 0, 0, 1], 80).into()))
        );
        assert_eq!(
            Target::from_subscription("/run/a.sock", None),
            Some(Target::UwsgiUnix("/run/a.sock".into()))
        );
        assert_eq!(Target::from_subscription("host.name:80", None), None);
        assert_eq!(Target::from_subscription("/run/a.sock", Some("http")), None);
    }

    #[tokio::test]
    async fn closed_or_chatty_idle_connections_are_not_reused() {
        let pool = IdleConns::default();
        let (a, b) = UnixStream::pair().expect("pair");
        pool.put(NodeConn::new(UpstreamStream::Unix(a)));
        assert!(pool.take().is_some(), "an open quiet connection is reused");

        let (a, mut b2) = UnixStream::pair().expect("pair");
        b2.write_all(b"x").await.expect("write");
        drop(b);
        let (c, d) = UnixStream::pair().expect("pair");
        drop(d);
        let c = NodeConn::new(UpstreamStream::Unix(c));
        let a = NodeConn::new(UpstreamStream::Unix(a));
        // Let the runtime see both sockets readable.
        tokio::time::sleep(Duration::from_millis(20)).await;
        pool.put(c);
        pool.put(a);
        assert!(pool.take().is_none(), "neither a closed nor a chatty one");
    }
}
