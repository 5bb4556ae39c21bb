//! What every answer of the API shares: CORS (as uwsgi.it), JSON error bodies even for
//! errors the framework itself produces (unknown path, wrong method), and the trailing
//! newline uwsgi.it adds for curl users.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error;

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

fn preflight() -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET,POST,DELETE,OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "X-uwsgi-it-username,X-uwsgi-it-password,Authorization,Content-Type",
        ),
    );
    response
}

/// The middleware that gives every answer its common shape.
pub async fn shape(request: Request, next: Next) -> Response {
    let from_curl = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|agent| agent.contains("curl/"));
    let mut response = if request.method() == Method::OPTIONS {
        preflight()
    } else {
        next.run(request).await
    };
    let status = response.status();
    if (status.is_client_error() || status.is_server_error()) && !is_json(&response) {
        let (mut parts, _) = response.into_parts();
        let body = serde_json::to_vec(&error::body(status, None)).unwrap_or_default();
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        parts.headers.remove(header::CONTENT_LENGTH);
        response = Response::from_parts(parts, Body::from(body));
    }
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if from_curl && is_json(&response) {
        let (mut parts, body) = response.into_parts();
        let Ok(mut bytes) = axum::body::to_bytes(body, usize::MAX).await.map(Vec::from) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        bytes.push(b'\n');
        parts.headers.remove(header::CONTENT_LENGTH);
        response = Response::from_parts(parts, Body::from(bytes));
    }
    response
}
