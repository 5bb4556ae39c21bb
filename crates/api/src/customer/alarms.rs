//! `/api/alarms`, `/api/alarms/raise/<uid>` and `/api/alarm_key/<uid>`: the alarms of the
//! customer's containers. Another customer's alarm or container answers 403, like a missing
//! one (as upstream).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use berth_model::alarm::{self, RaiseError, RaisedFields, RangeError};
use berth_store::alarms::{Alarm, AlarmFilter};
use berth_store::containers::ContainerSecret;
use serde::Deserialize;
use serde_json::{json, Value};

use super::containers::{container_uid, regenerated};
use crate::auth::{AlarmRaiser, CustomerCaller};
use crate::body::RawBody;
use crate::error::{ApiError, ApiResult};
use crate::input::{self, ObjectId};
use crate::ApiState;

fn alarm_json(alarm: &Alarm) -> Value {
    let details = &alarm.details;
    json!({
        "id": alarm.id,
        "container": alarm.container,
        "level": details.level,
        "color": details.color,
        "class": details.class,
        "vassal": details.vassal,
        "line": details.line,
        "filename": details.filename,
        "func": details.func,
        "unix": alarm.unix,
        "msg": details.msg,
    })
}

/// The query of `GET /alarms`: exact-match filters (empty values mean no filter), `range`
/// and `with_total`.
#[derive(Debug, Deserialize)]
pub struct AlarmQuery {
    container: Option<String>,
    vassal: Option<String>,
    #[serde(rename = "class")]
    class_name: Option<String>,
    color: Option<String>,
    level: Option<String>,
    line: Option<String>,
    filename: Option<String>,
    func: Option<String>,
    range: Option<String>,
    with_total: Option<String>,
}

fn given(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.is_empty())
}

fn unsatisfiable(error: RangeError) -> ApiError {
    ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, error.to_string())
}

/// `GET /alarms`: the customer's alarms, newest first; with `with_total`,
/// `{"total", "alarms"}` where `total` counts the matches before `range`.
pub async fn list(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Query(query): Query<AlarmQuery>,
) -> ApiResult<Json<Value>> {
    let filter = AlarmFilter {
        container: input::query_int("container", query.container.as_deref())?,
        vassal: given(query.vassal),
        class: given(query.class_name),
        color: given(query.color)
            .map(|color| alarm::color(&color))
            .transpose()?,
        level: input::query_int("level", query.level.as_deref())?,
        line: input::query_int("line", query.line.as_deref())?,
        filename: given(query.filename),
        func: given(query.func),
        window: query
            .range
            .as_deref()
            .map(alarm::window)
            .transpose()
            .map_err(unsatisfiable)?,
        with_total: query.with_total.is_some(),
    };
    let list = state.store.alarms(caller.customer_id, &filter).await?;
    let alarms: Vec<Value> = list.alarms.iter().map(alarm_json).collect();
    Ok(Json(match list.total {
        Some(total) => json!({"total": total, "alarms": alarms}),
        None => Value::from(alarms),
    }))
}

/// `GET /alarms/<id>`: the alarm.
pub async fn show(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    let alarm = state.store.alarm(caller.customer_id, id).await?;
    Ok(Json(alarm_json(&alarm)))
}

/// `DELETE /alarms/<id>`: `{"message": "Ok"}`.
pub async fn delete(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    state.store.delete_alarm(caller.customer_id, id).await?;
    Ok(Json(json!({"message": "Ok"})))
}

/// The query of `POST /alarms/raise/<uid>`: the alarm's optional fields (`key` is read by
/// [`AlarmRaiser`]).
#[derive(Debug, Deserialize)]
pub struct RaiseQuery {
    color: Option<String>,
    #[serde(rename = "class")]
    class_name: Option<String>,
    vassal: Option<String>,
    line: Option<String>,
    func: Option<String>,
    filename: Option<String>,
    level: Option<String>,
    unix: Option<String>,
}

fn refused(error: RaiseError) -> ApiError {
    match error {
        RaiseError::ReservedLevel(_) => ApiError::new(StatusCode::FORBIDDEN, error.to_string()),
        RaiseError::Invalid(invalid) => invalid.into(),
    }
}

/// `POST /alarms/raise/<uid>` (also `/alarms/trigger/<uid>`): the raw body, whatever its
/// Content-Type, becomes the message verbatim (quotes included); the query gives the other
/// fields. 201 `{"message": "Created", "id"}`.
pub async fn raise(
    State(state): State<ApiState>,
    raiser: AlarmRaiser,
    Path(uid): Path<String>,
    Query(query): Query<RaiseQuery>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let uid = container_uid(&uid)?;
    let customer_id = raiser.customer_id(&state, uid).await?;
    let msg = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("msg: the body must be UTF-8 text"))?;
    let fields = RaisedFields {
        color: query.color.as_deref(),
        class: query.class_name.as_deref(),
        vassal: query.vassal.as_deref(),
        filename: query.filename.as_deref(),
        func: query.func.as_deref(),
        line: query.line.as_deref(),
        level: query.level.as_deref(),
        unix: query.unix.as_deref(),
    };
    let alarm = alarm::customer_alarm(fields, msg).map_err(refused)?;
    let stored = state.store.raise_alarm(customer_id, uid, &alarm).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": "Created", "id": stored.id})),
    ))
}

/// `/alarm_key/<uid>` (any method): a new alarm key for the container; the old one stops
/// working. `{"message": "Ok", "alarm_key"}`.
pub async fn new_key(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    regenerated(
        &state,
        &caller,
        &uid,
        ContainerSecret::AlarmKey,
        "alarm_key",
    )
    .await
}
