//! `/v1`: the customer's side of billing — the catalogue, orders (with `?preview=1`), the
//! billing address, bills (as JSON, a printable page or a PDF) and the balance. Another
//! customer's order or bill answers 404.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_model::billing::{BillRecordLine, BillingAddress, OrderTerms, RecurringPeriod};
use berth_store::bills::Bill;
use berth_store::orders::{Order, OrderQuote, OrderRequest};
use berth_store::products::Product;
use serde_json::{json, Map, Value};

use crate::auth::CustomerCaller;
use crate::body::JsonObject;
use crate::customer::bill_document::BillDocument;
use crate::customer::bill_pdf;
use crate::error::{ApiError, ApiResult};
use crate::input::{self, ObjectId};
use crate::ApiState;

/// The customer billing routes, under `/v1`; collections answer with and without a trailing
/// slash, never redirecting.
pub fn routes() -> Router<ApiState> {
    let mut router = Router::new()
        .route("/v1/my/orders/{id}", get(order))
        .route("/v1/my/orders/{id}/cancel", post(cancel))
        .route("/v1/my/orders/{id}/replace", post(replace))
        .route("/v1/my/bills/{id}", get(bill))
        .route("/v1/my/bills/{id}/html", get(bill_page))
        .route("/v1/my/bills/{id}/pdf", get(bill_pdf))
        .route("/v1/my/balance", get(balance));
    for (path, route) in [
        ("/v1/products", get(products)),
        ("/v1/my/orders", get(orders).post(place)),
        ("/v1/my/billing-address", get(addresses).post(set_address)),
        ("/v1/my/bills", get(bills)),
    ] {
        router = router
            .route(path, route.clone())
            .route(&format!("{path}/"), route);
    }
    router
}

/// A product as JSON: `{id, name, description, one_time_price, prices: [{period, price}],
/// resource_prices: [{period, memory_mb, storage_mb}], active}`, money as decimal strings;
/// `resource_prices` is empty unless the product prices containers.
pub fn product_json(product: &Product) -> Value {
    json!({
        "id": product.id,
        "name": product.name,
        "description": product.description,
        "one_time_price": product.pricing.one_time_price,
        "prices": product.pricing.prices,
        "resource_prices": product.pricing.resource_prices,
        "active": product.active,
    })
}

fn terms_json(terms: &OrderTerms) -> Value {
    json!({
        "starts_at": terms.starts_at,
        "ends_at": terms.ends_at,
        "period": terms.period,
        "one_time_price": terms.one_time_price,
        "recurring_price": terms.recurring_price,
    })
}

/// An order as JSON: its terms plus `id`, `product`, `replaces`, `replaced_by`, for a
/// container's order `container: {uid, memory, storage}` (else null), and for a VPN
/// network's order `vpn_network` (its id, else null).
pub fn order_json(order: &Order) -> Value {
    let mut value = terms_json(&order.terms);
    value["id"] = json!(order.id);
    value["product"] = json!(order.product_id);
    value["billing_address"] = json!(order.billing_address_id);
    value["replaces"] = json!(order.replaces_id);
    value["replaced_by"] = json!(order.replaced_by_id);
    value["container"] = match order.container {
        Some((uid, size)) => {
            json!({"uid": uid, "memory": size.memory, "storage": size.storage})
        }
        None => Value::Null,
    };
    value["vpn_network"] = json!(order.vpn_network);
    value
}

fn record_json(record: &BillRecordLine) -> Value {
    json!({
        "order": record.order_id,
        "recurring": record.is_recurring,
        "starts_at": record.starts_at,
        "ends_at": record.ends_at,
        "seconds": record.seconds,
        "quantity": record.quantity,
        "price": record.price,
        "sum": record.sum,
    })
}

