//! `/v1/admin/customers` and `/v1/admin/staff`: accounts.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use berth_store::customers::{Customer, NewCustomer};
use berth_store::{passwords, StoreError};
use serde_json::{json, Value};

use super::views;
use crate::auth::StaffCaller;
use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::input;
use crate::ApiState;

/// The customer whose login is `username`; 404 `no customer <username>` when none is.
pub async fn customer_named(state: &ApiState, username: &str) -> ApiResult<Customer> {
    match state.store.customer_by_username(username).await {
        Err(StoreError::NotFound(_)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no customer {username}"),
        )),
        found => Ok(found?),
    }
}

/// The customer named by the query's `customer` (400 when it names none).
pub async fn customer_in_query(
    state: &ApiState,
    query: &HashMap<String, String>,
) -> ApiResult<Customer> {
    let username = query
        .get("customer")
        .ok_or_else(|| ApiError::bad_request("customer: required"))?;
    customer_named(state, username).await
}

/// `GET /v1/admin/customers`: every customer.
pub async fn list(State(state): State<ApiState>, _staff: StaffCaller) -> ApiResult<Json<Value>> {
    let customers = state.store.customers().await?;
    Ok(Json(customers.iter().map(views::customer).collect()))
}

/// `POST /v1/admin/customers` `{username, password?, email?, company?, vat?}`: 201 with the
/// customer, and the generated password when none was given.
pub async fn create(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let username = input::as_str("username", input::required(&body, "username")?)?.to_owned();
    let (password, generated) =
        passwords::given_or_generated(input::optional_string(&body, "password")?);
    let customer = state
        .store
        .create_customer(NewCustomer {
            username,
            password: password.clone(),
            email: input::optional_string(&body, "email")?.unwrap_or_default(),
            company: input::optional_string(&body, "company")?,
            vat: input::optional_string(&body, "vat")?,
        })
        .await?;
    let mut answer = json!({"username": customer.username, "uuid": customer.uuid});
    if generated {
        answer["password"] = json!(password);
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `POST /v1/admin/customers/<username>/password` `{password?}`: sets (or generates and
/// returns) a new password; `{message, username, password?}`.
pub async fn password(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path(username): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let (password, generated) =
        passwords::given_or_generated(input::optional_string(&body, "password")?);
    state.store.set_password(&username, &password).await?;
    let mut answer = json!({"message": "Ok", "username": username});
    if generated {
        answer["password"] = json!(password);
    }
    Ok(Json(answer))
}

/// `POST /v1/admin/staff` `{username, password?}`: creates a staff user.
pub async fn create_staff(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let username = input::as_str("username", input::required(&body, "username")?)?;
    let (password, generated) =
        passwords::given_or_generated(input::optional_string(&body, "password")?);
    state.store.create_staff(username, &password).await?;
    let mut answer = json!({"username": username});
    if generated {
        answer["password"] = json!(password);
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `POST /v1/admin/customers/<username>/billing-address` `{name, street, postal_code, city,
/// country, vat_number?}`: 201, the customer's new active address, as the customer would set
/// it (migrating customers before their orders are placed).
pub async fn billing_address(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Path(username): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let address = crate::customer::billing::billing_address(&body)?;
    let customer = customer_named(&state, &username).await?;
    let stored = state
        .store
        .set_billing_address(customer.id, &address)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(crate::customer::billing::address_json(&stored)),
    ))
}
