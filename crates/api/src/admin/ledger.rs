//! `/v1/admin/orders`, `/v1/admin/bills` and `/v1/admin/balance` read with
//! `?customer=<username>`: one customer's account as staff see it, in the shapes the
//! customer gets at `/v1/my/...`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::customers::customer_in_query;
use crate::auth::StaffCaller;
use crate::customer::billing::{bill_json, order_json};
use crate::error::ApiResult;
use crate::ApiState;

/// `GET /v1/admin/orders?customer=<username>`: the customer's orders, oldest first.
pub async fn orders(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let customer = customer_in_query(&state, &query).await?;
    let orders = state.store.orders(customer.id).await?;
    Ok(Json(orders.iter().map(order_json).collect()))
}

/// `GET /v1/admin/bills?customer=<username>`: the customer's bills with their records,
/// oldest first.
pub async fn bills(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let customer = customer_in_query(&state, &query).await?;
    let bills = state.store.bills(customer.id).await?;
    Ok(Json(bills.iter().map(bill_json).collect()))
}

/// `GET /v1/admin/balance?customer=<username>`: `{customer, paid, billed, balance}`;
/// negative means the customer owes.
pub async fn balance(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let customer = customer_in_query(&state, &query).await?;
    let balance = state.store.balance(customer.id).await?;
    Ok(Json(json!({
        "customer": customer.username,
        "paid": balance.paid,
        "billed": balance.billed,
        "balance": balance.balance,
    })))
}