/// A quote as JSON: `{preview, change, order, replaced, window, records, total}`.
pub fn quote_json(quote: &OrderQuote) -> Value {
    let mut order = terms_json(&quote.terms);
    order["id"] = json!(quote.order_id);
    json!({
        "preview": quote.order_id.is_none(),
        "change": quote.change,
        "order": order,
        "replaced": quote.replaced.map(|(id, ends_at)| json!({"id": id, "ends_at": ends_at})),
        "window": quote.window,
        "records": quote.records.iter().map(record_json).collect::<Vec<_>>(),
        "total": quote.total,
    })
}

/// A bill as JSON, with its records.
pub fn bill_json(bill: &Bill) -> Value {
    json!({
        "id": bill.id,
        "billing_address": bill.billing_address_id,
        "starts_at": bill.window.starts_at,
        "ends_at": bill.window.ends_at,
        "final": bill.is_final,
        "net": bill.totals.net,
        "vat_rate": bill.totals.vat_rate,
        "vat": bill.totals.vat,
        "gross": bill.totals.gross,
        "reverse_charge": bill.reverse_charge,
        "vat_note": bill.vat_note,
        "records": bill.records.iter().map(record_json).collect::<Vec<_>>(),
    })
}

/// `?preview=1` (or `true`): quote without committing; absent or `0` commits.
pub fn preview(query: &HashMap<String, String>) -> ApiResult<bool> {
    match query.get("preview").map(String::as_str) {
        None | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") | Some("") => Ok(true),
        Some(_) => Err(ApiError::bad_request("preview: must be 1 or 0")),
    }
}

/// The `{product, period}` of an order request.
pub fn order_request(body: &Map<String, Value>) -> ApiResult<OrderRequest> {
    let product_id = input::as_int("product", input::required(body, "product")?)?;
    let period: RecurringPeriod =
        input::as_str("period", input::required(body, "period")?)?.parse()?;
    Ok(OrderRequest { product_id, period })
}

/// The answer to placing or replacing: 200 for a preview, 201 once placed.
pub fn quote_answer(quote: &OrderQuote) -> (StatusCode, Json<Value>) {
    let status = if quote.order_id.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(quote_json(quote)))
}

/// `GET /v1/products`: the products customers can order.
async fn products(
    State(state): State<ApiState>,
    _caller: CustomerCaller,
) -> ApiResult<Json<Value>> {
    let products = state.store.products(false).await?;
    Ok(Json(products.iter().map(product_json).collect()))
}

/// `GET /v1/my/orders`: the caller's orders, oldest first.
async fn orders(State(state): State<ApiState>, caller: CustomerCaller) -> ApiResult<Json<Value>> {
    let orders = state.store.orders(caller.customer_id).await?;
    Ok(Json(orders.iter().map(order_json).collect()))
}

/// `GET /v1/my/orders/<id>`.
async fn order(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    let order = state.store.order(caller.customer_id, id).await?;
    Ok(Json(order_json(&order)))
}

/// `POST /v1/my/orders[?preview=1]` `{product, period}`: places an order starting now (201
/// with the quote), or only quotes it (200).
async fn place(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    Query(query): Query<HashMap<String, String>>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let preview = preview(&query)?;
    let request = order_request(&body)?;
    let quote = state
        .store
        .place_order(
            caller.customer_id,
            request,
            berth_store::time::now(),
            !preview,
        )
        .await?;
    Ok(quote_answer(&quote))
}

/// `POST /v1/my/orders/<id>/replace[?preview=1]` `{product, period}`: an upgrade takes effect
/// now, a downgrade at the end of the committed period.
async fn replace(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
    Query(query): Query<HashMap<String, String>>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let preview = preview(&query)?;
    let request = order_request(&body)?;
    let quote = state
        .store
        .replace_order(
            caller.customer_id,
            id,
            request,
            berth_store::time::now(),
            !preview,
        )
        .await?;
    Ok(quote_answer(&quote))
}

/// `POST /v1/my/orders/<id>/cancel`: the order ends with its committed period.
async fn cancel(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    let order = state
        .store
        .cancel_order(caller.customer_id, id, berth_store::time::now())
        .await?;
    Ok(Json(order_json(&order)))
}

