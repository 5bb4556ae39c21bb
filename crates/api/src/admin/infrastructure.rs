//! `/v1/admin/servers` and `/v1/admin/distros`: what the platform runs on.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use berth_store::servers::NewServer;
use serde_json::Value;

use super::views;
use crate::auth::StaffCaller;
use crate::body::JsonObject;
use crate::error::ApiResult;
use crate::input;
use crate::ApiState;

/// `GET /v1/admin/servers`: every server with its capacity and use.
pub async fn servers(State(state): State<ApiState>, _staff: StaffCaller) -> ApiResult<Json<Value>> {
    let servers = state.store.servers().await?;
    Ok(Json(servers.iter().map(views::server).collect()))
}

/// `POST /v1/admin/servers` `{name, address, memory, storage, weight?, datacenter?, owner?}`.
pub async fn add_server(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewServer {
        name: input::as_str("name", input::required(&body, "name")?)?.to_owned(),
        address: input::as_str("address", input::required(&body, "address")?)?.to_owned(),
        memory: input::as_int("memory", input::required(&body, "memory")?)?,
        storage: input::as_int("storage", input::required(&body, "storage")?)?,
        weight: body
            .get("weight")
            .map(|value| input::as_int("weight", value))
            .transpose()?,
        datacenter: input::optional_string(&body, "datacenter")?,
        owner: input::optional_string(&body, "owner")?,
    };
    let server = state.store.add_server(new).await?;
    Ok((StatusCode::CREATED, Json(views::server(&server))))
}

/// `GET /v1/admin/distros`: every distro.
pub async fn distros(State(state): State<ApiState>, _staff: StaffCaller) -> ApiResult<Json<Value>> {
    let distros = state.store.distros().await?;
    Ok(Json(distros.iter().map(views::distro).collect()))
}

/// `POST /v1/admin/distros` `{name, path}`.
pub async fn add_distro(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = input::as_str("name", input::required(&body, "name")?)?;
    let path = input::as_str("path", input::required(&body, "path")?)?;
    let distro = state.store.add_distro(name, path).await?;
    Ok((StatusCode::CREATED, Json(views::distro(&distro))))
}
