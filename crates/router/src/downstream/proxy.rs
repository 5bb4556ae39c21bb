//! The request path: host → slot → node (with retries), then the request forwarded over
//! uwsgi or HTTP and the response relayed back.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

use crate::config::Timeouts;
use crate::downstream::request_head::{self, Forwarding};
use crate::downstream::response;
use crate::downstream::tls_acceptor::TlsInfo;
use crate::routing::domain_tls::ClientAuth;
use crate::routing::host::routing_key;
use crate::routing::table::{RoutingTable, Slot};
use crate::upstream::backend::{Backend, Counters};
pub use crate::upstream::body::ResponseBody;
use crate::upstream::body::{BodyContext, InFlight, NodeBody};
use crate::upstream::cgi;
use crate::upstream::connection::{self, NodeConn, Target};
use crate::upstream::exchange::{self, Answer, BodyFraming, ExchangeError, RequestBody};

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
    /// The client IP as text (`X-Forwarded-For`, `REMOTE_ADDR`), made once per connection.
    pub remote_ip: String,
}

impl ClientConn {
    /// The facts of a connection from `remote` to a listener on `server_port`.
    pub fn new(remote: SocketAddr, server_port: u16, tls: Option<TlsInfo>) -> ClientConn {
        let remote_ip = remote.ip().to_string();
        ClientConn {
            remote,
            server_port,
            tls,
            remote_ip,
        }
    }
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
    let mut resp = Response::new(ResponseBody::full(Bytes::from(html)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// A connection to the chosen node, and whether it came from the node's idle pool.
struct Connected {
    conn: NodeConn,
    pooled: bool,
}

async fn open(node: &Backend, timeouts: &Timeouts) -> std::io::Result<Connected> {
    if let Target::Http(_) = node.target {
        if let Some(conn) = node.http_pool.take() {
            return Ok(Connected { conn, pooled: true });
        }
    }
    let stream = connection::connect(&node.target, timeouts.upstream_connect).await?;
    Ok(Connected {
        conn: NodeConn::new(stream),
        pooled: false,
    })
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
        let framing = BodyFraming::of(&body, parts.headers.contains_key(header::CONTENT_LENGTH));
        let mut body = RequestBody::new(body, framing, node.clone(), slot.clone());
        let Connected {
            conn: mut node_conn,
            pooled,
        } = connected;
        let http_node = matches!(node.target, Target::Http(_));

        node_conn.output.clear();
        if http_node {
            let f = Forwarding {
                host: &host,
                client_ip: &conn.remote_ip,
                https: conn.tls.is_some(),
                upgrade: if wants_upgrade {
                    parts.headers.get(header::UPGRADE)
                } else {
                    None
                },
                body: framing,
            };
            request_head::write(&mut node_conn.output, &parts, f);
        } else {
            let c = cgi::Connection {
                remote: conn.remote,
                remote_ip: &conn.remote_ip,
                server_port: conn.server_port,
                tls: conn.tls.as_ref(),
                client_cert_applies: cert_verified_here,
            };
            match cgi::uwsgi_packet(&parts, &host, c, node.modifier1, node.modifier2) {
                Ok(p) => node_conn.output = p,
                Err(e) => {
                    tracing::info!(error = %e, "request vars too large for uwsgi");
                    return page(
                        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                        "The request headers do not fit a uwsgi packet (64 KiB).",
                    );
                }
            }
        }

        let head_request = parts.method == http::Method::HEAD;
        let mut answered = self.exchange(&mut node_conn, &mut body, head_request).await;
        if pooled && framing == BodyFraming::Empty {
            if let Err(Some(ExchangeError::Closed { read: 0 })) = answered {
                // A kept-alive connection the node closed meanwhile: nothing was sent
                // that cannot be sent again, so once more on a fresh connection.
                let output = std::mem::take(&mut node_conn.output);
                match connection::connect(&node.target, self.timeouts.upstream_connect).await {
                    Ok(stream) => {
                        node_conn = NodeConn::new(stream);
                        node_conn.output = output;
                        answered = self.exchange(&mut node_conn, &mut body, head_request).await;
                    }
                    Err(e) => answered = Err(Some(e.into())),
                }
            }
        }
        let answer = match answered {
            Ok(a) => a,
            Err(None) => {
                Counters::add(&node.counters.errors, 1);
                Counters::add(&slot.counters.errors, 1);
                return page(
                    StatusCode::GATEWAY_TIMEOUT,
                    "The site did not answer in time.",
                );
            }
            Err(Some(e)) => return self.upstream_failed(&slot, &node, &e.to_string()),
        };

        if answer.head.status == 101 {
            if let Some(client_upgrade) = client_upgrade {
                let resp = match response::from_answer(&answer, true) {
                    Ok(r) => r,
                    Err(e) => return self.upstream_failed(&slot, &node, &e),
                };
                tokio::spawn(async move {
                    let _in_flight = in_flight;
                    match client_upgrade.await {
                        Ok(client) => {
                            let mut client = TokioIo::new(client);
                            let mut node_conn = node_conn;
                            if client.write_all(&node_conn.input).await.is_ok() {
                                let _ = tokio::io::copy_bidirectional(
                                    &mut client,
                                    &mut node_conn.stream,
                                )
                                .await;
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "upgrade failed"),
                    }
                });
                return resp;
            }
        }

        let framing = answer.head.framing;
        let cx = BodyContext {
            slot: slot.clone(),
            in_flight,
            reusable: http_node && answer.head.keep_alive && answer.body_sent,
        };
        match response::from_answer(&answer, false) {
            Ok(mut resp) => {
                *resp.body_mut() = NodeBody::start(node_conn, framing, cx);
                resp
            }
            Err(e) => self.upstream_failed(&slot, &node, &e),
        }
    }

    /// Send the request and read the response head within the response timeout: `None`
    /// when the time ran out.
    async fn exchange(
        &self,
        conn: &mut NodeConn,
        body: &mut RequestBody,
        head_request: bool,
    ) -> Result<Answer, Option<ExchangeError>> {
        match tokio::time::timeout(
            self.timeouts.upstream_response,
            exchange::exchange(conn, body, head_request),
        )
        .await
        {
            Ok(Ok(a)) => Ok(a),
            Ok(Err(e)) => Err(Some(e)),
            Err(_) => Err(None),
        }
    }

    fn upstream_failed(&self, slot: &Slot, node: &Backend, error: &str) -> Response<ResponseBody> {
        tracing::warn!(key = %slot.key, address = %node.address, error, "upstream request failed");
        Counters::add(&node.counters.errors, 1);
        Counters::add(&slot.counters.errors, 1);
        page(
            StatusCode::BAD_GATEWAY,
            "The site's backend failed to answer.",
        )
    }
}
