//! The control plane over HTTP: `/node/v1` of the berth API, authenticated with the server's
//! credential.

use std::time::Duration;

use berth_model::node::{DesiredState, NodeReport};
use serde::Deserialize;

use crate::control::ControlPlane;
use crate::error::NodeError;

/// How long the API may hold a state request: its 30 s hold plus a margin.
const LONG_POLL: Duration = Duration::from_secs(40);

/// A `/node/v1` client.
#[derive(Debug, Clone)]
pub struct HttpControlPlane {
    base: String,
    credential: String,
    http: reqwest::blocking::Client,
}

#[derive(Deserialize)]
struct Joined {
    credential: String,
}

fn client() -> Result<reqwest::blocking::Client, NodeError> {
    reqwest::blocking::Client::builder()
        .timeout(LONG_POLL)
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

impl HttpControlPlane {
    /// A client of the API at `base` (`http://host:port`) with `credential`.
    pub fn new(base: &str, credential: &str) -> Result<HttpControlPlane, NodeError> {
        Ok(HttpControlPlane {
            base: base.trim_end_matches('/').to_owned(),
            credential: credential.trim().to_owned(),
            http: client()?,
        })
    }

    /// Spends a one-time join token at the API at `base` and returns the server's credential.
    pub fn join(base: &str, token: &str) -> Result<String, NodeError> {
        let url = format!("{}/node/v1/join", base.trim_end_matches('/'));
        let response = client()?
            .post(url)
            .json(&serde_json::json!({"token": token.trim()}))
            .send()
            .map_err(failed)?;
        Ok(checked(response)?
            .json::<Joined>()
            .map_err(failed)?
            .credential)
    }
}

impl ControlPlane for HttpControlPlane {
    fn desired_state(&self, after: Option<i64>) -> Result<DesiredState, NodeError> {
        let url = format!(
            "{}/node/v1/state?revision={}",
            self.base,
            after.unwrap_or(0)
        );
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.credential)
            .send()
            .map_err(failed)?;
        checked(response)?.json().map_err(failed)
    }

    fn report(&self, report: &NodeReport) -> Result<(), NodeError> {
        let response = self
            .http
            .post(format!("{}/node/v1/report", self.base))
            .bearer_auth(&self.credential)
            .json(report)
            .send()
            .map_err(failed)?;
        checked(response).map(|_| ())
    }
}
