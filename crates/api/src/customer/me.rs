//! `/api/me`: the customer's own account.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use berth_store::customers::ProfileUpdate;
use berth_store::logins::Profile;
use serde_json::{json, Value};

use crate::auth::CustomerCaller;
use crate::body::JsonObject;
use crate::error::ApiResult;
use crate::input;
use crate::ApiState;

async fn render(state: &ApiState, customer_id: i64, profile: &Profile) -> ApiResult<Value> {
    let (containers, servers) = state.store.customer_holdings(customer_id).await?;
    Ok(json!({
        "email": profile.email,
        "vat": profile.vat,
        "company": profile.company,
        "uuid": profile.uuid,
        "containers": containers,
        "servers": servers,
    }))
}

/// `GET /me`: email, vat, company, uuid, container uids and owned server addresses; rendered
/// once per revision (the profile comes with the caller, read at or after that revision).
pub async fn show(State(state): State<ApiState>, caller: CustomerCaller) -> ApiResult<Response> {
    let key = format!("me:{}", caller.customer_id);
    state
        .rendered
        .json(caller.revision, key, || {
            render(&state, caller.customer_id, &caller.profile)
        })
        .await
}

/// `POST /me`: changes `email`, `vat`, `company` and `password` (an empty password leaves it
/// unchanged, anything but a string is a 400); other keys are ignored.
pub async fn update(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let text = |field: &str| -> ApiResult<Option<String>> {
        body.get(field)
            .map(|value| input::as_optional_str(field, value).map(|v| v.unwrap_or("").to_owned()))
            .transpose()
    };
    let update = ProfileUpdate {
        email: text("email")?,
        company: text("company")?,
        vat: text("vat")?,
        // A password must be a string: null or a number never leaves it unchanged silently.
        password: body
            .get("password")
            .map(|value| input::as_str("password", value))
            .transpose()?
            .filter(|password| !password.is_empty())
            .map(str::to_owned),
    };
    let customer = state
        .store
        .update_profile(caller.customer_id, update)
        .await?;
    let profile = Profile {
        uuid: customer.uuid,
        email: customer.email,
        company: customer.company,
        vat: customer.vat,
    };
    Ok(Json(render(&state, caller.customer_id, &profile).await?))
}
