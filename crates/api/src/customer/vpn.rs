//! `/v1/net/vpn`: a customer's WireGuard VPN networks (uncloud's `v1/net/vpn/`). A customer
//! asks for a network size and gives their WireGuard public key; the answer carries what
//! their side needs: the network, the server's host, port and public key, and a client
//! configuration to complete with their private key. Another customer's network is 404.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use berth_model::vpn;
use berth_store::vpn::VpnNetwork;
use serde_json::{json, Value};

use crate::auth::CustomerCaller;
use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::input::{self, ObjectId};
use crate::ApiState;

/// The VPN routes under `/v1/net/vpn`; the collection answers with and without a trailing
/// slash.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/net/vpn", get(list).post(create))
        .route("/v1/net/vpn/", get(list).post(create))
        .route("/v1/net/vpn/{id}", get(show).delete(delete))
}

/// A network as JSON: `{id, network, network_size, vpn_hostname, endpoint,
/// server_public_key, wireguard_public_key, client_config}`.
pub fn network_json(network: &VpnNetwork) -> Value {
    let pool = &network.pool.definition;
    let endpoint = format!("{}:{}", pool.vpn_hostname, pool.listen_port);
    json!({
        "id": network.id,
        "network": network.address.to_string(),
        "network_size": network.size,
        "vpn_hostname": pool.vpn_hostname,
        "endpoint": endpoint,
        "server_public_key": network.pool.public_key,
        "wireguard_public_key": network.public_key,
        "client_config": vpn::client_config(
            network.address,
            network.size,
            &network.pool.public_key,
            &endpoint,
        ),
    })
}

/// `GET /v1/net/vpn`: the caller's networks, oldest first.
async fn list(State(state): State<ApiState>, caller: CustomerCaller) -> ApiResult<Json<Value>> {
    let networks = state.store.vpn_networks(caller.customer_id).await?;
    Ok(Json(networks.iter().map(network_json).collect()))
}

/// `POST /v1/net/vpn` `{network_size (or network_mask), wireguard_public_key}`: 201, the
/// next free network of that size.
async fn create(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let size = match (body.get("network_size"), body.get("network_mask")) {
        (Some(value), _) => input::as_int("network_size", value)?,
        (None, Some(value)) => input::as_int("network_mask", value)?,
        (None, None) => return Err(ApiError::bad_request("network_size: is required")),
    };
    let key = input::as_str(
        "wireguard_public_key",
        input::required(&body, "wireguard_public_key")?,
    )?;
    let network = state
        .store
        .create_vpn_network(caller.customer_id, size, key)
        .await?;
    Ok((StatusCode::CREATED, Json(network_json(&network))))
}

/// `GET /v1/net/vpn/<id>`: one of the caller's networks.
async fn show(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    let network = state.store.vpn_network(caller.customer_id, id).await?;
    Ok(Json(network_json(&network)))
}

/// `DELETE /v1/net/vpn/<id>`: gives the network back to its pool.
async fn delete(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    state
        .store
        .delete_vpn_network(caller.customer_id, id)
        .await?;
    Ok(Json(json!({"message": "Ok"})))
}
