//! Stats per domain and node: Prometheus text on `/metrics`, JSON on `/stats.json`.

use std::convert::Infallible;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::downstream::proxy::Proxy;
use crate::subscription::apply::Subscriptions;

/// A node in the JSON stats (field names follow uWSGI's stats server where they exist).
#[derive(Debug, Serialize)]
pub struct NodeStats {
    /// Node address.
    pub name: String,
    /// modifier1 of forwarded requests.
    pub modifier1: u8,
    /// modifier2 of forwarded requests.
    pub modifier2: u8,
    /// Seconds since the last announce.
    pub last_check_s: u64,
    /// Requests forwarded.
    pub requests: u64,
    /// Request body bytes in.
    pub rx: u64,
    /// Response body bytes out.
    pub tx: u64,
    /// Failed requests.
    pub errors: u64,
    /// Announced cores.
    pub cores: u64,
    /// Announced load.
    pub load: u64,
    /// Balancing weight.
    pub weight: u64,
    /// Requests in flight.
    #[serde(rename = "ref")]
    pub in_flight: u64,
    /// Connect failures.
    pub failcnt: u64,
    /// Whether the node is marked dead.
    pub death_mark: bool,
}

/// A domain (subscription key) in the JSON stats.
#[derive(Debug, Serialize)]
pub struct DomainStats {
    /// The routing key.
    pub key: String,
    /// Requests routed to the domain.
    pub requests: u64,
    /// Request body bytes in.
    pub rx: u64,
    /// Response body bytes out.
    pub tx: u64,
    /// Failed requests.
    pub errors: u64,
    /// Whether the domain has its own certificate.
    pub sni_enabled: bool,
    /// The domain's nodes.
    pub nodes: Vec<NodeStats>,
}

/// The whole JSON stats document.
#[derive(Debug, Serialize)]
pub struct RouterStats {
    /// Requests for hosts nobody serves.
    pub not_found: u64,
    /// Subscription packets applied.
    pub subscriptions_accepted: u64,
    /// Subscription packets refused.
    pub subscriptions_refused: u64,
    /// Refusals by reason: the packets' (`malformed`, `oversize`, `bad_signature`,
    /// `replay`, …) and `sni_files`, TLS material of accepted subscriptions not used.
    pub refused_by_reason: std::collections::BTreeMap<&'static str, u64>,
    /// Every domain, sorted by key.
    pub subscriptions: Vec<DomainStats>,
}