/// A billing address as JSON: `{id, name, street, postal_code, city, country, vat_number,
/// active}`.
pub fn address_json(stored: &berth_store::billing_addresses::StoredAddress) -> Value {
    let a = &stored.address;
    json!({
        "id": stored.id,
        "name": a.name,
        "street": a.street,
        "postal_code": a.postal_code,
        "city": a.city,
        "country": a.country,
        "vat_number": a.vat_number,
        "active": stored.active,
    })
}

/// `GET /v1/my/billing-address`: the caller's addresses, the active one first.
async fn addresses(
    State(state): State<ApiState>,
    caller: CustomerCaller,
) -> ApiResult<Json<Value>> {
    let addresses = state.store.billing_addresses(caller.customer_id).await?;
    Ok(Json(addresses.iter().map(address_json).collect()))
}

/// The address of a `{name, street, postal_code, city, country, vat_number?}` body, checked.
pub fn billing_address(body: &Map<String, Value>) -> ApiResult<BillingAddress> {
    let text =
        |field: &str| -> ApiResult<&str> { input::as_str(field, input::required(body, field)?) };
    let vat_number = input::optional_string(body, "vat_number")?;
    Ok(BillingAddress::new(
        text("name")?,
        text("street")?,
        text("postal_code")?,
        text("city")?,
        text("country")?,
        vat_number.as_deref(),
    )?)
}

/// `POST /v1/my/billing-address` `{name, street, postal_code, city, country, vat_number?}`:
/// 201; the new address becomes the active one.
async fn set_address(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let address = billing_address(&body)?;
    let stored = state
        .store
        .set_billing_address(caller.customer_id, &address)
        .await?;
    Ok((StatusCode::CREATED, Json(address_json(&stored))))
}

/// `GET /v1/my/bills`: the caller's bills with their records, oldest first.
async fn bills(State(state): State<ApiState>, caller: CustomerCaller) -> ApiResult<Json<Value>> {
    let bills = state.store.bills(caller.customer_id).await?;
    Ok(Json(bills.iter().map(bill_json).collect()))
}

/// `GET /v1/my/bills/<id>`.
async fn bill(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    let bill = state.store.bill(Some(caller.customer_id), id).await?;
    Ok(Json(bill_json(&bill)))
}

/// `GET /v1/my/balance`: `{paid, billed, balance}`; negative means the customer owes.
async fn balance(State(state): State<ApiState>, caller: CustomerCaller) -> ApiResult<Json<Value>> {
    let balance = state.store.balance(caller.customer_id).await?;
    Ok(Json(json!({
        "paid": balance.paid,
        "billed": balance.billed,
        "balance": balance.balance,
    })))
}

/// The document of the caller's bill `id`; another customer's bill is not found, as in
/// `GET /v1/my/bills/<id>`.
async fn bill_document(
    state: &ApiState,
    caller: &CustomerCaller,
    id: i64,
) -> ApiResult<BillDocument> {
    let bill = state.store.bill(Some(caller.customer_id), id).await?;
    let addresses = state.store.billing_addresses(caller.customer_id).await?;
    let address = addresses
        .iter()
        .find(|a| a.id == bill.billing_address_id)
        .map(|a| &a.address);
    Ok(BillDocument::new(&bill, address))
}

/// `GET /v1/my/bills/<id>/html`: the bill as a printable page.
async fn bill_page(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Html<String>> {
    Ok(Html(bill_document(&state, &caller, id).await?.html()))
}

/// `GET /v1/my/bills/<id>/pdf`: the bill as a PDF file, shown inline as `bill-<id>.pdf`.
async fn bill_pdf(
    State(state): State<ApiState>,
    caller: CustomerCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Response> {
    let document = bill_document(&state, &caller, id).await?;
    let disposition = format!("inline; filename=\"bill-{id}.pdf\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bill_pdf::render(&document),
    )
        .into_response())
}
