//! `/api/containers`: the customer's containers — list, create (on owned servers), show and
//! update, following uwsgi.it's shapes and its reboot rule.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use berth_model::container::{self, AlarmChannel, ContainerUpdate};
use berth_model::{ssh_keys, tag, text};
use berth_store::containers::{
    Actor, Container, ContainerRelations, ContainerSecret, ContainerSummary,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::CustomerCaller;
use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::input;
use crate::ApiState;

/// The list shape of a container.
pub fn summary_json(summary: &ContainerSummary) -> Value {
    json!({
        "uid": summary.uid,
        "name": summary.name,
        "hostname": summary.hostname(),
        "ip": summary.ip(),
        "memory": summary.memory,
        "storage": summary.storage,
        "uuid": summary.uuid,
        "distro": summary.distro,
        "distro_name": summary.distro_name,
        "custom_distro": summary.custom_distro,
        "custom_distro_name": summary.custom_distro_name,
        "server": summary.server,
        "server_address": summary.server_address,
        "tags": summary.tags,
    })
}

/// The detail shape of a container: the list shape, less the custom distro's name when no
/// custom distro is set (as upstream), plus every setting; empty text fields (the note, the
/// alarm channels) are `""`, as upstream shows them.
pub fn detail_json(container: &Container) -> Value {
    let settings = &container.settings;
    let mut object = summary_json(&container.summary);
    if let Value::Object(map) = &mut object {
        if container.summary.custom_distro_name.is_none() {
            map.remove("custom_distro_name");
        }
        for (key, value) in [
            ("alarm_freq", json!(settings.alarm_freq)),
            ("quota_threshold", json!(settings.quota_threshold)),
            ("nofollow", json!(settings.nofollow)),
            ("note", json!(settings.note.as_deref().unwrap_or_default())),
            ("linked_to", json!(container.linked_to)),
            (
                "custom_distros_storage",
                json!(settings.custom_distros_storage),
            ),
            ("secret_uuid", json!(container.secret_uuid)),
            ("ssh_keys", json!(settings.ssh_keys)),
            ("legion_address", json!(container.legion_addresses)),
        ] {
            map.insert(key.to_owned(), value);
        }
        for channel in AlarmChannel::ALL.into_iter().filter(|c| c.is_readable()) {
            map.insert(
                channel.as_str().to_owned(),
                json!(settings.channel(channel).unwrap_or_default()),
            );
        }
    }
    object
}

/// The `?tags=a,b` filter of list endpoints.
#[derive(Debug, Deserialize)]
pub struct TagFilter {
    tags: Option<String>,
}

impl TagFilter {
    /// The tag names asked for (none: no filter).
    pub fn names(&self) -> Vec<String> {
        self.tags
            .as_deref()
            .map(tag::filter_names)
            .unwrap_or_default()
    }
}

/// `GET /containers[?tags=a,b]`: the customer's containers, each once even when it carries
/// several of the tags.
pub async fn list(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Query(filter): Query<TagFilter>,
) -> ApiResult<axum::response::Response> {
    let names = filter.names();
    let key = format!("containers:{}:{}", caller.customer_id, names.join(","));
    let store = state.store.clone();
    state
        .rendered
        .json(caller.revision, key, || async move {
            let containers = store
                .customer_containers(caller.customer_id, &names)
                .await?;
            Ok(containers.iter().map(summary_json).collect())
        })
        .await
}

/// `POST /containers` `{server, name, memory, storage}`: creates a container on a server the
/// customer owns, if it has room; 201 `{"message": "Created", "uid": …}`.
pub async fn create(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let server = input::as_str("server", input::required(&body, "server")?)?;
    let name = input::as_str("name", input::required(&body, "name")?)?;
    let memory = input::as_int("memory", input::required(&body, "memory")?)?;
    let storage = input::as_int("storage", input::required(&body, "storage")?)?;
    let server = state.store.owned_server(caller.customer_id, server).await?;
    let created = state
        .store
        .create_container(caller.customer_id, server.id, name, memory, storage, None)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": "Created", "uid": created.summary.uid})),
    ))
}

/// `GET /containers/<uid>`: the full container; another customer's is 403.
pub async fn show(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    let uid = container_uid(&uid)?;
    let container = state
        .store
        .container(Actor::Customer(caller.customer_id), uid)
        .await?;
    Ok(Json(detail_json(&container)))
}