/// A snapshot of the counters.
pub fn snapshot(proxy: &Proxy, subs: &Subscriptions) -> RouterStats {
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let mut subscriptions: Vec<DomainStats> = proxy
        .table
        .slots()
        .into_iter()
        .map(|slot| DomainStats {
            key: slot.key.clone(),
            requests: get(&slot.counters.requests),
            rx: get(&slot.counters.bytes_in),
            tx: get(&slot.counters.bytes_out),
            errors: get(&slot.counters.errors),
            sni_enabled: slot.tls().is_some(),
            nodes: slot
                .nodes()
                .iter()
                .map(|n| NodeStats {
                    name: n.address.clone(),
                    modifier1: n.modifier1,
                    modifier2: n.modifier2,
                    last_check_s: n.silent_for().as_secs(),
                    requests: get(&n.counters.requests),
                    rx: get(&n.counters.bytes_in),
                    tx: get(&n.counters.bytes_out),
                    errors: get(&n.counters.errors),
                    cores: get(&n.cores),
                    load: get(&n.load),
                    weight: get(&n.weight),
                    in_flight: get(&n.in_flight),
                    failcnt: get(&n.failures),
                    death_mark: !n.is_live(),
                })
                .collect(),
        })
        .collect();
    subscriptions.sort_by(|a, b| a.key.cmp(&b.key));
    RouterStats {
        not_found: get(&proxy.not_found),
        subscriptions_accepted: get(&subs.counters.accepted),
        subscriptions_refused: get(&subs.counters.refused),
        refused_by_reason: subs.refusals.totals(),
        subscriptions,
    }
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The snapshot in the Prometheus text format.
pub fn prometheus(stats: &RouterStats) -> String {
    let mut out = String::with_capacity(4096);
    let _ = writeln!(out, "# HELP berth_router_not_found_total Requests for hosts with no live node.\n# TYPE berth_router_not_found_total counter\nberth_router_not_found_total {}", stats.not_found);
    let _ = writeln!(out, "# HELP berth_router_subscriptions_total Subscription packets by outcome.\n# TYPE berth_router_subscriptions_total counter");
    let _ = writeln!(
        out,
        "berth_router_subscriptions_total{{outcome=\"accepted\"}} {}",
        stats.subscriptions_accepted
    );
    let _ = writeln!(
        out,
        "berth_router_subscriptions_total{{outcome=\"refused\"}} {}",
        stats.subscriptions_refused
    );
    let _ = writeln!(out, "# HELP berth_router_refused_total Refused subscription packets and TLS files, by reason.\n# TYPE berth_router_refused_total counter");
    for (reason, n) in &stats.refused_by_reason {
        let _ = writeln!(out, "berth_router_refused_total{{reason=\"{reason}\"}} {n}");
    }
    let _ = writeln!(out, "# HELP berth_router_domains Subscribed domains.\n# TYPE berth_router_domains gauge\nberth_router_domains {}", stats.subscriptions.len());
    type Metric = (
        &'static str,
        &'static str,
        fn(&DomainStats) -> u64,
        fn(&NodeStats) -> u64,
    );
    let metrics: [Metric; 4] = [
        (
            "requests",
            "Requests routed",
            |d| d.requests,
            |n| n.requests,
        ),
        (
            "bytes_in",
            "Request body bytes received",
            |d| d.rx,
            |n| n.rx,
        ),
        ("bytes_out", "Response body bytes sent", |d| d.tx, |n| n.tx),
        ("errors", "Failed requests", |d| d.errors, |n| n.errors),
    ];
    for (name, help, by_domain, by_node) in metrics {
        let _ = writeln!(out, "# HELP berth_router_domain_{name}_total {help}, per domain.\n# TYPE berth_router_domain_{name}_total counter");
        for d in &stats.subscriptions {
            let _ = writeln!(
                out,
                "berth_router_domain_{name}_total{{domain=\"{}\"}} {}",
                label(&d.key),
                by_domain(d)
            );
        }
        let _ = writeln!(out, "# HELP berth_router_node_{name}_total {help}, per node.\n# TYPE berth_router_node_{name}_total counter");
        for d in &stats.subscriptions {
            for n in &d.nodes {
                let _ = writeln!(
                    out,
                    "berth_router_node_{name}_total{{domain=\"{}\",node=\"{}\"}} {}",
                    label(&d.key),
                    label(&n.name),
                    by_node(n)
                );
            }
        }
    }
    let _ = writeln!(out, "# HELP berth_router_node_in_flight Requests in flight per node.\n# TYPE berth_router_node_in_flight gauge");
    for d in &stats.subscriptions {
        for n in &d.nodes {
            let _ = writeln!(
                out,
                "berth_router_node_in_flight{{domain=\"{}\",node=\"{}\"}} {}",
                label(&d.key),
                label(&n.name),
                n.in_flight
            );
        }
    }
    out
}

fn respond(proxy: &Proxy, subs: &Subscriptions, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let stats = snapshot(proxy, subs);
    let (status, content_type, body) = match req.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            "text/plain; version=0.0.4",
            prometheus(&stats),
        ),
        "/" | "/stats.json" => (
            StatusCode::OK,
            "application/json",
            serde_json::to_string(&stats).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "application/json",
            "{\"error\":\"try /metrics or /stats.json\"}".to_owned(),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// Serve the stats until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    proxy: Arc<Proxy>,
    subs: Arc<Subscriptions>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = crate::stopped(&mut shutdown) => return,
        };
        let (proxy, subs) = (proxy.clone(), subs.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let resp = respond(&proxy, &subs, &req);
                async move { Ok::<_, Infallible>(resp) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
