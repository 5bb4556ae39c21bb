//! `/api/metrics/…`: the per-day series nodes record for containers and domains, and the
//! domain ↔ container pairs they reveal (`containers/<uid>/domains`,
//! `domains/<id>/containers`).

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_model::metrics::{Metric, MetricDay};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::CustomerCaller;
use crate::error::{ApiError, ApiResult};
use crate::input::{self, ObjectId};
use crate::ApiState;

/// How long a client may keep a day's series: today's grows every five minutes, a past
/// day's is final.
const TODAY_MAX_AGE: u32 = 300;
const PAST_DAY_MAX_AGE: u32 = 86_400;

/// The `?year=&month=&day=` of a metrics request; each defaults to today's (UTC).
#[derive(Debug, Default, Deserialize)]
pub struct DayQuery {
    year: Option<String>,
    month: Option<String>,
    day: Option<String>,
}

fn today() -> MetricDay {
    MetricDay::containing(berth_store::time::now())
}

impl DayQuery {
    fn day(&self) -> Result<MetricDay, ApiError> {
        Ok(MetricDay::from_query(
            today(),
            self.year.as_deref(),
            self.month.as_deref(),
            self.day.as_deref(),
        )?)
    }
}

/// `GET /metrics/container.<m>/<uid>` → `[[unix, value], …]`;
/// `GET /metrics/domain.<m>/<id>` → `[{"container": uid, "metrics": [[unix, value], …]}, …]`.
/// Another customer's container or domain is 403, an unknown metric 404.
pub async fn series(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Path((metric, id)): Path<(String, String)>,
    Query(query): Query<DayQuery>,
) -> ApiResult<Response> {
    let metric: Metric = metric
        .parse()
        .map_err(|error: berth_model::ValidationError| {
            ApiError::new(axum::http::StatusCode::NOT_FOUND, error.message)
        })?;
    let id = input::path_id(&id)?;
    let day = query.day()?;
    let body = match metric {
        Metric::Container(metric) => json!(
            state
                .store
                .container_metric_day(caller.customer_id, id, metric, day)
                .await?
        ),
        Metric::Domain(metric) => state
            .store
            .domain_metric_day(caller.customer_id, id, metric, day)
            .await?
            .into_iter()
            .map(|series| json!({"container": series.uid, "metrics": series.points}))
            .collect(),
    };
    let max_age = if day < today() {
        PAST_DAY_MAX_AGE
    } else {
        TODAY_MAX_AGE
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("private, max-age={max_age}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    Ok(response)
}

/// `GET /containers/<uid>/domains` → `[{id, uuid, name}]`: the customer's domains this
/// container served requests for on the day asked (default today).
pub async fn domains_of_container(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Path(uid): Path<String>,
    Query(query): Query<DayQuery>,
) -> ApiResult<Json<Value>> {
    let domains = state
        .store
        .domains_served_by(caller.customer_id, input::path_id(&uid)?, query.day()?)
        .await?;
    Ok(Json(
        domains
            .iter()
            .map(|domain| json!({"id": domain.id, "uuid": domain.uuid, "name": domain.name}))
            .collect(),
    ))
}

/// `GET /domains/<id>/containers` → `[{id, uuid, name, uid}]`: the customer's containers
/// that served the domain on the day asked (default today). `id` is the uid, as everywhere
/// else in the API (upstream printed the database key there).
pub async fn containers_of_domain(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
    Query(query): Query<DayQuery>,
) -> ApiResult<Json<Value>> {
    let containers = state
        .store
        .containers_serving(caller.customer_id, id, query.day()?)
        .await?;
    Ok(Json(
        containers
            .iter()
            .map(|container| {
                json!({
                    "id": container.uid,
                    "uuid": container.uuid,
                    "name": container.name,
                    "uid": container.uid,
                })
            })
            .collect(),
    ))
}
