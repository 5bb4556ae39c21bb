//! API errors: every failure becomes a JSON object with an `error` key (the reason phrase,
//! as uwsgi.it clients expect) and, where it helps, a `reason` saying what was wrong.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_model::ValidationError;
use berth_store::StoreError;
use serde_json::json;

/// The `reason` of a 404 for a path no endpoint answers.
pub const NO_SUCH_ENDPOINT: &str = "no such endpoint";

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, in words; `None` when the status says it all.
    pub reason: Option<String>,
    /// Seconds to wait before trying again (`Retry-After`), for a 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status` and a reason.
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: Some(reason.into()),
            retry_after: None,
        }
    }

    /// An error with `status` alone.
    pub fn bare(status: StatusCode) -> Self {
        Self {
            status,
            reason: None,
            retry_after: None,
        }
    }

    /// 400 for a bad value.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }

    /// 404 for a missing object or path.
    pub fn not_found() -> Self {
        Self::bare(StatusCode::NOT_FOUND)
    }

    /// 404 for a path no endpoint answers (as opposed to a missing object).
    pub fn no_such_endpoint() -> Self {
        Self::new(StatusCode::NOT_FOUND, NO_SUCH_ENDPOINT)
    }

    /// The same error, telling the client to wait `seconds` before trying again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 401 with the Basic challenge.
    pub fn unauthorized() -> Self {
        Self::bare(StatusCode::UNAUTHORIZED)
    }
}

/// The `error` value for a status: uwsgi.it's wording where it has one.
pub fn phrase(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "Request entity too large",
        StatusCode::RANGE_NOT_SATISFIABLE => "Requested Range Not Satisfiable",
        other => other.canonical_reason().unwrap_or("Error"),
    }
}

/// The JSON body of an error answer.
pub fn body(status: StatusCode, reason: Option<&str>) -> serde_json::Value {
    match reason {
        Some(reason) => json!({"error": phrase(status), "reason": reason}),
        None => json!({"error": phrase(status)}),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(body(self.status, self.reason.as_deref())),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"uwsgi.it api\""),
            );
        }
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        ApiError::bad_request(error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => {
                ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
            }
            StoreError::Conflict(reason) => ApiError::new(StatusCode::CONFLICT, reason),
            StoreError::Forbidden(reason) => ApiError::new(StatusCode::FORBIDDEN, reason),
            StoreError::Invalid(error) => error.into(),
            StoreError::Capacity(error) => ApiError::new(StatusCode::CONFLICT, error.to_string()),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::bare(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// Results of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
