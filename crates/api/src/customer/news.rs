//! `/api/news`: the platform's announcements, readable without credentials.

use axum::extract::State;
use axum::Json;
use berth_model::news;
use serde_json::{json, Value};

use crate::auth::MaybeCustomer;
use crate::error::ApiResult;
use crate::ApiState;

/// `GET /news`: the ten newest items as `[{content, date}]`; customers see every item,
/// anybody else (no, wrong or non-customer credentials) only the public ones.
pub async fn list(
    State(state): State<ApiState>,
    MaybeCustomer(caller): MaybeCustomer,
) -> ApiResult<Json<Value>> {
    let items = state
        .store
        .news(caller.is_some(), Some(news::LATEST))
        .await?;
    Ok(Json(
        items
            .iter()
            .map(|item| json!({"content": item.content, "date": item.created_at}))
            .collect(),
    ))
}
