//! `/api/tags`: the customer's tags. Another customer's tag answers 404, like a missing one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use berth_store::tags::Tag;
use serde_json::{json, Value};

use crate::auth::CustomerCaller;
use crate::body::JsonObject;
use crate::error::ApiResult;
use crate::input::{self, ObjectId};
use crate::ApiState;

fn tag_json(tag: &Tag) -> Value {
    json!({"id": tag.id, "name": tag.name, "note": tag.note})
}

/// `GET /tags`: `[{id, name}]`.
pub async fn list(State(state): State<ApiState>, caller: CustomerCaller) -> ApiResult<Json<Value>> {
    let tags = state.store.tags(caller.customer_id).await?;
    Ok(Json(
        tags.iter()
            .map(|tag| json!({"id": tag.id, "name": tag.name}))
            .collect(),
    ))
}

/// `POST /tags` `{name, note?}`: 201 `{id, name, note}`; a name already used is 409.
pub async fn create(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = input::as_str("name", input::required(&body, "name")?)?;
    let note = input::field(&body, "note", input::as_optional_str)?.flatten();
    let tag = state
        .store
        .create_tag(caller.customer_id, name, note)
        .await?;
    Ok((StatusCode::CREATED, Json(tag_json(&tag))))
}

/// `GET /tags/<id>`: `{id, name, note}`.
pub async fn show(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    let tag = state.store.tag(caller.customer_id, id).await?;
    Ok(Json(tag_json(&tag)))
}

/// `POST /tags/<id>` `{name?, note?}`: the renamed tag; a name already used is 409.
pub async fn update(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let name = input::field(&body, "name", input::as_str)?;
    let note = input::field(&body, "note", input::as_optional_str)?;
    let tag = state
        .store
        .update_tag(caller.customer_id, id, name, note)
        .await?;
    Ok(Json(tag_json(&tag)))
}

/// `DELETE /tags/<id>`: `{"message": "Ok"}`.
pub async fn delete(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    state.store.delete_tag(caller.customer_id, id).await?;
    Ok(Json(json!({"message": "Ok"})))
}
