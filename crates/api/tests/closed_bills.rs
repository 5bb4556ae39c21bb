//! Closed bills are final: an order starting inside one, and a replacement or cancellation
//! whose `at` falls inside one, are refused with 409 naming the bill — previews too — so
//! that no one-time price and no recurring day goes unbilled; the same order placed after
//! the closed bill is billed in full on the next one.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{TestApi, TestCustomer};

/// 2020-01-01 00:00:00 UTC.
const JAN_1_2020: i64 = 1_577_836_800;
/// 2020-02-01 00:00:00 UTC.
const FEB_1_2020: i64 = JAN_1_2020 + 31 * DAY;
const DAY: i64 = 86_400;

/// Alice with a billing address, a product (35 once, 10 per 30 days), an order from the 1st
/// of January 2020, and January's bill generated and closed; answers alice, the product and
/// the closed bill.
async fn january_closed(api: &TestApi) -> (TestCustomer, i64, Value) {
    let alice = api.customer("alice").await;
    let address = json!({"name": "Ada", "street": "Main St 1", "postal_code": "8000",
                         "city": "Zurich", "country": "CH"});
    let (status, _) = api
        .post("/v1/my/billing-address", &alice.login, &address.to_string())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let product = json!({"name": "hosting", "one_time_price": "35", "prices": {"30d": "10"}});
    let (status, product) = api
        .post("/v1/admin/products", &api.staff, &product.to_string())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    let product = product["id"].as_i64().expect("product id");
    let (status, quote) = order(api, product, JAN_1_2020, "").await;
    assert_eq!(status, StatusCode::CREATED, "{quote}");
    generate(api, FEB_1_2020 + 9 * DAY).await;
    let (_, bills) = api.get("/v1/my/bills", &alice.login).await;
    let january = &bills[0];
    assert_eq!(january["ends_at"], FEB_1_2020 - 1);
    let (status, closed) = api
        .post(
            &format!("/v1/admin/bills/{}/close", january["id"]),
            &api.staff,
            "{}",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    (alice, product, closed)
}

async fn order(api: &TestApi, product: i64, starts_at: i64, query: &str) -> (StatusCode, Value) {
    let body =
        json!({"customer": "alice", "product": product, "period": "30d", "starts_at": starts_at});
    api.post(
        &format!("/v1/admin/orders{query}"),
        &api.staff,
        &body.to_string(),
    )
    .await
}

async fn generate(api: &TestApi, until: i64) {
    let (status, report) = api
        .post(
            "/v1/admin/bills/generate",
            &api.staff,
            &json!({"until": until}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
}

/// Asserts a 409 that names the closed bill.
fn names_the_bill(answer: &(StatusCode, Value), bill: &Value) {
    assert_eq!(answer.0, StatusCode::CONFLICT, "{}", answer.1);
    let reason = answer.1["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(&format!("bill {}", bill["id"])), "{reason}");
    assert!(reason.contains("2020-01-31 23:59:59 UTC"), "{reason}");
}

async fn replace(
    api: &TestApi,
    order: &Value,
    product: &Value,
    at: i64,
    query: &str,
) -> (StatusCode, Value) {
    let body = json!({"customer": "alice", "product": product["id"], "period": "30d", "at": at});
    api.post(
        &format!("/v1/admin/orders/{order}/replace{query}"),
        &api.staff,
        &body.to_string(),
    )
    .await
}

async fn cancel(api: &TestApi, order: &Value, at: i64) -> (StatusCode, Value) {
    let body = json!({"customer": "alice", "at": at});
    api.post(
        &format!("/v1/admin/orders/{order}/cancel"),
        &api.staff,
        &body.to_string(),
    )
    .await
}

fn orders_of(orders: &Value) -> usize {
    orders.as_array().map_or(0, Vec::len)
}

on_both_stores! {
    async fn an_order_starting_in_a_closed_bill_is_refused(api) {
        let (alice, product, closed) = january_closed(&api).await;
        let inside = JAN_1_2020 + 20 * DAY;
        names_the_bill(&order(&api, product, inside, "?preview=1").await, &closed);
        names_the_bill(&order(&api, product, inside, "").await, &closed);
        names_the_bill(&order(&api, product, FEB_1_2020 - 1, "").await, &closed);
        let (_, orders) = api.get("/v1/my/orders", &alice.login).await;
        assert_eq!(orders_of(&orders), 1, "{orders}");

        // Placed after the closed bill, the same order is billed in full on the next one:
        // its one-time price and every one of its days.
        let (status, quote) = order(&api, product, FEB_1_2020, "").await;
        assert_eq!(status, StatusCode::CREATED, "{quote}");
        let second = quote["order"]["id"].clone();
        generate(&api, FEB_1_2020 + 9 * DAY).await;
        let (_, bills) = api.get("/v1/my/bills", &alice.login).await;
        assert_eq!(bills[0], closed, "the closed bill is untouched");
        let records: Vec<&Value> = bills[1]["records"].as_array().expect("records").iter()
            .filter(|record| record["order"] == second).collect();
        let one_time: Vec<&&Value> = records.iter().filter(|r| r["recurring"] == false).collect();
        assert_eq!(one_time.len(), 1, "{records:?}");
        assert_eq!(one_time[0]["sum"], "35.00");
        let recurring: Vec<&&Value> = records.iter().filter(|r| r["recurring"] == true).collect();
        assert_eq!(recurring[0]["starts_at"], FEB_1_2020);
        assert_eq!(recurring[0]["seconds"], 9 * DAY + 1);
    }

    async fn replacing_or_cancelling_inside_a_closed_bill_is_refused(api) {
        let (alice, _, closed) = january_closed(&api).await;
        let (_, orders) = api.get("/v1/my/orders", &alice.login).await;
        let first = orders[0]["id"].clone();
        let (status, pricier) = api.post("/v1/admin/products", &api.staff,
            &json!({"name": "bigger", "prices": {"30d": "20"}}).to_string()).await;
        assert_eq!(status, StatusCode::CREATED);
        // An upgrade on the 20th of January would stop the first order inside January.
        names_the_bill(&replace(&api, &first, &pricier, JAN_1_2020 + 20 * DAY, "?preview=1").await, &closed);
        names_the_bill(&replace(&api, &first, &pricier, JAN_1_2020 + 20 * DAY, "").await, &closed);
        // Cancelled on the 5th of January, it would end with its first period, the 30th.
        names_the_bill(&cancel(&api, &first, JAN_1_2020 + 4 * DAY).await, &closed);
        let (_, unchanged) = api.get("/v1/my/orders", &alice.login).await;
        assert_eq!(unchanged, orders, "nothing changed");
        // After the closed bill the upgrade works.
        let (status, quote) = replace(&api, &first, &pricier, FEB_1_2020 + 5 * DAY, "").await;
        assert_eq!(status, StatusCode::CREATED, "{quote}");
    }
}
