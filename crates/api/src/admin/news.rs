//! `/v1/admin/news`: publishing news to customers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

use super::views;
use crate::auth::StaffCaller;
use crate::body::JsonObject;
use crate::error::ApiResult;
use crate::input;
use crate::ApiState;

/// `GET /v1/admin/news`: every news item, newest first, public or not.
pub async fn list(State(state): State<ApiState>, _staff: StaffCaller) -> ApiResult<Json<Value>> {
    let items = state.store.news(true, None).await?;
    Ok(Json(items.iter().map(views::news).collect()))
}

/// `POST /v1/admin/news` `{content, public?}`: publishes an item (private unless `public`).
pub async fn create(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let content = input::as_str("content", input::required(&body, "content")?)?;
    let public = body
        .get("public")
        .map(|value| input::as_bool("public", value))
        .transpose()?
        .unwrap_or(false);
    let item = state.store.add_news(content, public).await?;
    Ok((StatusCode::CREATED, Json(views::news(&item))))
}
