//! `/v1/admin/...` billing: products, orders on a customer's behalf at a chosen date, bill
//! generation and closing, payments, and VAT rates.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use berth_model::billing::{
    parse_payment_amount, parse_vat_csv, PricingEdit, ProductPricing, ProviderCountry,
    ResourcePriceRow,
};
use berth_store::orders::OrderRequest;
use berth_store::products::ProductEdit;
use serde_json::{json, Map, Value};

use crate::admin::customers::{customer_in_query, customer_named};
use crate::admin::views;
use crate::auth::StaffCaller;
use crate::body::JsonObject;
use crate::customer::billing::{
    bill_json, order_json, order_request, preview, product_json, quote_answer,
};
use crate::error::{ApiError, ApiResult};
use crate::input::{self, ObjectId};
use crate::ApiState;

/// A price sent as a JSON string (or, leniently, a number).
fn price_text(field: &str, price: &Value) -> ApiResult<String> {
    match price {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(ApiError::bad_request(format!(
            "{field}: each price must be a string"
        ))),
    }
}

/// The entries of a price list sent either as an object keyed by period or as the array of
/// objects with a `period` field that the API answers (which keeps the order given).
fn by_period<'a>(
    value: &'a Value,
    shape: &dyn Fn() -> ApiError,
) -> ApiResult<Vec<(String, &'a Value)>> {
    match value {
        Value::Object(map) => Ok(map.iter().map(|(k, v)| (k.clone(), v)).collect()),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let period = item
                    .get("period")
                    .and_then(Value::as_str)
                    .ok_or_else(shape)?;
                Ok((period.to_owned(), item))
            })
            .collect(),
        _ => Err(shape()),
    }
}

/// `resource_prices: {period: {memory_mb, storage_mb}}` (or `[{period, memory_mb,
/// storage_mb}]`) as `(period, memory, storage)` rows.
fn resource_prices(value: &Value) -> ApiResult<Vec<ResourcePriceRow>> {
    let shape = || {
        ApiError::bad_request(
            "resource_prices: must be an object {period: {memory_mb: price, storage_mb: price}}",
        )
    };
    by_period(value, &shape)?
        .into_iter()
        .map(|(period, units)| {
            let units = units.as_object().ok_or_else(shape)?;
            let unit = |name: &str| {
                units
                    .get(name)
                    .ok_or_else(shape)
                    .and_then(|price| price_text("resource_prices", price))
            };
            Ok((period, unit("memory_mb")?, unit("storage_mb")?))
        })
        .collect()
}

/// `(period, price)` pairs of `{period: price}` (or `[{period, price}]`).
fn price_pairs(value: &Value) -> ApiResult<Vec<(String, String)>> {
    let shape = || ApiError::bad_request("prices: must be an object {period: price}");
    by_period(value, &shape)?
        .into_iter()
        .map(|(period, price)| {
            let price = match price {
                Value::Object(item) => item.get("price").ok_or_else(shape)?,
                price => price,
            };
            Ok((period, price_text("prices", price)?))
        })
        .collect()
}

/// The pricing a create (no `current`) or an edit of `current` sends: `prices` replaces
/// the periods and prices, `resource_prices` the prices per MB (`null` makes the product
/// stop pricing containers); what an edit does not send is kept.
fn pricing(
    body: &Map<String, Value>,
    current: Option<&ProductPricing>,
) -> ApiResult<ProductPricing> {
    let one_time = input::optional_string(body, "one_time_price")?;
    let prices = match (body.get("prices"), current) {
        (Some(value), _) => Some(price_pairs(value)?),
        (None, Some(_)) => None,
        (None, None) => return Err(ApiError::bad_request("prices: is required")),
    };
    let resources = match body.get("resource_prices") {
        Some(Value::Null) => Some(None),
        Some(value) => Some(Some(resource_prices(value)?)),
        None => None,
    };
    let edit = PricingEdit {
        one_time_price: one_time.as_deref(),
        prices: prices.as_deref(),
        resource_prices: resources.as_ref().map(Option::as_deref),
    };
    let empty = ProductPricing {
        one_time_price: Default::default(),
        prices: Vec::new(),
        resource_prices: Vec::new(),
    };
    Ok(current.unwrap_or(&empty).edited(&edit)?)
}

/// `GET /v1/admin/products`: every product, inactive ones too.
pub async fn products(
    State(state): State<ApiState>,
    _staff: StaffCaller,
) -> ApiResult<Json<Value>> {
    let products = state.store.products(true).await?;
    Ok(Json(products.iter().map(product_json).collect()))
}

/// `POST /v1/admin/products` `{name, description?, one_time_price?, prices: {period: price},
/// resource_prices?: {period: {memory_mb, storage_mb}}}`; with `resource_prices` it is the
/// product containers are ordered as.
pub async fn create_product(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let name = input::as_str("name", input::required(&body, "name")?)?;
    let description = input::optional_string(&body, "description")?.unwrap_or_default();
    let product = state
        .store
        .create_product(name, &description, &pricing(&body, None)?)
        .await?;
    Ok((StatusCode::CREATED, Json(product_json(&product))))
}

