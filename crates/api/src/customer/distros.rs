//! `/api/distros`: the platform's distros.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::auth::CustomerCaller;
use crate::error::ApiResult;
use crate::ApiState;

/// `GET /distros`: `[{id, name}]`.
pub async fn list(
    State(state): State<ApiState>,
    _caller: CustomerCaller,
) -> ApiResult<Json<Value>> {
    let distros = state.store.distros().await?;
    Ok(Json(
        distros
            .iter()
            .map(|distro| json!({"id": distro.id, "name": distro.name}))
            .collect(),
    ))
}
