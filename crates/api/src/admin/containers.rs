//! `/v1/admin/containers`: containers for any customer, resizing and deletion.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use berth_model::billing::RecurringPeriod;
use berth_model::container::{self, ContainerUpdate};
use berth_store::containers::{Actor, ContainerRelations};
use serde_json::{json, Value};

use super::customers::customer_named;
use super::views;
use crate::auth::StaffCaller;
use crate::body::JsonObject;
use crate::customer::billing::{order_json, preview, quote_json};
use crate::customer::containers::detail_json;
use crate::error::{ApiError, ApiResult};
use crate::input;
use crate::ApiState;

/// `GET /v1/admin/containers`: every container with its owner.
pub async fn list(State(state): State<ApiState>, _staff: StaffCaller) -> ApiResult<Json<Value>> {
    let containers = state.store.all_containers().await?;
    Ok(Json(containers.iter().map(views::container).collect()))
}

/// The optional `period` of a container's order.
fn order_period(body: &serde_json::Map<String, Value>) -> ApiResult<Option<RecurringPeriod>> {
    Ok(input::field(body, "period", input::as_str)?
        .map(str::parse)
        .transpose()?)
}

/// `POST /v1/admin/containers` `{customer, server, name, memory, storage, period?}`: 201
/// `{uid}`. When a product prices containers, the container's order (for `period`, or the
/// product's first) is placed with it; 409 if the customer has no billing address.
pub async fn create(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let customer = input::as_str("customer", input::required(&body, "customer")?)?;
    let server = input::as_str("server", input::required(&body, "server")?)?;
    let name = input::as_str("name", input::required(&body, "name")?)?;
    let memory = input::as_int("memory", input::required(&body, "memory")?)?;
    let storage = input::as_int("storage", input::required(&body, "storage")?)?;
    let customer = customer_named(&state, customer).await?;
    let server = state.store.server_by_name(server).await?;
    let created = state
        .store
        .create_container(
            customer.id,
            server.id,
            name,
            memory,
            storage,
            order_period(&body)?,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": "Created", "uid": created.summary.uid})),
    ))
}

fn uid(text: &str) -> ApiResult<i64> {
    input::path_id(text)
}

/// `GET /v1/admin/containers/<uid>`: the full container.
pub async fn show(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path(text): Path<String>,
) -> ApiResult<Json<Value>> {
    let container = state.store.container(Actor::Staff, uid(&text)?).await?;
    let mut answer = detail_json(&container);
    answer["status"] = match state.store.container_status(container.summary.uid).await? {
        Some(reported) => json!({
            "state": reported.status.state.as_str(),
            "running_since_reboot": reported.status.running_since_reboot,
            "detail": reported.status.detail,
            "disk_used": reported.status.disk_used,
            "reported_at": reported.reported_at,
        }),
        None => Value::Null,
    };
    Ok(Json(answer))
}

/// `POST /v1/admin/containers/<uid>[?preview=1]` `{memory?, storage?}`: resizes within the
/// server's room; a billed container's order is replaced by one priced from the new size (an
/// upgrade at once, a downgrade when the committed period ends). With `?preview=1` nothing
/// changes: `{preview: true, quote}`, the quote of the order change (null when the container
/// is not billed by its resources).
pub async fn resize(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path(text): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let size = |field: &str| -> ApiResult<Option<i64>> {
        body.get(field)
            .map(|value| Ok(container::resource_mb(field, input::as_int(field, value)?)?))
            .transpose()
    };
    let update = ContainerUpdate {
        memory: size("memory")?,
        storage: size("storage")?,
        ..ContainerUpdate::default()
    };
    if update.is_empty() {
        return Err(ApiError::bad_request("give memory and/or storage"));
    }
    if preview(&query)? {
        let quote = state
            .store
            .preview_container_resize(uid(&text)?, update.memory, update.storage)
            .await?;
        return Ok(Json(json!({
            "preview": true,
            "quote": quote.as_ref().map(quote_json),
        })));
    }
    let container = state
        .store
        .update_container(
            Actor::Staff,
            uid(&text)?,
            &update,
            &ContainerRelations::default(),
        )
        .await?;
    Ok(Json(detail_json(&container)))
}

/// `POST /v1/admin/containers/<uid>/order` `{period?, starts_at?}`: starts billing a
/// container that has no open order (made before a product priced containers, or whose
/// order ended), from `starts_at` (unix time; default now); 201, the order.
pub async fn order(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path(text): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let starts_at =
        input::field(&body, "starts_at", input::as_int)?.unwrap_or_else(berth_store::time::now);
    let order = state
        .store
        .order_container(uid(&text)?, order_period(&body)?, starts_at)
        .await?;
    Ok((StatusCode::CREATED, Json(order_json(&order))))
}

/// `DELETE /v1/admin/containers/<uid>`: removes the container (its home stays on the server).
pub async fn delete(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path(text): Path<String>,
) -> ApiResult<Json<Value>> {
    state.store.delete_container(uid(&text)?).await?;
    Ok(Json(json!({"message": "Ok"})))
}

/// `POST /v1/admin/containers/<uid>/max-alarms` `{count}`: how many alarms the container
/// keeps (1 to 100000; the oldest go first); `{uid, max_alarms}`.
pub async fn max_alarms(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path(text): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let uid = uid(&text)?;
    let count = input::as_int("count", input::required(&body, "count")?)?;
    state.store.set_max_alarms(uid, count).await?;
    Ok(Json(json!({"uid": uid, "max_alarms": count})))
}
