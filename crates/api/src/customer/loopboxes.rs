//! `/api/loopboxes`: ext4 images in a container's home that its node mounts inside it.
//! Another customer's loopbox or container answers 403, like a missing one (as upstream).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use berth_model::tag;
use berth_store::loopboxes::{Loopbox, LoopboxFilter};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::CustomerCaller;
use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::input::{self, ObjectId};
use crate::ApiState;

fn loopbox_json(loopbox: &Loopbox) -> Value {
    json!({
        "id": loopbox.id,
        "container": loopbox.container,
        "filename": loopbox.filename,
        "mountpoint": loopbox.mountpoint,
        "ro": loopbox.ro,
        "tags": loopbox.tags,
    })
}

/// The filters of `GET /loopboxes`; empty values mean no filter.
#[derive(Debug, Deserialize)]
pub struct LoopboxQuery {
    container: Option<String>,
    tags: Option<String>,
}

/// `GET /loopboxes[?container=<uid>][&tags=a,b]`: the customer's loopboxes, each once.
pub async fn list(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Query(query): Query<LoopboxQuery>,
) -> ApiResult<Json<Value>> {
    let filter = LoopboxFilter {
        container: input::query_int("container", query.container.as_deref())?,
        any_of_tags: query
            .tags
            .as_deref()
            .map(tag::filter_names)
            .unwrap_or_default(),
    };
    let loopboxes = state.store.loopboxes(caller.customer_id, &filter).await?;
    Ok(Json(loopboxes.iter().map(loopbox_json).collect()))
}

/// A key upstream requires; missing, it is a 403 as there.
fn required<'a>(body: &'a Map<String, Value>, field: &str) -> ApiResult<&'a Value> {
    body.get(field)
        .ok_or_else(|| ApiError::new(StatusCode::FORBIDDEN, format!("{field}: is required")))
}

/// `POST /loopboxes` `{container, filename, mountpoint, ro?}`: 201
/// `{"message": "Created", "id"}`; a filename or mountpoint the container already uses is 409.
pub async fn create(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let uid = input::as_int("container", required(&body, "container")?)?;
    let filename = input::as_str("filename", required(&body, "filename")?)?;
    let mountpoint = input::as_str("mountpoint", required(&body, "mountpoint")?)?;
    let ro = match body.get("ro") {
        None | Some(Value::Null) => false,
        Some(value) => input::as_bool("ro", value)?,
    };
    let loopbox = state
        .store
        .create_loopbox(caller.customer_id, uid, filename, mountpoint, ro)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": "Created", "id": loopbox.id})),
    ))
}

/// `GET /loopboxes/<id>`: the loopbox.
pub async fn show(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    let loopbox = state.store.loopbox(caller.customer_id, id).await?;
    Ok(Json(loopbox_json(&loopbox)))
}

/// `POST /loopboxes/<id>` `{tags: [names]}`: replaces the tags (the only thing that can
/// change; a body without `tags` is 403, as upstream) and answers the loopbox.
pub async fn update(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let Some(tags) = body.get("tags") else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "only the tags of a loopbox can be changed: send {\"tags\": [names]}",
        ));
    };
    let names = input::as_string_list("tags", tags)?;
    let loopbox = state
        .store
        .set_loopbox_tags(caller.customer_id, id, &names)
        .await?;
    Ok(Json(loopbox_json(&loopbox)))
}

/// `DELETE /loopboxes/<id>`: `{"message": "Ok"}`; the node unmounts it, the image stays.
pub async fn delete(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    state.store.delete_loopbox(caller.customer_id, id).await?;
    Ok(Json(json!({"message": "Ok"})))
}
