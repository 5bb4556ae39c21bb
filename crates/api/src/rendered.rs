//! Rendered answers cached by revision: an answer (a large list, `/api/me`) is rendered once
//! and served again while nothing has been written. Every write bumps the store's revision in
//! its own transaction, so the revision a request read before anything else (authentication
//! reads it: [`crate::auth::CustomerCaller::revision`]) tells whether a rendered answer is
//! current for that request, on every replica alike.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tokio::sync::OnceCell;

use crate::error::ApiResult;

/// How many rendered answers are kept.
const CAPACITY: u64 = 10_000;

/// An answer being rendered, or rendered, at a revision.
struct Rendering {
    /// The revision it is rendered at (read before rendering began).
    revision: i64,
    /// The JSON body, once rendered.
    body: OnceCell<Bytes>,
}

/// The cache of rendered JSON answers, keyed by what was asked.
#[derive(Clone)]
pub struct RenderedCache {
    answers: moka::future::Cache<String, Arc<Rendering>>,
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
    ///
    /// Requests that miss at the same revision share one rendering: after a write, a burst of
    /// requests for a large list renders it once, not once per request.
    pub async fn json<F, Fut>(&self, revision: i64, key: String, render: F) -> ApiResult<Response>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<serde_json::Value>>,
    {
        let rendering = match self.answers.get(&key).await {
            Some(rendering) if rendering.revision == revision => rendering,
            // A newer entry may be returned: it was filed after this request read `revision`,
            // so whatever renders it reads the store later still.
            _ => self
                .answers
                .entry(key)
                .or_insert_with_if(
                    async move {
                        Arc::new(Rendering {
                            revision,
                            body: OnceCell::new(),
                        })
                    },
                    |current| current.revision < revision,
                )
                .await
                .into_value(),
        };
        let body = rendering
            .body
            .get_or_try_init(|| async {
                ApiResult::Ok(Bytes::from(
                    serde_json::to_vec(&render().await?).unwrap_or_default(),
                ))
            })
            .await?
            .clone();
        Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn concurrent_misses_at_one_revision_render_once() {
        let cache = RenderedCache::new();
        let renders = Arc::new(AtomicUsize::new(0));
        let requests = (0..8).map(|_| {
            let (cache, renders) = (cache.clone(), renders.clone());
            tokio::spawn(async move {
                let response = cache
                    .json(5, "list".into(), || async move {
                        renders.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok(serde_json::json!([5]))
                    })
                    .await
                    .expect("answer");
                body_of(response).await
            })
        });
        for request in requests.collect::<Vec<_>>() {
            assert_eq!(request.await.expect("task"), serde_json::json!([5]));
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_new_revision_renders_again_and_errors_are_not_kept() {
        let cache = RenderedCache::new();
        let answer = |revision: i64, value: i64| {
            let cache = cache.clone();
            async move {
                body_of(
                    cache
                        .json(revision, "me:1".into(), || async move {
                            Ok(serde_json::json!(value))
                        })
                        .await
                        .expect("answer"),
                )
                .await
            }
        };
        assert_eq!(answer(1, 10).await, serde_json::json!(10));
        assert_eq!(answer(1, 11).await, serde_json::json!(10));
        assert_eq!(answer(2, 20).await, serde_json::json!(20));
        let failed = cache
            .json(3, "me:1".into(), || async {
                Err(crate::error::ApiError::bad_request("boom"))
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(answer(3, 30).await, serde_json::json!(30));
    }
}
