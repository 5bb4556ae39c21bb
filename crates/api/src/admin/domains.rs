//! `/v1/admin/domains`: every customer's domains; staff assign a domain without a DNS proof.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use berth_store::containers::Actor;
use serde_json::{json, Value};

use super::views;
use crate::auth::StaffCaller;
use crate::body::JsonObject;
use crate::customer::domains::body_name;
use crate::error::ApiResult;
use crate::input;
use crate::ApiState;

/// `GET /v1/admin/domains`: every domain with its owner.
pub async fn list(State(state): State<ApiState>, _staff: StaffCaller) -> ApiResult<Json<Value>> {
    let domains = state.store.domains(Actor::Staff, &[]).await?;
    Ok(Json(domains.iter().map(views::domain).collect()))
}

/// `POST /v1/admin/domains` `{name, customer}`: gives the domain to the customer (no DNS
/// proof); 409 when anybody holds it.
pub async fn assign(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = body_name(&body)?;
    let customer = input::as_str("customer", input::required(&body, "customer")?)?;
    let domain = state.store.assign_domain(&name, customer).await?;
    Ok((StatusCode::CREATED, Json(views::domain(&domain))))
}

/// `DELETE /v1/admin/domains` `{name}`: removes the domain, whoever holds it.
pub async fn delete(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let name = body_name(&body)?;
    state.store.delete_domain_named(Actor::Staff, &name).await?;
    Ok(Json(json!({"message": "Ok"})))
}
