//! Plain HTTP nodes (`proto=http`): kept-alive connections, every body framing both ways,
//! upgrades, and nodes that misbehave.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_router::RouterConfig;
use berth_wire::Subscription;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use support::{eventually, start_router, TestRouter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

fn full(text: impl Into<Bytes>) -> Body {
    Full::new(text.into()).boxed()
}

/// A hyper HTTP/1.1 node: `/len` (Content-Length), `/chunked` (three chunks), `/echo`
/// (the request's forwarding headers and body). Counts its connections.
async fn hyper_node() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let conns = Arc::new(AtomicUsize::new(0));
    let count = conns.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let service = service_fn(|req: Request<Incoming>| async move {
                let resp = match req.uri().path() {
                    "/len" => Response::new(full("hello")),
                    "/chunked" => Response::new(
                        Chunks(["one ", "two ", "three"].map(Bytes::from).into()).boxed(),
                    ),
                    _ => {
                        let h = |n: &str| {
                            req.headers()
                                .get_all(n)
                                .iter()
                                .map(|v| v.to_str().unwrap_or("?").to_owned())
                                .collect::<Vec<_>>()
                                .join(",")
                        };
                        let seen = format!(
                            "xff={} proto={} host={} te={} cl={}|",
                            h("x-forwarded-for"),
                            h("x-forwarded-proto"),
                            h("host"),
                            h("transfer-encoding"),
                            h("content-length"),
                        );
                        let body = req.into_body().collect().await.map(|b| b.to_bytes());
                        let mut out = seen.into_bytes();
                        out.extend_from_slice(&body.unwrap_or_default());
                        Response::new(full(out))
                    }
                };
                Ok::<_, std::convert::Infallible>(resp)
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    (addr, conns)
}

/// A body of ready chunks of unknown total length (so hyper sends it chunked).
struct Chunks(std::collections::VecDeque<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.get_mut().0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

async fn subscribe_http(router: &TestRouter, key: &str, node: SocketAddr) {
    let mut sub = Subscription::new(key, node.to_string());
    sub.proto = Some("http".into());
    let packet = sub.encode().expect("encode");
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("udp");
    udp.send_to(&packet, router.udp()).await.expect("send");
    eventually(
        &format!("{key} routable"),
        Duration::from_secs(5),
        || async { (router.get(key, "/len").await.0 != 404).then_some(()) },
    )
    .await;
}

/// Send `request` on a new connection to the router and read until the router closes it
/// or `until` appears.
async fn raw(router: &TestRouter, request: &[u8], until: &[u8]) -> String {
    let mut s = TcpStream::connect(router.addrs.http.expect("http"))
        .await
        .expect("connect");
    s.write_all(request).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(until.len()).any(|w| w == until) {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("answer in time")
            .expect("read");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_kept_alive_and_bodies_framed_both_ways() {
    let router = start_router(RouterConfig::default()).await;
    let (node, conns) = hyper_node().await;
    subscribe_http(&router, "kept.test", node).await;
    for _ in 0..10 {
        assert_eq!(router.get("kept.test", "/len").await, (200, "hello".into()));
        assert_eq!(
            router.get("kept.test", "/chunked").await,
            (200, "one two three".into())
        );
    }
    let head = raw(
        &router,
        b"HEAD /len HTTP/1.1\r\nHost: kept.test\r\nConnection: close\r\n\r\n",
        b"\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-length: 5"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "no body after a HEAD: {head}");
    assert_eq!(
        conns.load(Ordering::SeqCst),
        1,
        "sequential requests share one kept-alive connection"
    );

    let echo = raw(
        &router,
        b"POST /echo HTTP/1.1\r\nHost: kept.test\r\nContent-Length: 5\r\nX-Forwarded-Proto: ftp\r\nConnection: close\r\n\r\nabcde",
        b"abcde",
    )
    .await;
    assert!(
        echo.contains("xff=127.0.0.1 proto=http host=kept.test te= cl=5|abcde"),
        "{echo}"
    );
    let echo = raw(
        &router,
        b"POST /echo HTTP/1.1\r\nHost: kept.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        b"abcde",
    )
    .await;
    assert!(echo.contains("te=chunked cl=|abcde"), "{echo}");

    let stats = router.stats().await;
    let node_stats = &stats["subscriptions"][0]["nodes"][0];
    assert_eq!(node_stats["rx"], 10, "request body bytes: {stats}");
    assert_eq!(node_stats["errors"], 0, "{stats}");
}

/// What a raw node does after its scripted answer.
#[derive(Clone, Copy)]
enum After {
    /// Close the connection.
    Close,
    /// Echo whatever comes next (an upgraded connection).
    Echo,
}

/// A node that reads one request head per connection, writes `answer`, then does `after`.
/// The request heads it saw are kept.
async fn raw_node(
    answer: &'static [u8],
    after: After,
) -> (SocketAddr, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match s.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                if let Ok(mut h) = seen.lock() {
                    h.push(String::from_utf8_lossy(&head).into_owned());
                }
                let _ = s.write_all(answer).await;
                if let After::Echo = after {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                }
            });
        }
    });
    (addr, heads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_and_unusual_nodes() {
    let router = start_router(RouterConfig::default()).await;
    let cases: [(&str, &'static [u8], u16, &str); 4] = [
        (
            "close.test",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
            200,
            "until close",
        ),
        ("garbage.test", b"NOT HTTP AT ALL\r\n\r\n", 502, ""),
        (
            "interim.test",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Made\r\nContent-Length: 2\r\n\r\nok",
            201,
            "ok",
        ),
        // Announces a kept-alive body, then closes: the next request must not fail on
        // the dead pooled connection.
        (
            "hangup.test",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            200,
            "ok",
        ),
    ];
    for (key, answer, status, body) in cases {
        let (node, _) = raw_node(answer, After::Close).await;
        let mut sub = Subscription::new(key, node.to_string());
        sub.proto = Some("http".into());
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("udp");
        udp.send_to(&sub.encode().expect("encode"), router.udp())
            .await
            .expect("send");
        eventually(
            &format!("{key} routable"),
            Duration::from_secs(5),
            || async { (router.get(key, "/").await.0 != 404).then_some(()) },
        )
        .await;
        for round in 0..3 {
            let (got_status, got_body) = router.get(key, "/").await;
            assert_eq!(got_status, status, "{key}, request {round}");
            if status < 300 {
                assert_eq!(got_body, body, "{key}, request {round}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_pass_through_an_http_node() {
    let router = start_router(RouterConfig::default()).await;
    let (node, heads) = raw_node(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        After::Echo,
    )
    .await;
    let mut sub = Subscription::new("ws.test", node.to_string());
    sub.proto = Some("http".into());
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("udp");
    udp.send_to(&sub.encode().expect("encode"), router.udp())
        .await
        .expect("send");
    eventually("ws.test routable", Duration::from_secs(5), || async {
        (!router.nodes("ws.test").await.is_empty()).then_some(())
    })
    .await;
    let mut s = TcpStream::connect(router.addrs.http.expect("http"))
        .await
        .expect("connect");
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    )
    .await
    .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&got).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: websocket"), "{head}");
    s.write_all(b"ping").await.expect("write");
    let mut echo = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut echo))
        .await
        .expect("echo in time")
        .expect("read");
    assert_eq!(&echo, b"ping");
    let seen = heads.lock().map(|h| h.join("")).unwrap_or_default();
    assert!(
        seen.contains("connection: upgrade\r\nupgrade: websocket\r\n"),
        "{seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_threads_share_the_port() {
    let router = start_router(RouterConfig {
        listener_threads: 3,
        ..RouterConfig::default()
    })
    .await;
    let (node, _) = hyper_node().await;
    subscribe_http(&router, "threads.test", node).await;
    // Each request on a new connection: the kernel spreads them over the three listeners.
    for _ in 0..30 {
        let answer = raw(
            &router,
            b"GET /len HTTP/1.1\r\nHost: threads.test\r\nConnection: close\r\n\r\n",
            b"hello",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    assert_eq!(router.stats().await["subscriptions"][0]["requests"], 31);
}
