//! Rendered answers cached by revision: a large list is rendered once and served again while
//! nothing has been written. Every write bumps the store's revision in its own transaction, so
//! checking the revision (one cheap query) tells whether a rendered answer is still current,
//! on every replica alike.

use std::future::Future;

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use berth_store::Store;

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

    /// The JSON answer for `key`: the cached one if nothing was written since it was rendered,
    /// else a fresh one from `render`. Reading the revision before rendering means a cached
    /// answer is never older than the revision it is filed under.
    pub async fn json<F, Fut>(&self, store: &Store, key: String, render: F) -> ApiResult<Response>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<serde_json::Value>>,
    {
        let revision = store.revision().await?;
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
