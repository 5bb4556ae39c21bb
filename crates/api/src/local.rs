//! The staff API in-process: `berth admin` sends its requests to the same router that serves
//! `/v1/admin` over HTTP, so every staff operation is written once, in the API.
//!
//! A request sent through [`StaffClient`] carries the [`LocalStaff`] extension, which
//! [`crate::auth::StaffCaller`] accepts in place of credentials. Extensions cannot come from
//! the network (hyper never sets this one), so only code linked into the process can act as
//! this caller: the operator who runs `berth admin` on the store already has the database.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use berth_store::Store;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::error::ApiError;
use crate::ApiOptions;

/// The marker of a request made by the operator through [`StaffClient`].
#[derive(Debug, Clone, Copy)]
pub struct LocalStaff;

/// The staff API over a store, called without HTTP or credentials.
#[derive(Clone)]
pub struct StaffClient {
    router: Router,
}

/// The largest answer read back (bills with their records are the largest).
const ANSWER_LIMIT: usize = 64 * 1024 * 1024;

impl StaffClient {
    /// The whole API over `store`, with default options.
    pub fn new(store: Store) -> Result<StaffClient, ApiError> {
        Ok(StaffClient {
            router: crate::app(store, ApiOptions::default())?,
        })
    }

    /// `GET path` (with its query string).
    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.send(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.send(Method::POST, path, Some(body)).await
    }

    /// `DELETE path`, with a JSON body when the operation takes one.
    pub async fn delete(&self, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        self.send(Method::DELETE, path, body).await
    }

    /// Sends one request; a success answers its JSON, a failure the API's error.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let body = match body {
            Some(value) => Body::from(value.to_string()),
            None => Body::empty(),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(body)
            .map_err(|error| ApiError::bad_request(format!("bad request {path}: {error}")))?;
        request.extensions_mut().insert(LocalStaff);
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let bytes = http_body_util::Limited::new(response.into_body(), ANSWER_LIMIT)
            .collect()
            .await
            .map_err(|error| internal(format!("reading the answer of {path}: {error}")))?
            .to_bytes();
        let answer: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|error| internal(format!("the answer of {path} is not JSON: {error}")))?
        };
        if status.is_success() {
            return Ok(answer);
        }
        let reason = answer["reason"]
            .as_str()
            .or_else(|| answer["error"].as_str())
            .map(str::to_owned);
        Err(ApiError {
            status,
            reason,
            retry_after: None,
        })
    }
}

fn internal(reason: String) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, reason)
}
