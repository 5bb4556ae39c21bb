//! `/v1/admin/servers` and `/v1/admin/distros`: what the platform runs on.

use axum::extract::{Path, State};
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

/// `POST /v1/admin/servers` `{name, address, memory, storage, weight?, datacenter?, owner?}`:
/// the new server with a one-time `join_token` for its `berth node`.
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
    let mut answer = views::server(&server);
    answer["join_token"] = Value::from(state.store.issue_join_token(server.id).await?);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `POST /v1/admin/servers/{name}/join-token`: a new one-time join token for the server
/// (`{"server", "join_token"}`); once used, it replaces the server's credential.
pub async fn join_token(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let server = state.store.server_by_name(&name).await?;
    let token = state.store.issue_join_token(server.id).await?;
    Ok(Json(
        serde_json::json!({"server": server.name, "join_token": token}),
    ))
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
