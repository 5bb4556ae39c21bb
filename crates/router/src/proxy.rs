//! The request path: host → slot → node (with retries), then the request forwarded over
//! uwsgi or HTTP and the response relayed back.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use crate::body::{InFlight, RequestCounter, ResponseRelay};
use crate::cgi;
use crate::config::Timeouts;
use crate::host::routing_key;
use crate::node::{Counters, Node, Target};
use crate::routing_table::{RoutingTable, Slot};
use crate::tls::{ClientAuth, TlsInfo};
use crate::upstream::{self, RequestBody, UpstreamStream, UwsgiStream};

/// The body type of responses to clients.
pub type ResponseBody = BoxBody<Bytes, hyper::Error>;

/// Retries after a failed connect (so at most 1 + this many nodes are tried).
pub const MAX_RETRIES: usize = 3;

/// What every request handler shares.
#[derive(Debug)]
pub struct Proxy {
    /// The routing table.
    pub table: Arc<RoutingTable>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Requests for a host with no live node.
    pub not_found: AtomicU64,
}

/// The connection a request arrived on.
#[derive(Debug, Clone)]
pub struct ClientConn {
    /// Client address.
    pub remote: SocketAddr,
    /// Listener port.
    pub server_port: u16,
    /// TLS facts on an HTTPS listener.
    pub tls: Option<TlsInfo>,
    /// The client IP as a header value (for `X-Forwarded-For`), made once per connection.
    pub remote_ip: HeaderValue,
}

impl ClientConn {
    /// The facts of a connection from `remote` to a listener on `server_port`.
    pub fn new(remote: SocketAddr, server_port: u16, tls: Option<TlsInfo>) -> ClientConn {
        let remote_ip = HeaderValue::from_str(&remote.ip().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        ClientConn {
            remote,
            server_port,
            tls,
            remote_ip,
        }
    }
}

/// A connection to the chosen node, ready for the request.
enum Connected {
    Uwsgi(UpstreamStream),
    Http(SendRequest<RequestBody>),
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A small HTML error page.
pub fn page(status: StatusCode, message: &str) -> Response<ResponseBody> {
    let reason = status.canonical_reason().unwrap_or("Error");
    let html = format!(
        "<!DOCTYPE html>\n<html><head><title>{code} {reason}</title></head>\
         <body><h1>{code} {reason}</h1><p>{msg}</p><hr><p>berth router</p></body></html>\n",
        code = status.as_u16(),
        msg = escape(message),
    );
    let mut resp = Response::new(
        Full::new(Bytes::from(html))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    const OTHERS: [&str; 2] = ["keep-alive", "proxy-connection"];
    let present = HOP_BY_HOP.iter().any(|h| headers.contains_key(h))
        || OTHERS.iter().any(|h| headers.contains_key(*h));
    if !present {
        return;
    }
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in listed.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    for name in OTHERS {
        headers.remove(name);
    }
}

async fn open(node: &Node, timeouts: &Timeouts) -> std::io::Result<Connected> {
    match &node.target {
        Target::Http(_) => {
            while let Some(mut sender) = node.http_pool.take() {
                if sender.ready().await.is_ok() {
                    return Ok(Connected::Http(sender));
                }
            }
            let stream = upstream::connect(&node.target, timeouts.upstream_connect).await?;
            let sender = upstream::handshake(stream)
                .await
                .map_err(std::io::Error::other)?;
            Ok(Connected::Http(sender))
        }
        target => Ok(Connected::Uwsgi(
            upstream::connect(target, timeouts.upstream_connect).await?,
        )),
    }
}

impl Proxy {
    /// Route and forward one request; every failure becomes an error page.
    pub async fn handle(
        self: Arc<Self>,
        conn: Arc<ClientConn>,
        req: Request<Incoming>,
    ) -> Result<Response<ResponseBody>, Infallible> {
        Ok(self.forward(&conn, req).await)
    }

    async fn forward(
        &self,
        conn: &ClientConn,
        mut req: Request<Incoming>,
    ) -> Response<ResponseBody> {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| req.uri().authority().map(|a| a.to_string()));
        let Some((host, key)) = host.and_then(|h| routing_key(&h).map(|k| (h, k))) else {
            return page(
                StatusCode::BAD_REQUEST,
                "The request has no valid Host header.",
            );
        };

        let mut failures = 0;
        let (slot, node, connected) = loop {
            let Some((slot, node)) = self.table.route(&key) else {
                if failures == 0 {
                    self.not_found.fetch_add(1, Ordering::Relaxed);
                    return page(
                        StatusCode::NOT_FOUND,
                        &format!("No site is served for the host \u{201c}{key}\u{201d} here."),
                    );
                }
                return page(
                    StatusCode::BAD_GATEWAY,
                    "No backend of this site could be reached.",
                );
            };
            match open(&node, &self.timeouts).await {
                Ok(c) => break (slot, node, c),
                Err(e) => {
                    tracing::warn!(key = %slot.key, address = %node.address, error = %e,
                        "node refused the connection; marking it dead");
                    node.mark_dead();
                    Counters::add(&node.counters.errors, 1);
                    Counters::add(&slot.counters.errors, 1);
                    failures += 1;
                    if failures > MAX_RETRIES {
                        return page(
                            StatusCode::BAD_GATEWAY,
                            "No backend of this site could be reached.",
                        );
                    }
                }
            }
        };

        let domain_tls = slot.tls();
        let cert_verified_here = conn.tls.as_ref().is_some_and(|t| {
            t.domain.as_deref() == Some(slot.key.as_str()) && t.client_cert.is_some()
        });
        if domain_tls.is_some_and(|t| t.client_auth == ClientAuth::Mandatory) && !cert_verified_here
        {
            return page(
                StatusCode::FORBIDDEN,
                "This site requires a client certificate: connect over HTTPS with its name as SNI and present one.",
            );
        }

        let in_flight = InFlight::start(node.clone());
        Counters::add(&node.counters.requests, 1);
        Counters::add(&slot.counters.requests, 1);

        let wants_upgrade =
            req.version() == Version::HTTP_11 && req.headers().contains_key(header::UPGRADE);
        let client_upgrade = wants_upgrade.then(|| hyper::upgrade::on(&mut req));
        let (parts, body) = req.into_parts();
        let body = RequestCounter::boxed(body, node.clone(), slot.clone());

        let (sender, upstream_req, reusable) = match connected {
            Connected::Uwsgi(stream) => {
                let c = cgi::Connection {
                    remote: conn.remote,
                    server_port: conn.server_port,
                    tls: conn.tls.as_ref(),
                    client_cert_applies: cert_verified_here,
                };
                let packet =
                    match cgi::uwsgi_packet(&parts, &host, c, node.modifier1, node.modifier2) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::info!(error = %e, "request vars too large for uwsgi");
                            return page(
                                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                                "The request headers do not fit a uwsgi packet (64 KiB).",
                            );
                        }
                    };
                let sender = match upstream::handshake(UwsgiStream::new(stream, packet)).await {
                    Ok(s) => s,
                    Err(e) => return self.upstream_failed(&slot, &node, &e.to_string()),
                };
                let mut r = Request::new(body);
                *r.method_mut() = parts.method.clone();
                let h = r.headers_mut();
                h.insert(header::HOST, HeaderValue::from_static("uwsgi"));
                for name in [header::CONTENT_LENGTH, header::TRANSFER_ENCODING] {
                    if let Some(v) = parts.headers.get(&name) {
                        h.insert(name, v.clone());
                    }
                }
                if wants_upgrade {
                    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
                    if let Some(v) = parts.headers.get(header::UPGRADE) {
                        h.insert(header::UPGRADE, v.clone());
                    }
                }
                (sender, r, false)
            }
            Connected::Http(sender) => {
                let mut r = Request::from_parts(parts, body);
                *r.version_mut() = Version::HTTP_11;
                // Origin form: the path and query only (h2 and absolute-form requests carry
                // scheme and authority too).
                if r.uri().scheme().is_some() || r.uri().authority().is_some() {
                    let mut uri = http::uri::Parts::default();
                    uri.path_and_query = r.uri().path_and_query().cloned();
                    if let Ok(u) = http::Uri::from_parts(uri) {
                        *r.uri_mut() = u;
                    }
                }
                let upgrade = r.headers().get(header::UPGRADE).cloned();
                strip_hop_by_hop(r.headers_mut());
                let h = r.headers_mut();
                if let (true, Some(u)) = (wants_upgrade, upgrade) {
                    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
                    h.insert(header::UPGRADE, u);
                }
                if !h.contains_key(header::HOST) {
                    if let Ok(v) = HeaderValue::from_str(&host) {
                        h.insert(header::HOST, v);
                    }
                }
                h.append("x-forwarded-for", conn.remote_ip.clone());
                h.insert(
                    "x-forwarded-proto",
                    HeaderValue::from_static(if conn.tls.is_some() { "https" } else { "http" }),
                );
                (sender, r, !wants_upgrade)
            }
        };

