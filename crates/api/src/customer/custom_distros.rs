//! `/api/custom_distros` and `/api/custom_distro/<id>`: the customer's own root file systems
//! (uwsgi.it's custom distros), kept in `distros/<path>` of a container with
//! `custom_distros_storage` and booted by their other containers on the same server through
//! the container's `custom_distro`. Another customer's custom distro answers 404, like a
//! missing one; another customer's container 403, as everywhere.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use berth_store::custom_distros::CustomDistro;
use serde_json::{json, Value};

use crate::auth::CustomerCaller;
use crate::body::JsonObject;
use crate::customer::containers::container_uid;
use crate::error::ApiResult;
use crate::input::{self, ObjectId};
use crate::ApiState;

/// The full shape: `{id, container, name, path, note, uuid}`.
fn custom_distro_json(distro: &CustomDistro) -> Value {
    json!({
        "id": distro.id,
        "container": distro.container,
        "name": distro.name,
        "path": distro.path,
        "note": distro.note,
        "uuid": distro.uuid,
    })
}

/// `GET /custom_distros`: every custom distro of the customer, `[{id, name, container}]`.
pub async fn list(State(state): State<ApiState>, caller: CustomerCaller) -> ApiResult<Json<Value>> {
    let distros = state
        .store
        .customer_custom_distros(caller.customer_id)
        .await?;
    Ok(Json(
        distros
            .iter()
            .map(|d| json!({"id": d.id, "name": d.name, "container": d.container}))
            .collect(),
    ))
}

/// `GET /custom_distros/<uid>`: the custom distros container `uid` may boot (its customer's,
/// kept by another container on its server), `[{id, name}]`.
pub async fn usable(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    let distros = state
        .store
        .usable_custom_distros(caller.customer_id, container_uid(&uid)?)
        .await?;
    Ok(Json(
        distros
            .iter()
            .map(|d| json!({"id": d.id, "name": d.name}))
            .collect(),
    ))
}

/// `POST /custom_distros/<uid>` `{name, path, note?}`: registers the custom distro kept in
/// `distros/<path>` of container `uid`, which must have `custom_distros_storage` (else 403);
/// 201 `{"message": "Created", id, container, name, path, note, uuid}`; a name or path the
/// container has already is 409.
pub async fn create(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Path(uid): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let uid = container_uid(&uid)?;
    let name = input::as_str("name", input::required(&body, "name")?)?;
    let path = input::as_str("path", input::required(&body, "path")?)?;
    let note = input::optional_string(&body, "note")?.unwrap_or_default();
    let distro = state
        .store
        .add_custom_distro(caller.customer_id, uid, name, path, &note)
        .await?;
    let mut answer = custom_distro_json(&distro);
    if let Value::Object(map) = &mut answer {
        map.insert("message".to_owned(), json!("Created"));
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `GET /custom_distro/<id>`: `{id, container, name, path, note, uuid}`.
pub async fn show(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    let distro = state.store.custom_distro(caller.customer_id, id).await?;
    Ok(Json(custom_distro_json(&distro)))
}

/// `POST /custom_distro/<id>` `{name?, note?}`: renames it or changes its note (its path
/// is what containers boot and stays); the full object.
pub async fn update(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let name = input::field(&body, "name", input::as_str)?;
    let note = input::optional_string(&body, "note")?;
    let distro = state
        .store
        .update_custom_distro(caller.customer_id, id, name, note.as_deref())
        .await?;
    Ok(Json(custom_distro_json(&distro)))
}

/// `DELETE /custom_distro/<id>`: `{"message": "Ok"}`; the containers that booted it restart
/// on their platform distro; its files stay.
pub async fn delete(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    state
        .store
        .delete_custom_distro(caller.customer_id, id)
        .await?;
    Ok(Json(json!({"message": "Ok"})))
}