/// `POST /v1/admin/products/<id>` `{description?, one_time_price?, prices?,
/// resource_prices?, active?}`: existing orders keep their prices.
pub async fn update_product(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    ObjectId(id): ObjectId,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let reprices = ["prices", "one_time_price", "resource_prices"]
        .iter()
        .any(|field| body.contains_key(*field));
    let edit = ProductEdit {
        description: input::optional_string(&body, "description")?,
        pricing: if reprices {
            let current = state.store.product(id).await?;
            Some(pricing(&body, Some(&current.pricing))?)
        } else {
            None
        },
        active: input::field(&body, "active", input::as_bool)?,
    };
    let product = state.store.update_product(id, edit).await?;
    Ok(Json(product_json(&product)))
}

async fn customer_of(state: &ApiState, body: &Map<String, Value>) -> ApiResult<i64> {
    let username = input::as_str("customer", input::required(body, "customer")?)?;
    Ok(customer_named(state, username).await?.id)
}

/// What a staff order request shares: `?preview=1`, the customer, the product and period,
/// and the time named `time_field`.
async fn staff_request(
    state: &ApiState,
    query: &HashMap<String, String>,
    body: &Map<String, Value>,
    time_field: &str,
) -> ApiResult<(bool, i64, OrderRequest, i64)> {
    let preview = preview(query)?;
    let customer_id = customer_of(state, body).await?;
    let request = order_request(body)?;
    let time = input::as_int(time_field, input::required(body, time_field)?)?;
    Ok((preview, customer_id, request, time))
}

/// `POST /v1/admin/orders[?preview=1]` `{customer, product, period, starts_at}`: places an
/// order for a customer starting at a chosen unix time (migrating existing customers).
pub async fn place_order(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Query(query): Query<HashMap<String, String>>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (preview, customer_id, request, starts_at) =
        staff_request(&state, &query, &body, "starts_at").await?;
    let quote = state
        .store
        .place_order(customer_id, request, starts_at, !preview)
        .await?;
    Ok(quote_answer(&quote))
}

/// `POST /v1/admin/orders/<id>/replace[?preview=1]` `{customer, product, period, at}`.
pub async fn replace_order(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    ObjectId(id): ObjectId,
    Query(query): Query<HashMap<String, String>>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (preview, customer_id, request, at) = staff_request(&state, &query, &body, "at").await?;
    let quote = state
        .store
        .replace_order(customer_id, id, request, at, !preview)
        .await?;
    Ok(quote_answer(&quote))
}

/// `POST /v1/admin/orders/<id>/cancel` `{customer, at}`.
pub async fn cancel_order(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    ObjectId(id): ObjectId,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let customer_id = customer_of(&state, &body).await?;
    let at = input::as_int("at", input::required(&body, "at")?)?;
    let order = state.store.cancel_order(customer_id, id, at).await?;
    Ok(Json(order_json(&order)))
}

/// `POST /v1/admin/bills/generate` `{until, provider_country?}`: generates or recomputes
/// the open bills up to the unix time `until`, with VAT decided by `provider_country` (the
/// API's own by default); `{bills, records, until}` written.
pub async fn generate_bills(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let until = input::as_int("until", input::required(&body, "until")?)?;
    let country = match input::optional_string(&body, "provider_country")? {
        Some(code) => ProviderCountry::parse(&code)?.0,
        None => state.provider_country.clone(),
    };
    let report = state.store.generate_bills(until, &country).await?;
    Ok(Json(
        json!({"bills": report.bills, "records": report.records, "until": until}),
    ))
}

/// `POST /v1/admin/bills/<id>/close`: the bill becomes final.
pub async fn close_bill(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    ObjectId(id): ObjectId,
) -> ApiResult<Json<Value>> {
    let bill = state.store.close_bill(id).await?;
    Ok(Json(bill_json(&bill)))
}

/// `GET /v1/admin/payments?customer=<username>`: a customer's payments.
pub async fn payments(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let customer = customer_in_query(&state, &query).await?;
    let payments = state.store.payments(customer.id).await?;
    Ok(Json(payments.iter().map(views::payment).collect()))
}

/// `POST /v1/admin/payments` `{customer, amount, source, note?}`: books a payment.
pub async fn book_payment(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let customer_id = customer_of(&state, &body).await?;
    let amount = parse_payment_amount(
        "amount",
        input::as_str("amount", input::required(&body, "amount")?)?,
    )?;
    let source = input::as_str("source", input::required(&body, "source")?)?;
    let note = input::optional_string(&body, "note")?;
    let payment = state
        .store
        .book_payment(customer_id, amount, source, note.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(views::payment(&payment))))
}

/// `GET /v1/admin/vat-rates`: every rate.
pub async fn vat_rates(
    State(state): State<ApiState>,
    _staff: StaffCaller,
) -> ApiResult<Json<Value>> {
    let rates = state.store.vat_rates().await?;
    Ok(Json(json!(rates)))
}

/// `POST /v1/admin/vat-rates` `{csv}`: replaces the rates with those of a vat-rates CSV.
pub async fn import_vat_rates(
    State(state): State<ApiState>,
    _staff: StaffCaller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let csv = input::as_str("csv", input::required(&body, "csv")?)?;
    let rows = parse_vat_csv(csv)?;
    let imported = state.store.import_vat_rates(&rows).await?;
    Ok(Json(json!({"imported": imported})))
}
