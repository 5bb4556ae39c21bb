//! `/api/domains`: the customer's domains. A domain is added after a DNS proof (a TXT record
//! `uwsgi:<customer uuid>` on the name or a parent), and names are unique across the
//! platform. Another customer's domain answers 404, like a missing one (as upstream).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use berth_model::domain::DomainName;
use berth_store::containers::Actor;
use berth_store::domains::Domain;
use serde_json::{json, Map, Value};

use crate::auth::CustomerCaller;
use crate::body::JsonObject;
use crate::customer::containers::TagFilter;
use crate::error::{ApiError, ApiResult};
use crate::input::{self, ObjectId};
use crate::{dns_proof, ApiState};

/// The list shape of a domain: `{id, name, uuid, tags}`.
pub fn summary_json(domain: &Domain) -> Value {
    json!({"id": domain.id, "name": domain.name, "uuid": domain.uuid, "tags": domain.tags})
}

/// The detail shape of a domain: the list shape plus `note`.
pub fn detail_json(domain: &Domain) -> Value {
    let mut value = summary_json(domain);
    value["note"] = json!(domain.note);
    value
}

/// The checked `name` of a request body.
pub fn body_name(body: &Map<String, Value>) -> ApiResult<DomainName> {
    let name = input::as_str("name", input::required(body, "name")?)?;
    Ok(DomainName::parse(name)?)
}

/// `GET /domains[?tags=a,b]`: `[{id, name, uuid, tags}]`, each domain once.
pub async fn list(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Query(filter): Query<TagFilter>,
) -> ApiResult<Json<Value>> {
    let domains = state
        .store
        .domains(Actor::Customer(caller.customer_id), &filter.names())
        .await?;
    Ok(Json(domains.iter().map(summary_json).collect()))
}

/// `POST /domains` `{name}`: 409 when anybody holds the name, 403 when the DNS proof fails,
/// else 201 `{"message": "Created", id, name, uuid, tags, note}`.
pub async fn create(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = body_name(&body)?;
    state
        .store
        .ensure_domain_free(caller.customer_id, &name)
        .await?;
    dns_proof::prove(&state.dns, &name, &caller.profile.uuid)
        .await
        .map_err(|failure| {
            tracing::info!(domain = %name, reason = %failure, "domain proof failed");
            ApiError::new(StatusCode::FORBIDDEN, failure.0)
        })?;
    let domain = state.store.create_domain(caller.customer_id, &name).await?;
    let mut answer = detail_json(&domain);
    answer["message"] = json!("Created");
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `DELETE /domains` `{name}`: `{"message": "Ok"}`, or 404 when the caller has no such domain.
pub async fn delete_named(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let name = body_name(&body)?;
    state
        .store
        .delete_domain_named(Actor::Customer(caller.customer_id), &name)
        .await?;
    Ok(Json(json!({"message": "Ok"})))
}

/// `GET /domains/<id>`: `{id, name, uuid, tags, note}`.
pub async fn show(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    let domain = state.store.domain(caller.customer_id, id).await?;
    Ok(Json(detail_json(&domain)))
}

/// `POST /domains/<id>` `{note?, tags?}`: sets the note and/or replaces the tags (unknown
/// names are dropped); answers the domain. A body with neither changes nothing (as upstream).
pub async fn update(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let note = input::field(&body, "note", input::as_optional_str)?;
    let tags = input::field(&body, "tags", input::as_string_list)?;
    let domain = if note.is_none() && tags.is_none() {
        state.store.domain(caller.customer_id, id).await?
    } else {
        state
            .store
            .update_domain(caller.customer_id, id, note, tags.as_deref())
            .await?
    };
    Ok(Json(detail_json(&domain)))
}

/// `DELETE /domains/<id>`: `{"message": "Ok"}`.
pub async fn delete(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    state.store.delete_domain(caller.customer_id, id).await?;
    Ok(Json(json!({"message": "Ok"})))
}