/// `POST /containers/<uid>`: changes any customer-writable field, `ssh_keys`, `distro`,
/// `custom_distro`, `tags`, `link`/`unlink` and `reboot`, all or nothing; answers the full
/// container. Text fields take `""` or `null` to clear.
pub async fn update(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Path(uid): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let uid = container_uid(&uid)?;
    let (update, relations) = parse_update(&body)?;
    if update.is_empty() && relations == ContainerRelations::default() {
        return Err(ApiError::bad_request("the body names no field to change"));
    }
    let container = state
        .store
        .update_container(
            Actor::Customer(caller.customer_id),
            uid,
            &update,
            &relations,
        )
        .await?;
    Ok(Json(detail_json(&container)))
}

/// A container uid from a path; anything else is refused like a foreign container (403).
pub(crate) fn container_uid(text: &str) -> ApiResult<i64> {
    text.parse::<i64>().map_err(|_| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            format!("container {text} is not one of yours"),
        )
    })
}

fn optional_text(
    body: &Map<String, Value>,
    field: &str,
    check: impl Fn(&str) -> Result<String, berth_model::ValidationError>,
) -> ApiResult<Option<Option<String>>> {
    let Some(value) = body.get(field) else {
        return Ok(None);
    };
    let checked = match input::as_optional_str(field, value)? {
        Some(text) => Some(check(text)?).filter(|text| !text.is_empty()),
        None => None,
    };
    Ok(Some(checked))
}

/// Reads an update body into the model's update and the relation changes.
pub fn parse_update(body: &Map<String, Value>) -> ApiResult<(ContainerUpdate, ContainerRelations)> {
    let int = |field: &str| -> ApiResult<Option<i64>> {
        body.get(field)
            .map(|value| input::as_int(field, value))
            .transpose()
    };
    let flag = |field: &str| -> ApiResult<Option<bool>> {
        body.get(field)
            .map(|value| input::as_bool(field, value))
            .transpose()
    };
    let mut update = ContainerUpdate {
        name: body
            .get("name")
            .map(|value| input::as_str("name", value).and_then(|name| Ok(container::name(name)?)))
            .transpose()?,
        note: optional_text(body, "note", |note| {
            text::note("note", note, text::NOTE_MAX)
        })?,
        distro: body
            .get("distro")
            .map(|value| input::as_optional_int("distro", value))
            .transpose()?,
        memory: int("memory")?
            .map(|mb| container::resource_mb("memory", mb))
            .transpose()?,
        storage: int("storage")?
            .map(|mb| container::resource_mb("storage", mb))
            .transpose()?,
        ssh_keys: body
            .get("ssh_keys")
            .map(|value| {
                let keys = input::as_string_list("ssh_keys", value)?;
                Ok::<_, ApiError>(ssh_keys::parse_list(&keys)?)
            })
            .transpose()?,
        quota_threshold: int("quota_threshold")?
            .map(container::quota_threshold)
            .transpose()?,
        alarm_freq: int("alarm_freq")?.map(container::alarm_freq).transpose()?,
        nofollow: flag("nofollow")?,
        custom_distros_storage: flag("custom_distros_storage")?,
        reboot: body.contains_key("reboot"),
        ..ContainerUpdate::default()
    };
    for channel in AlarmChannel::ALL {
        update.channels[channel as usize] =
            optional_text(body, channel.as_str(), |value| channel.validate(value))?;
    }
    update.custom_distro = body
        .get("custom_distro")
        .map(|value| input::as_optional_int("custom_distro", value))
        .transpose()?;
    let relations = ContainerRelations {
        tags: body
            .get("tags")
            .map(|value| input::as_string_list("tags", value))
            .transpose()?,
        link: int("link")?,
        unlink: int("unlink")?,
    };
    update.changes_links = relations.link.is_some() || relations.unlink.is_some();
    Ok((update, relations))
}

/// Replaces one of the caller's container's secrets and answers
/// `{"message": "Ok", <field>: <new value>}`.
pub(crate) async fn regenerated(
    state: &ApiState,
    caller: &CustomerCaller,
    uid: &str,
    secret: ContainerSecret,
    field: &str,
) -> ApiResult<Json<Value>> {
    let value = state
        .store
        .regenerate_secret(caller.customer_id, container_uid(uid)?, secret)
        .await?;
    Ok(Json(json!({"message": "Ok", field: value})))
}

/// `/regenerate_secret_uuid/<uid>` (any method): a new `secret_uuid` for the container, the
/// identity trusted external services know it by; the old one stops working.
/// `{"message": "Ok", "secret_uuid"}`.
pub async fn new_secret_uuid(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    regenerated(
        &state,
        &caller,
        &uid,
        ContainerSecret::SecretUuid,
        "secret_uuid",
    )
    .await
}
