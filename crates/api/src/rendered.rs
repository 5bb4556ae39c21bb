//! Rendered answers cached by revision: an answer (a large list, `/api/me`) is rendered once
//! and served again while nothing has been written. Every write bumps the store's revision in
//! its own transaction, so the revision a request read before anything else (authentication
//! reads it: [`crate::auth::CustomerCaller::revision`]) tells whether a rendered answer is
//! current for that request, on every replica alike.

use std::future::Future;

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiResult;

/// How many rendered answers are kept.
const CAPACITY: u64 = 10_000;

/// The cache of rendered JSON answers, keyed by what was asked.
#[derive(Clone)]
pub struct RenderedCache {
    answers: moka::future::Cache<String, (i64, Bytes)>,
}

impl Default for RenderedCache {
    fn default() -> Self {
        Self::new()
    }
}

impl RenderedCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            answers: moka::future::Cache::new(CAPACITY),
        }
    }

    /// The JSON answer for `key` at `revision`: the cached one if it was rendered at that
    /// revision, else a fresh one from `render`, filed under `revision`. `revision` must have
    /// been read from the store during this request and before `render` runs, so that an
    /// answer is never older than the revision it is filed under.
    pub async fn json<F, Fut>(&self, revision: i64, key: String, render: F) -> ApiResult<Response>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<serde_json::Value>>,
    {
        let body = match self.answers.get(&key).await {
            Some((rendered_at, body)) if rendered_at == revision => body,
            _ => {
                let body = Bytes::from(serde_json::to_vec(&render().await?).unwrap_or_default());
                self.answers.insert(key, (revision, body.clone())).await;
                body
            }
        };
        Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
    }
}
