//! Request bodies: JSON read whatever the Content-Type says (uwsgi.it clients send none),
//! at most 64 KiB, arriving whole within the body deadline
//! ([`crate::connections::ConnectionLimits::body_timeout`]) or 408.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The largest body the API reads.
pub const MAX_BODY: usize = 64 * 1024;

/// The most an oversized body is read (and thrown away) before answering 413, so that the
/// client, still sending, gets to read the answer instead of a reset connection.
const DRAIN_LIMIT: u64 = 1024 * 1024;

/// A request body read in full, refused with 413 beyond [`MAX_BODY`].
#[derive(Debug, Clone)]
pub struct RawBody(pub Bytes);

/// A request body that must be a JSON object (an empty body counts as `{}`).
#[derive(Debug, Clone, Default)]
pub struct JsonObject(pub Map<String, Value>);

fn too_slow() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "the request body did not arrive in time",
    )
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request bodies are limited to {MAX_BODY} bytes"),
    )
}

/// Reads a whole body, refusing more than [`MAX_BODY`] bytes whether or not it was announced
/// (413), and a body that does not arrive in time (408).
pub async fn read_limited(request: Request<Body>) -> Result<Bytes, ApiError> {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > DRAIN_LIMIT) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(request.into_body(), DRAIN_LIMIT as usize)
        .await
        .map_err(|error| {
            if crate::connections::is_body_timeout(&error) {
                too_slow()
            } else {
                too_large()
            }
        })?;
    if bytes.len() > MAX_BODY {
        return Err(too_large());
    }
    Ok(bytes)
}

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request<Body>, _: &S) -> Result<Self, ApiError> {
        read_limited(request).await.map(RawBody)
    }
}

/// Parses a body as a JSON object.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(error) => Err(ApiError::bad_request(format!("malformed JSON: {error}"))),
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request<Body>, _: &S) -> Result<Self, ApiError> {
        let bytes = read_limited(request).await?;
        parse_object(&bytes).map(JsonObject)
    }
}