        let mut sender = sender;
        let sent = tokio::time::timeout(
            self.timeouts.upstream_response,
            sender.send_request(upstream_req),
        )
        .await;
        let mut resp = match sent {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => return self.upstream_failed(&slot, &node, &e.to_string()),
            Err(_) => {
                Counters::add(&node.counters.errors, 1);
                Counters::add(&slot.counters.errors, 1);
                return page(
                    StatusCode::GATEWAY_TIMEOUT,
                    "The site did not answer in time.",
                );
            }
        };

        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            if let Some(client_upgrade) = client_upgrade {
                let upstream_upgrade = hyper::upgrade::on(&mut resp);
                tokio::spawn(async move {
                    let _in_flight = in_flight;
                    match tokio::try_join!(client_upgrade, upstream_upgrade) {
                        Ok((client, upstream)) => {
                            let mut client = TokioIo::new(client);
                            let mut upstream = TokioIo::new(upstream);
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                        }
                        Err(e) => tracing::debug!(error = %e, "upgrade failed"),
                    }
                });
                let (parts, _) = resp.into_parts();
                return Response::from_parts(
                    parts,
                    http_body_util::Empty::new()
                        .map_err(|never| match never {})
                        .boxed(),
                );
            }
        }

        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let reusable = if reusable { Some(sender) } else { None };
        Response::from_parts(
            parts,
            BoxBody::new(ResponseRelay::new(body, slot, in_flight, reusable)),
        )
    }

    fn upstream_failed(&self, slot: &Slot, node: &Node, error: &str) -> Response<ResponseBody> {
        tracing::warn!(key = %slot.key, address = %node.address, error, "upstream request failed");
        Counters::add(&node.counters.errors, 1);
        Counters::add(&slot.counters.errors, 1);
        page(
            StatusCode::BAD_GATEWAY,
            "The site's backend failed to answer.",
        )
    }
}
