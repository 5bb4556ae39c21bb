//! A stand-in for the control plane's domain-key map, and customers' signing keys.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{eventually, openssl};

/// A stand-in for the control plane's `GET /node/v1/domain-keys`: revision 1 holds
/// `domains` (name, PEM public key); a poll at revision 1 is held (long poll) until the client gives up.
pub async fn control_plane_stub(domains: Vec<(String, String)>) -> (SocketAddr, Arc<AtomicU64>) {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let polls = Arc::new(AtomicU64::new(0));
    let domains: Vec<_> = domains
        .into_iter()
        .map(|(name, pem)| serde_json::json!({"name": name, "public_key_pem": pem}))
        .collect();
    let answer = serde_json::json!({"revision": 1, "domains": domains}).to_string();
    let counter = polls.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let answer = answer.clone();
                    let counter = counter.clone();
                    async move {
                        counter.fetch_add(1, Ordering::Relaxed);
                        let authorized = req
                            .headers()
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            == Some("Bearer s3cret");
                        let right_path = req.uri().path() == "/node/v1/domain-keys";
                        let revision = req.uri().query().unwrap_or("").to_owned();
                        let (status, body) = if !authorized {
                            (401, "{\"error\":\"bad token\"}".to_owned())
                        } else if !right_path {
                            (404, "{\"error\":\"no such path\"}".to_owned())
                        } else {
                            if revision == "revision=1" {
                                tokio::time::sleep(Duration::from_secs(30)).await;
                            }
                            (200, answer)
                        };
                        let mut resp = hyper::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from(body),
                        ));
                        *resp.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, polls)
}

/// A router configuration part: the stub at `api` as control plane.
pub fn control_plane(api: SocketAddr) -> berth_router::ControlPlane {
    berth_router::ControlPlane {
        url: format!("http://{api}"),
        token: "s3cret".into(),
    }
}

/// Wait until the router has polled the stub twice (it has applied the map).
pub async fn wait_for_polls(polls: &AtomicU64) {
    eventually(
        "the router to poll the control plane",
        Duration::from_secs(5),
        || async { (polls.load(Ordering::Relaxed) >= 2).then_some(()) },
    )
    .await;
}

/// A customer's key pair, made by openssl: `<name>.key` signs, `public_pem` goes in the map.
pub struct CustomerKey {
    pub private: PathBuf,
    pub public_pem: String,
}

impl CustomerKey {
    pub fn new(dir: &Path, name: &str) -> CustomerKey {
        let (key, public) = (format!("{name}.key"), format!("{name}.pub"));
        openssl(dir, &["genrsa", "-out", &key, "2048"]);
        openssl(dir, &["rsa", "-pubout", "-in", &key, "-out", &public]);
        CustomerKey {
            private: dir.join(key),
            public_pem: std::fs::read_to_string(dir.join(public)).expect("public key"),
        }
    }

    /// The `sign=` part of a `subscribe2` value.
    pub fn sign(&self) -> String {
        format!("sign=SHA1:{}", self.private.display())
    }
}
