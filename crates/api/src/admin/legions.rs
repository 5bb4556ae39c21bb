//! `/v1/admin/legions`: legions, the groups of servers sharing a failover address, and
//! their members. A change reaches the members' nodes, whose keepalived follows.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use berth_model::legion::virtual_router_id;
use berth_store::legions::Legion;
use serde_json::{json, Value};

use crate::auth::StaffCaller;
use crate::body::JsonObject;
use crate::error::ApiResult;
use crate::input;
use crate::ApiState;

/// A legion as JSON: its address, VRRP router id and members with their weights.
pub fn legion_json(legion: &Legion) -> Value {
    json!({
        "id": legion.id,
        "name": legion.name,
        "address": legion.address,
        "uuid": legion.uuid,
        "note": legion.note,
        "virtual_router_id": virtual_router_id(legion.id),
        "servers": legion.members.iter().map(|m| json!({
            "name": m.name, "address": m.address, "weight": m.weight,
        })).collect::<Vec<_>>(),
    })
}

/// `GET /v1/admin/legions`: every legion with its servers.
pub async fn list(State(state): State<ApiState>, _staff: StaffCaller) -> ApiResult<Json<Value>> {
    let legions = state.store.legions().await?;
    Ok(Json(legions.iter().map(legion_json).collect()))
}

/// `POST /v1/admin/legions` `{name, address, note?}`: 201, the new legion (no servers yet).
pub async fn create(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = input::as_str("name", input::required(&body, "name")?)?;
    let address = input::as_str("address", input::required(&body, "address")?)?;
    let note = input::optional_string(&body, "note")?;
    let legion = state
        .store
        .create_legion(name, address, note.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(legion_json(&legion))))
}

/// `GET /v1/admin/legions/{name}`: one legion.
pub async fn show(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(legion_json(&state.store.legion(&name).await?)))
}

/// `DELETE /v1/admin/legions/{name}`: the legion goes; its servers let the address go.
pub async fn delete(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    state.store.delete_legion(&name).await?;
    Ok(Json(json!({"message": "Ok"})))
}

/// `POST /v1/admin/legions/{name}/servers` `{server, weight?}`: puts a server (its name) in
/// the legion, or gives a member a new weight (default 9999; the highest is the Lord).
pub async fn add_server(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path(name): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let server = input::as_str("server", input::required(&body, "server")?)?;
    let weight = input::field(&body, "weight", input::as_int)?;
    let legion = state.store.add_legion_member(&name, server, weight).await?;
    Ok(Json(legion_json(&legion)))
}

/// `DELETE /v1/admin/legions/{name}/servers/{server}`: takes a server out of the legion
/// (409 when it is not in it).
pub async fn remove_server(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path((name, server)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let legion = state.store.remove_legion_member(&name, &server).await?;
    Ok(Json(legion_json(&legion)))
}
