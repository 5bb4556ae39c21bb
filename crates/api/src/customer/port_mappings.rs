//! `/api/portmappings/<server>`: public ports of a dedicated server forwarded to its
//! containers (FullServerCustomerQuickstart). Only the server's owner sees or changes them;
//! anybody else's server answers 403.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use berth_model::portmap::Protocol;
use berth_store::port_mappings::{NewPortMapping, PortMapping};
use serde_json::{json, Value};

use crate::auth::CustomerCaller;
use crate::body::JsonObject;
use crate::error::ApiResult;
use crate::input;
use crate::ApiState;

fn mapping_json(mapping: &PortMapping) -> Value {
    json!({
        "id": mapping.id,
        "proto": mapping.proto.as_str(),
        "public_port": mapping.public_port,
        "container": mapping.container,
        "container_ip": mapping.container_ip,
        "private_port": mapping.private_port,
    })
}

/// `GET /portmappings/<server>`: `[{id, proto, public_port, container, container_ip,
/// private_port}]`.
pub async fn list(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Path(server): Path<String>,
) -> ApiResult<Json<Value>> {
    let mappings = state
        .store
        .port_mappings(caller.customer_id, &server)
        .await?;
    Ok(Json(mappings.iter().map(mapping_json).collect()))
}

/// `POST /portmappings/<server>` `{container, proto, public_port, private_port}`: 201 with
/// the mapping.
pub async fn create(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Path(server): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let int = |field: &str| input::as_int(field, input::required(&body, field)?);
    let proto: Protocol = input::as_str("proto", input::required(&body, "proto")?)?.parse()?;
    let mapping = NewPortMapping {
        container: int("container")?,
        proto,
        public_port: int("public_port")?,
        private_port: int("private_port")?,
    };
    let created = state
        .store
        .add_port_mapping(caller.customer_id, &server, mapping)
        .await?;
    Ok((StatusCode::CREATED, Json(mapping_json(&created))))
}

/// `DELETE /portmappings/<server>` `{id}`: `{"message": "Ok"}`.
pub async fn delete(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Path(server): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let id = input::as_int("id", input::required(&body, "id")?)?;
    state
        .store
        .delete_port_mapping(caller.customer_id, &server, id)
        .await?;
    Ok(Json(json!({"message": "Ok"})))
}
