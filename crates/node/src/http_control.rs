//! The control plane over HTTP: `/node/v1` of the berth API, authenticated with the server's
//! credential. Several API replicas may be given (comma-separated): requests go to the one
//! that answered last, and to the next when it does not answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_model::node::{DesiredState, NodeReport};
use serde::Deserialize;

use crate::control::ControlPlane;
use crate::error::NodeError;

/// How long the API may hold a state request: its 30 s hold plus a margin.
const LONG_POLL: Duration = Duration::from_secs(40);
/// How long a replica may take to accept a connection before the next one is tried.
const CONNECT: Duration = Duration::from_secs(5);

/// A `/node/v1` client.
#[derive(Debug, Clone)]
pub struct HttpControlPlane {
    bases: Vec<String>,
    /// The index in `bases` of the replica that answered last.
    current: Arc<AtomicUsize>,
    credential: String,
    http: reqwest::blocking::Client,
}

/// The API base URLs of `bases` (`http://a:8080,http://b:8080`), without trailing slashes.
fn api_bases(bases: &str) -> Vec<String> {
    bases
        .split(',')
        .map(|base| base.trim().trim_end_matches('/').to_owned())
        .filter(|base| !base.is_empty())
        .collect()
}

#[derive(Deserialize)]
struct Joined {
    credential: String,
}

fn client() -> Result<reqwest::blocking::Client, NodeError> {
    reqwest::blocking::Client::builder()
        .timeout(LONG_POLL)
        .connect_timeout(CONNECT)
        .build()
        .map_err(|error| NodeError::ControlPlane(error.to_string()))
}

fn failed(error: impl std::fmt::Display) -> NodeError {
    NodeError::ControlPlane(error.to_string())
}

/// Fails with the API's own words when it answered an error.
fn checked(
    response: reqwest::blocking::Response,
) -> Result<reqwest::blocking::Response, NodeError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().unwrap_or_default();
    Err(NodeError::ControlPlane(format!(
        "{status}: {}",
        body.trim()
    )))
}

/// Sends `request` to each replica of `bases` in turn from `first` until one answers (any
/// HTTP status); the answer and the index of the replica that gave it.
fn send_to_any(
    bases: &[String],
    first: usize,
    request: impl Fn(&str) -> reqwest::blocking::RequestBuilder,
) -> Result<(reqwest::blocking::Response, usize), NodeError> {
    let mut last = NodeError::ControlPlane("no API URL given".to_owned());
    for offset in 0..bases.len() {
        let at = (first + offset) % bases.len();
        match request(&bases[at]).send() {
            Ok(response) => return Ok((response, at)),
            Err(error) => {
                tracing::warn!(api = %bases[at], %error, "API replica does not answer");
                last = failed(format!("{}: {error}", bases[at]));
            }
        }
    }
    Err(last)
}

impl HttpControlPlane {
    /// A client of the API at `bases` (`http://host:port`, or several comma-separated
    /// replicas) with `credential`.
    pub fn new(bases: &str, credential: &str) -> Result<HttpControlPlane, NodeError> {
        Ok(HttpControlPlane {
            bases: api_bases(bases),
            current: Arc::new(AtomicUsize::new(0)),
            credential: credential.trim().to_owned(),
            http: client()?,
        })
    }

    /// Spends a one-time join token at the API at `bases` (the first replica that answers)
    /// and returns the server's credential.
    pub fn join(bases: &str, token: &str) -> Result<String, NodeError> {
        let http = client()?;
        let body = serde_json::json!({"token": token.trim()});
        let (response, _) = send_to_any(&api_bases(bases), 0, |base| {
            http.post(format!("{base}/node/v1/join")).json(&body)
        })?;
        Ok(checked(response)?
            .json::<Joined>()
            .map_err(failed)?
            .credential)
    }

    /// Sends `request` to the replica that answered last, else to the next that answers.
    fn send(
        &self,
        request: impl Fn(&str) -> reqwest::blocking::RequestBuilder,
    ) -> Result<reqwest::blocking::Response, NodeError> {
        let first = self.current.load(Ordering::Relaxed);
        let (response, at) = send_to_any(&self.bases, first, request)?;
        self.current.store(at, Ordering::Relaxed);
        Ok(response)
    }
}

impl ControlPlane for HttpControlPlane {
    fn desired_state(&self, after: Option<i64>) -> Result<DesiredState, NodeError> {
        let revision = after.unwrap_or(0);
        let response = self.send(|base| {
            self.http
                .get(format!("{base}/node/v1/state?revision={revision}"))
                .bearer_auth(&self.credential)
        })?;
        checked(response)?.json().map_err(failed)
    }

    fn report(&self, report: &NodeReport) -> Result<(), NodeError> {
        let response = self.send(|base| {
            self.http
                .post(format!("{base}/node/v1/report"))
                .bearer_auth(&self.credential)
                .json(report)
        })?;
        checked(response).map(|_| ())
    }
}
