//! `/v1/admin/vpnpool`: WireGuard VPN pools (staff). A pool takes the 2020 manual's fields
//! (`network`, `network_size`, `subnetwork_size`, `vpn_hostname`, `wireguard_private_key`)
//! or the later ones (`network_mask`, `subnetwork_mask`, `vpn_server_hostname`, `wg_name`,
//! `wireguard_public_key`, with the private key kept on the VPN host).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use berth_model::vpn::{PoolDefinition, DEFAULT_LISTEN_PORT};
use berth_store::vpn::{ServerKey, VpnPool};
use serde_json::{json, Map, Value};

use super::customers::customer_in_query;
use crate::auth::StaffCaller;
use crate::body::JsonObject;
use crate::customer::vpn::network_json;
use crate::error::{ApiError, ApiResult};
use crate::input::{self, ObjectId};
use crate::ApiState;

/// A pool as JSON: its definition, the server's public key (never the private key), and
/// its capacity, used and free networks.
pub fn pool_json(pool: &VpnPool) -> Value {
    let d = &pool.definition;
    json!({
        "id": pool.id,
        "network": d.network.to_string(),
        "network_size": d.network_size,
        "subnetwork_size": d.subnetwork_size,
        "vpn_hostname": d.vpn_hostname,
        "wg_name": d.wg_name,
        "listen_port": d.listen_port,
        "wireguard_public_key": pool.public_key,
        "private_key_kept": pool.private_key.is_some(),
        "product": pool.product_id,
        "capacity": d.capacity(),
        "used": pool.used,
        "free": pool.free(),
    })
}

/// The first of `names` present in `body`, as an integer.
fn int_of(body: &Map<String, Value>, names: [&str; 2]) -> ApiResult<i64> {
    for name in names {
        if let Some(value) = body.get(name) {
            return input::as_int(name, value);
        }
    }
    Err(ApiError::bad_request(format!("{}: is required", names[0])))
}

/// The first of `names` present in `body`, as a string.
fn text_of<'a>(body: &'a Map<String, Value>, names: [&str; 2]) -> ApiResult<&'a str> {
    for name in names {
        if let Some(value) = body.get(name) {
            return input::as_str(name, value);
        }
    }
    Err(ApiError::bad_request(format!("{}: is required", names[0])))
}

/// `GET /v1/admin/vpnpool`: every pool with its use.
pub async fn list(State(state): State<ApiState>, _staff: StaffCaller) -> ApiResult<Json<Value>> {
    let pools = state.store.vpn_pools().await?;
    Ok(Json(pools.iter().map(pool_json).collect()))
}

/// `POST /v1/admin/vpnpool` `{network, network_size, subnetwork_size, vpn_hostname,
/// wg_name?, listen_port?, wireguard_private_key | wireguard_public_key, product?}`: 201,
/// the pool; with `product` (an id), each network is ordered as that product.
pub async fn create(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let definition = PoolDefinition::new(
        input::as_str("network", input::required(&body, "network")?)?,
        int_of(&body, ["network_size", "network_mask"])?,
        int_of(&body, ["subnetwork_size", "subnetwork_mask"])?,
        text_of(&body, ["vpn_hostname", "vpn_server_hostname"])?,
        input::optional_string(&body, "wg_name")?
            .as_deref()
            .unwrap_or("wg0"),
        input::field(&body, "listen_port", input::as_int)?.unwrap_or(DEFAULT_LISTEN_PORT),
    )?;
    let key = match (
        input::optional_string(&body, "wireguard_private_key")?,
        input::optional_string(&body, "wireguard_public_key")?,
    ) {
        (Some(private), None) => ServerKey::Private(private),
        (None, Some(public)) => ServerKey::Public(public),
        _ => {
            return Err(ApiError::bad_request(
                "give the server's wireguard_private_key or its wireguard_public_key (one)",
            ))
        }
    };
    let product = input::field(&body, "product", input::as_int)?;
    let pool = state
        .store
        .create_vpn_pool(&definition, &key, product)
        .await?;
    Ok((StatusCode::CREATED, Json(pool_json(&pool))))
}

/// `GET /v1/admin/vpnpool/<id>`: one pool.
pub async fn show(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    Ok(Json(pool_json(&state.store.vpn_pool(id).await?)))
}

/// `DELETE /v1/admin/vpnpool/<id>`: removes a pool that hands out no network (409 else).
pub async fn delete(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    state.store.delete_vpn_pool(id).await?;
    Ok(Json(json!({"message": "Ok"})))
}

/// `GET /v1/admin/vpn-networks?customer=<username>`: the customer's networks, as the
/// customer sees them at `/v1/net/vpn`.
pub async fn networks(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let customer = customer_in_query(&state, &query).await?;
    let networks = state.store.vpn_networks(customer.id).await?;
    Ok(Json(networks.iter().map(network_json).collect()))
}
