//! Billing over the API: the seed manual's cases with their numbers, previews, idempotent
//! bill generation, VAT, payments and balance, bills as HTML and PDF, bad input and tenant
//! isolation.
//!
//! The PDF tests read bills with poppler's `pdfinfo` and `pdftotext` (Debian's
//! `poppler-utils`, in `scripts/debian-packages.txt`).

mod support;

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{now, Login, TestApi, TestCustomer};

/// 2020-01-01 00:00:00 UTC.
const JAN_1_2020: i64 = 1_577_836_800;
const DAY: i64 = 86_400;

async fn product(api: &TestApi, name: &str, price: &str) -> i64 {
    let body = json!({"name": name, "prices": {"30d": price}}).to_string();
    let (status, product) = api.post("/v1/admin/products", &api.staff, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    product["id"].as_i64().expect("product id")
}

async fn address(api: &TestApi, login: &Login, country: &str, vat_number: Option<&str>) {
    let body = json!({"name": "Ada", "street": "Main St 1", "postal_code": "8000",
                      "city": "Zurich", "country": country, "vat_number": vat_number});
    let (status, answer) = api
        .post("/v1/my/billing-address", login, &body.to_string())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

async fn staff_order(api: &TestApi, customer: &TestCustomer, product: i64, starts_at: i64) -> i64 {
    let body = json!({"customer": customer.login.username, "product": product,
                      "period": "30d", "starts_at": starts_at});
    let (status, quote) = api
        .post("/v1/admin/orders", &api.staff, &body.to_string())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{quote}");
    quote["order"]["id"].as_i64().expect("order id")
}

async fn staff_replace(
    api: &TestApi,
    customer: &TestCustomer,
    order: i64,
    product: i64,
    at: i64,
) -> Value {
    let body =
        json!({"customer": customer.login.username, "product": product, "period": "30d", "at": at});
    let (status, quote) = api
        .post(
            &format!("/v1/admin/orders/{order}/replace"),
            &api.staff,
            &body.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{quote}");
    quote
}

async fn generate(api: &TestApi, until: i64) -> Value {
    let (status, report) = api
        .post(
            "/v1/admin/bills/generate",
            &api.staff,
            &json!({"until": until}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

fn total(bills: &Value, field: &str) -> f64 {
    bills
        .as_array()
        .expect("bills")
        .iter()
        .map(|b| {
            b[field]
                .as_str()
                .expect("money")
                .parse::<f64>()
                .expect("decimal")
        })
        .sum()
}

/// A customer with a Swiss billing address.
async fn billed_customer(api: &TestApi, name: &str) -> TestCustomer {
    let customer = api.customer(name).await;
    address(api, &customer.login, "CH", None).await;
    customer
}

/// Alice, billed to a name that needs escaping in HTML.
async fn alice_and_co(api: &TestApi) -> TestCustomer {
    let alice = api.customer("alice").await;
    let body = json!({"name": "Ada & Co <Zurich>", "street": "Main St 1", "postal_code": "8000",
                      "city": "Zurich", "country": "CH"});
    assert_eq!(
        api.post("/v1/my/billing-address", &alice.login, &body.to_string())
            .await
            .0,
        StatusCode::CREATED
    );
    alice
}

const VAT_CSV: &str =
    "start_date,stop_date,territory_codes,currency_code,rate,rate_type,description\n\
2018-01-01,2024-01-01,CH,CHF,0.077,standard,Switzerland standard VAT (added manually)\n\
2024-01-01,,CH,CHF,0.081,standard,Switzerland standard VAT\n\
2007-01-01,,DE,EUR,0.19,standard,Germany (Deutschland) standard VAT\n\
2000-04-01,,\"FR\nMC\",EUR,0.2,standard,France standard VAT\n";

/// 2024-01-01 00:00:00 UTC: the Swiss VAT rate is 8.1 % from that day.
const JAN_1_2024: i64 = 1_704_067_200;

/// GETs the PDF of bill `id` as `login` (`None`: unauthenticated): the status, the
/// Content-Type and Content-Disposition, and the body.
async fn bill_pdf(
    api: &TestApi,
    login: Option<&Login>,
    id: &Value,
) -> (StatusCode, String, String, Vec<u8>) {
    let mut request = api.http.get(format!("{}/v1/my/bills/{id}/pdf", api.base));
    if let Some(login) = login {
        request = request.basic_auth(&login.username, Some(&login.password));
    }
    let response = request.send().await.expect("bill pdf");
    let header = |name: reqwest::header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let disposition = header(reqwest::header::CONTENT_DISPOSITION);
    let status = response.status();
    let body = response.bytes().await.expect("body").to_vec();
    (status, content_type, disposition, body)
}

/// Runs a poppler tool on `args` and returns what it printed; fails the test if it fails or
/// complains (poppler reports a damaged PDF on stderr).
fn poppler(tool: &str, args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (Debian's poppler-utils) runs: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "{tool}: {stderr}"
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// The page count and the text of `pdf` as poppler reads them (`pdftotext -layout`: each
/// table row on one line); fails the test unless `pdf` is a PDF poppler reads cleanly.
fn pdf_text(pdf: &[u8]) -> (usize, String) {
    assert!(pdf.starts_with(b"%PDF-1."), "not a PDF");
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bill.pdf");
    std::fs::write(&path, pdf).expect("write the PDF");
    let info = poppler("pdfinfo", &[path.as_os_str()]);
    let pages = info
        .lines()
        .find_map(|line| line.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("pdfinfo names no page count: {info}"));
    let args = ["-layout", "-enc", "UTF-8"].map(std::ffi::OsStr::new);
    let text = poppler(
        "pdftotext",
        &[&args[..], &[path.as_os_str(), std::ffi::OsStr::new("-")]].concat(),
    );
    (pages, text)
}

/// The lines of `text` showing a record of `record` (a record of a bill's JSON) billing
/// `item`: the order first, then the item, and quantity, price and sum last.
fn record_lines<'a>(text: &'a str, item: &str, record: &Value) -> Vec<&'a str> {
    let order = record["order"].to_string();
    let last: Vec<&str> = ["quantity", "price", "sum"]
        .iter()
        .map(|field| record[*field].as_str().expect("decimal"))
        .collect();
    text.lines()
        .filter(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            cells.first() == Some(&order.as_str())
                && line.contains(&format!(" {item} "))
                && cells.ends_with(&last)
        })
        .collect()
}

/// The line of `text` that starts with `label` (after spaces), its words after the label.
fn labelled<'a>(text: &'a str, label: &str) -> Vec<&'a str> {
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .map(|rest| rest.split_whitespace().collect())
        .unwrap_or_default()
}

on_both_stores! {
    async fn staff_set_a_customers_billing_address(api) {
        let erin = api.customer("erin").await;
        let body = json!({"name": "Erin GmbH", "street": "Weg 2", "postal_code": "10115",
                          "city": "Berlin", "country": "DE", "vat_number": "DE123456789"});
        let path = "/v1/admin/customers/erin/billing-address";
        let (status, refused) = api.post(path, &erin.login, &body.to_string()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        let (status, address) = api.post(path, &api.staff, &body.to_string()).await;
        assert_eq!(status, StatusCode::CREATED, "{address}");
        let (_, addresses) = api.get("/v1/my/billing-address", &erin.login).await;
        assert_eq!(addresses[0]["name"], "Erin GmbH");
        assert_eq!(addresses[0]["vat_number"], "DE123456789");
        assert_eq!(addresses[0]["active"], true);
        let (status, _) = api
            .post("/v1/admin/customers/ghost/billing-address", &api.staff, &body.to_string())
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let bad = json!({"name": "Erin", "street": "Weg 2", "postal_code": "10115",
                         "city": "Berlin", "country": "Germany"});
        let (status, answer) = api.post(path, &api.staff, &bad.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    }

    async fn an_upgrade_after_a_pending_downgrade_bills_like_an_upgrade(api) {
        let alice = alice_and_co(&api).await;
        let small = product(&api, "vm-small", "10").await;
        let tiny = product(&api, "vm-tiny", "5").await;
        let big = product(&api, "vm-big", "20").await;
        let first = staff_order(&api, &alice, small, JAN_1_2020).await;
        let downgrade = staff_replace(&api, &alice, first, tiny, JAN_1_2020 + 10 * DAY).await;
        assert_eq!(downgrade["change"], "downgrade");
        let pending = downgrade["order"]["id"].as_i64().expect("order id");
        let at = JAN_1_2020 + 15 * DAY;
        let quote = staff_replace(&api, &alice, pending, big, at).await;
        assert_eq!(quote["change"], "upgrade");
        assert_eq!(quote["order"]["starts_at"], at);
        // The quote names the order that stops now: the 10 CHF one, not the pending one.
        assert_eq!(quote["replaced"], json!({"id": first, "ends_at": at - 1}));
        assert_eq!(quote["total"], "25.00");
        generate(&api, JAN_1_2020 + 45 * DAY - 1).await;
        let (_, bills) = api.get("/v1/my/bills", &alice.login).await;
        assert_eq!(total(&bills, "net"), 25.0);
        let (_, orders) = api.get("/v1/my/orders", &alice.login).await;
        assert_eq!(orders[0]["ends_at"], at - 1);
        assert_eq!(orders[1]["ends_at"], at - 1);
        assert_eq!(orders[2]["replaces"], pending);
        let pending_billed = bills.as_array().expect("bills").iter()
            .flat_map(|bill| bill["records"].as_array().cloned().unwrap_or_default())
            .filter(|record| record["order"] == pending)
            .count();
        assert_eq!(pending_billed, 0);
    }

    async fn the_seed_upgrade_after_15_days_totals_25_chf(api) {
        let alice = alice_and_co(&api).await;
        let small = product(&api, "vm-small", "10").await;
        let big = product(&api, "vm-big", "20").await;
        let first = staff_order(&api, &alice, small, JAN_1_2020).await;
        let quote = staff_replace(&api, &alice, first, big, JAN_1_2020 + 15 * DAY).await;
        assert_eq!(quote["change"], "upgrade");
        assert_eq!(quote["replaced"], json!({"id": first, "ends_at": JAN_1_2020 + 15 * DAY - 1}));
        assert_eq!(quote["total"], "25.00");
        // Bills for January and February up to the end of the new order's first period.
        generate(&api, JAN_1_2020 + 45 * DAY - 1).await;
        let (_, bills) = api.get("/v1/my/bills", &alice.login).await;
        assert_eq!(bills.as_array().map(Vec::len), Some(2));
        let january = &bills[0]["records"];
        assert_eq!(january[0]["order"], first);
        assert_eq!(january[0]["quantity"], "0.5");
        assert_eq!(january[0]["sum"], "5.00");
        assert_eq!(total(&bills, "net"), 25.0);
        let page = api.http.get(format!("{}/v1/my/bills/{}/html", api.base, bills[0]["id"]))
            .basic_auth(&alice.login.username, Some(&alice.login.password))
            .send().await.expect("bill page");
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.expect("html");
        assert!(page.contains("Bill "), "{page}");
        assert!(page.contains("2020-01-15 23:59:59 UTC"), "{page}");
        assert!(page.contains("<td>0.5</td><td>10</td><td>5.00</td>"), "{page}");
        assert!(page.contains("<td>vm-small, recurring</td>"), "{page}");
        assert!(page.contains("Ada &amp; Co &lt;Zurich&gt;"), "{page}");
        let (_, orders) = api.get("/v1/my/orders", &alice.login).await;
        assert_eq!(orders[0]["replaced_by"], orders[1]["id"]);
        assert_eq!(orders[1]["replaces"], first);
    }

    async fn the_seed_downgrade_after_15_days_totals_15_chf(api) {
        let alice = billed_customer(&api, "alice").await;
        let small = product(&api, "vm-small", "10").await;
        let smaller = product(&api, "vm-smaller", "5").await;
        let first = staff_order(&api, &alice, small, JAN_1_2020).await;
        let quote = staff_replace(&api, &alice, first, smaller, JAN_1_2020 + 15 * DAY).await;
        assert_eq!(quote["change"], "downgrade");
        assert_eq!(quote["order"]["starts_at"], JAN_1_2020 + 30 * DAY);
        assert_eq!(quote["total"], "15.00");
        generate(&api, JAN_1_2020 + 60 * DAY - 1).await;
        let (_, bills) = api.get("/v1/my/bills", &alice.login).await;
        assert_eq!(total(&bills, "net"), 15.0);
    }

    async fn an_upgrade_after_one_day_charges_a_thirtieth(api) {
        let alice = billed_customer(&api, "alice").await;
        let small = product(&api, "vm-small", "10").await;
        let big = product(&api, "vm-big", "20").await;
        let first = staff_order(&api, &alice, small, JAN_1_2020).await;
        staff_replace(&api, &alice, first, big, JAN_1_2020 + DAY).await;
        generate(&api, JAN_1_2020 + 31 * DAY - 1).await;
        let (_, bills) = api.get("/v1/my/bills", &alice.login).await;
        let records = &bills[0]["records"];
        assert_eq!(records[0]["seconds"], DAY);
        assert_eq!(records[0]["quantity"], "0.033333");
        assert_eq!(records[0]["sum"], "0.33");
    }

    async fn one_time_prices_are_billed_once_and_cancellation_ends_the_period(api) {
        let alice = billed_customer(&api, "alice").await;
        let body = json!({"name": "hosting", "one_time_price": "35", "prices": {"30d": "10"}}).to_string();
        let (_, hosting) = api.post("/v1/admin/products", &api.staff, &body).await;
        let order = staff_order(&api, &alice, hosting["id"].as_i64().expect("id"), JAN_1_2020).await;
        let body = json!({"customer": "alice", "at": JAN_1_2020 + 40 * DAY}).to_string();
        let (status, cancelled) = api.post(&format!("/v1/admin/orders/{order}/cancel"), &api.staff, &body).await;
        assert_eq!(status, StatusCode::OK, "{cancelled}");
        assert_eq!(cancelled["ends_at"], JAN_1_2020 + 60 * DAY - 1);
        generate(&api, JAN_1_2020 + 120 * DAY).await;
        let (_, bills) = api.get("/v1/my/bills", &alice.login).await;
        // January, February (the second period ends on the 29th); nothing after.
        assert_eq!(bills.as_array().map(Vec::len), Some(2));
        let one_time: Vec<&Value> = bills.as_array().expect("bills").iter()
            .flat_map(|b| b["records"].as_array().expect("records"))
            .filter(|r| r["recurring"] == false)
            .collect();
        assert_eq!(one_time.len(), 1);
        assert_eq!(one_time[0]["sum"], "35.00");
        assert_eq!(total(&bills, "net"), 55.0);
        // A second cancellation is refused.
        let (status, _) = api.post(&format!("/v1/admin/orders/{order}/cancel"), &api.staff, &body).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    async fn generation_is_idempotent_and_closed_bills_stay(api) {
        let alice = billed_customer(&api, "alice").await;
        let small = product(&api, "vm-small", "10").await;
        staff_order(&api, &alice, small, JAN_1_2020 + 10 * DAY).await;
        let first = generate(&api, JAN_1_2020 + 40 * DAY).await;
        let (_, bills) = api.get("/v1/my/bills", &alice.login).await;
        assert_eq!(generate(&api, JAN_1_2020 + 40 * DAY).await, first);
        assert_eq!(api.get("/v1/my/bills", &alice.login).await.1, bills);
        // February's open bill grows with a later run; January's is untouched.
        generate(&api, JAN_1_2020 + 45 * DAY).await;
        let (_, later) = api.get("/v1/my/bills", &alice.login).await;
        assert_eq!(later.as_array().map(Vec::len), Some(2));
        assert_eq!(later[0], bills[0]);
        assert_eq!(later[1]["id"], bills[1]["id"]);
        assert_eq!(later[1]["ends_at"], JAN_1_2020 + 45 * DAY);
        // Closing February before January is refused; in order it works.
        let close = |id: &Value| format!("/v1/admin/bills/{id}/close");
        assert_eq!(api.post(&close(&later[1]["id"]), &api.staff, "{}").await.0, StatusCode::CONFLICT);
        let (status, closed) = api.post(&close(&later[0]["id"]), &api.staff, "{}").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(closed["final"], true);
        let (_, closed) = api.post(&close(&later[1]["id"]), &api.staff, "{}").await;
        // After the closed February bill (to the 15th), the next bill starts a second later.
        generate(&api, JAN_1_2020 + 59 * DAY).await;
        let (_, after) = api.get("/v1/my/bills", &alice.login).await;
        assert_eq!(after[1], closed);
        assert_eq!(after[2]["starts_at"], JAN_1_2020 + 45 * DAY + 1);
        let seconds: i64 = after.as_array().expect("bills").iter()
            .map(|b| b["records"][0]["seconds"].as_i64().expect("seconds")).sum();
        assert_eq!(seconds, 49 * DAY + 1);
    }

    async fn vat_follows_the_billing_address_and_the_imported_rates(api) {
        let (status, imported) = api.post("/v1/admin/vat-rates", &api.staff, &json!({"csv": VAT_CSV}).to_string()).await;
        assert_eq!((status, imported), (StatusCode::OK, json!({"imported": 4})));
        let (_, rates) = api.get("/v1/admin/vat-rates", &api.staff).await;
        assert_eq!(rates[3]["territories"], json!(["FR", "MC"]));
        let small = product(&api, "vm-small", "100").await;
        // 2024-01-01: the Swiss rate is 8.1 % from that day.
        let jan_2024 = 1_704_067_200;
        let mut customers = Vec::new();
        for (name, country, vat_number) in [("ch", "CH", None), ("de", "DE", None), ("biz", "DE", Some("DE123456789")), ("us", "US", None)] {
            let customer = api.customer(name).await;
            address(&api, &customer.login, country, vat_number).await;
            staff_order(&api, &customer, small, jan_2024).await;
            customers.push(customer);
        }
        generate(&api, jan_2024 + 30 * DAY - 1).await;
        let mut seen = Vec::new();
        for customer in &customers {
            let (_, bills) = api.get("/v1/my/bills", &customer.login).await;
            seen.push((bills[0]["vat_rate"].clone(), bills[0]["gross"].clone(), bills[0]["reverse_charge"].clone()));
        }
        assert_eq!(seen, [
            (json!("0.081"), json!("108.10"), json!(false)),
            (json!("0.19"), json!("119.00"), json!(false)),
            (json!("0"), json!("100.00"), json!(true)),
            (json!("0"), json!("100.00"), json!(false)),
        ]);
    }

    async fn payments_make_the_balance(api) {
        let alice = billed_customer(&api, "alice").await;
        let small = product(&api, "vm-small", "10").await;
        staff_order(&api, &alice, small, JAN_1_2020).await;
        generate(&api, JAN_1_2020 + 30 * DAY - 1).await;
        let body = json!({"customer": "alice", "amount": "25.50", "source": "wire"}).to_string();
        let (status, payment) = api.post("/v1/admin/payments", &api.staff, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{payment}");
        let (_, balance) = api.get("/v1/my/balance", &alice.login).await;
        assert_eq!(balance, json!({"paid": "25.50", "billed": "10.00", "balance": "15.50"}));
        let (_, payments) = api.get("/v1/admin/payments?customer=alice", &api.staff).await;
        assert_eq!(payments[0]["amount"], "25.50");
    }

    async fn customers_preview_then_order_and_replace(api) {
        let alice = billed_customer(&api, "alice").await;
        let small = product(&api, "vm-small", "10").await;
        let big = product(&api, "vm-big", "20").await;
        let (_, products) = api.get("/v1/products", &alice.login).await;
        assert_eq!(products[1]["prices"], json!([{"period": "30d", "price": "10"}]));
        let body = json!({"product": small, "period": "30d"}).to_string();
        let (status, quote) = api.post("/v1/my/orders?preview=1", &alice.login, &body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((quote["preview"].clone(), quote["total"].clone()), (json!(true), json!("10.00")));
        assert_eq!(api.get("/v1/my/orders", &alice.login).await.1, json!([]));
        // An order staff started 15 days ago, upgraded now: 5 + 20.
        let order = staff_order(&api, &alice, small, now() - 15 * DAY).await;
        let body = json!({"product": big, "period": "30d"}).to_string();
        let path = format!("/v1/my/orders/{order}/replace");
        let (status, quote) = api.post(&format!("{path}?preview=1"), &alice.login, &body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(quote["change"], "upgrade");
        assert_eq!(quote["total"], "25.00");
        assert_eq!(api.get(&format!("/v1/my/orders/{order}"), &alice.login).await.1["ends_at"], Value::Null);
        let (status, placed) = api.post(&path, &alice.login, &body).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(placed["preview"], false);
        assert_eq!(api.post(&path, &alice.login, &body).await.0, StatusCode::CONFLICT);
        let (status, cancelled) = api.post(&format!("/v1/my/orders/{}/cancel", placed["order"]["id"]), &alice.login, "{}").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cancelled["ends_at"].as_i64(), placed["order"]["starts_at"].as_i64().map(|s| s + 30 * DAY - 1));
    }

    async fn bad_billing_input_is_4xx(api) {
        let alice = api.customer("alice").await;
        let small = product(&api, "vm-small", "10").await;
        let order = json!({"product": small, "period": "30d"}).to_string();
        assert_eq!(api.post("/v1/my/orders", &alice.login, &order).await.0, StatusCode::CONFLICT, "no address yet");
        address(&api, &alice.login, "CH", None).await;
        for body in [r#"{}"#, r#"{"product": 1}"#, r#"{"product": "x", "period": "30d"}"#,
                     &json!({"product": small, "period": "month"}).to_string(),
                     &json!({"product": small, "period": "day"}).to_string()] {
            let (status, error) = api.post("/v1/my/orders", &alice.login, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
            assert!(error["reason"].is_string(), "{error}");
        }
        assert_eq!(api.post("/v1/my/orders?preview=yes", &alice.login, &order).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(api.post("/v1/my/orders", &alice.login, &json!({"product": 999, "period": "30d"}).to_string()).await.0, StatusCode::NOT_FOUND);
        for body in [json!({"name": "x"}), json!({"name": "A", "street": "s", "postal_code": "1", "city": "c", "country": "Switzerland"}),
                     json!({"name": "A", "street": "s", "postal_code": "1", "city": "c", "country": "CH", "vat_number": "DE-1"})] {
            assert_eq!(api.post("/v1/my/billing-address", &alice.login, &body.to_string()).await.0, StatusCode::BAD_REQUEST, "{body}");
        }
        for body in [json!({"name": "p"}), json!({"name": "p", "prices": {"30d": "-1"}}), json!({"name": "p", "prices": {"30d": "1.001"}}),
                     json!({"name": "p", "prices": {"fortnight": "1"}}), json!({"name": "p", "prices": {}}), json!({"name": "", "prices": {"30d": "1"}})] {
            assert_eq!(api.post("/v1/admin/products", &api.staff, &body.to_string()).await.0, StatusCode::BAD_REQUEST, "{body}");
        }
        assert_eq!(api.post("/v1/admin/products", &api.staff, &json!({"name": "vm-small", "prices": {"30d": "1"}}).to_string()).await.0, StatusCode::CONFLICT);
        for body in [json!({"customer": "alice", "amount": "-5", "source": "wire"}), json!({"customer": "alice", "amount": "0", "source": "wire"}),
                     json!({"customer": "alice", "amount": "5"}), json!({"customer": "alice", "amount": 5, "source": "wire"})] {
            assert_eq!(api.post("/v1/admin/payments", &api.staff, &body.to_string()).await.0, StatusCode::BAD_REQUEST, "{body}");
        }
        let (status, error) = api.post("/v1/admin/vat-rates", &api.staff, &json!({"csv": "a,b\n"}).to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        assert_eq!(api.post("/v1/admin/bills/generate", &api.staff, r#"{"until": "soon"}"#).await.0, StatusCode::BAD_REQUEST);
        for until in [json!(-1), json!(i64::MAX), json!(now() + 400 * DAY)] {
            let body = json!({"until": until}).to_string();
            assert_eq!(api.post("/v1/admin/bills/generate", &api.staff, &body).await.0, StatusCode::BAD_REQUEST, "{body}");
        }
        for starts_at in [i64::MIN, -1, i64::MAX] {
            let body = json!({"customer": "alice", "product": small, "period": "30d", "starts_at": starts_at}).to_string();
            assert_eq!(api.post("/v1/admin/orders", &api.staff, &body).await.0, StatusCode::BAD_REQUEST, "{body}");
        }
        assert_eq!(api.get("/v1/my/bills/abc", &alice.login).await.0, StatusCode::NOT_FOUND);
    }

    async fn billing_is_isolated_between_customers(api) {
        let alice = billed_customer(&api, "alice").await;
        let bob = billed_customer(&api, "bob").await;
        let small = product(&api, "vm-small", "10").await;
        let order = staff_order(&api, &alice, small, JAN_1_2020).await;
        generate(&api, JAN_1_2020 + 10 * DAY).await;
        let (_, bills) = api.get("/v1/my/bills", &alice.login).await;
        let bill = bills[0]["id"].clone();
        assert_eq!(api.get("/v1/my/bills", &bob.login).await.1, json!([]));
        assert_eq!(api.get("/v1/my/orders/", &bob.login).await.1, json!([]));
        assert_eq!(api.get(&format!("/v1/my/bills/{bill}"), &bob.login).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.get(&format!("/v1/my/bills/{bill}/html"), &bob.login).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.get(&format!("/v1/my/orders/{order}"), &bob.login).await.0, StatusCode::NOT_FOUND);
        let body = json!({"product": small, "period": "30d"}).to_string();
        assert_eq!(api.post(&format!("/v1/my/orders/{order}/replace"), &bob.login, &body).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.post(&format!("/v1/my/orders/{order}/cancel"), &bob.login, "{}").await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.get("/v1/my/balance", &bob.login).await.1["billed"], "0.00");
        assert_eq!(api.get(&format!("/v1/my/bills/{bill}"), &alice.login).await.0, StatusCode::OK);
        // Customers cannot reach the staff side.
        assert_eq!(api.post("/v1/admin/bills/generate", &alice.login, r#"{"until": 1}"#).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get("/v1/admin/products", &alice.login).await.0, StatusCode::FORBIDDEN);
    }
    async fn a_bill_as_pdf_shows_the_address_the_records_and_the_totals(api) {
        let (status, _) = api.post("/v1/admin/vat-rates", &api.staff, &json!({"csv": VAT_CSV}).to_string()).await;
        assert_eq!(status, StatusCode::OK);
        let basic = json!({"name": "Basic hosting", "one_time_price": "35", "prices": {"30d": "100"}}).to_string();
        let (_, basic) = api.post("/v1/admin/products", &api.staff, &basic).await;
        let premium = product(&api, "Premium hosting", "200").await;
        let jorg = api.customer("jorg").await;
        let body = json!({"name": "Jörg Müller AG", "street": "Bahnhofstrasse 1", "postal_code": "8001",
                          "city": "Zürich", "country": "CH", "vat_number": "CHE123456789"});
        assert_eq!(api.post("/v1/my/billing-address", &jorg.login, &body.to_string()).await.0, StatusCode::CREATED);
        let order = staff_order(&api, &jorg, basic["id"].as_i64().expect("id"), JAN_1_2024).await;
        staff_replace(&api, &jorg, order, premium, JAN_1_2024 + 15 * DAY).await;
        generate(&api, JAN_1_2024 + 30 * DAY - 1).await;
        let (_, bills) = api.get("/v1/my/bills", &jorg.login).await;
        let bill = &bills[0];
        let (status, content_type, disposition, pdf) = bill_pdf(&api, Some(&jorg.login), &bill["id"]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/pdf");
        assert_eq!(disposition, format!("inline; filename=\"bill-{}.pdf\"", bill["id"]));
        let (pages, text) = pdf_text(&pdf);
        assert_eq!(pages, 1, "{text}");
        assert!(text.contains(&format!("Bill {} (preliminary)", bill["id"])), "{text}");
        assert!(text.contains("2024-01-01 00:00:00 UTC to 2024-01-30 23:59:59 UTC"), "{text}");
        for line in ["Jörg Müller AG", "Bahnhofstrasse 1", "8001 Zürich", "CH", "VAT number CHE123456789"] {
            assert!(text.lines().any(|l| l.trim() == line), "{line}: {text}");
        }
        // One-time 35, half a month of basic (50.00), half a month of premium (100.00).
        let records = bill["records"].as_array().expect("records");
        assert_eq!(records.len(), 3);
        for (record, item, sum) in [(&records[0], "Basic hosting, one-time", "35.00"),
                                    (&records[1], "Basic hosting, recurring", "50.00"),
                                    (&records[2], "Premium hosting, recurring", "100.00")] {
            assert_eq!(record["sum"], sum);
            assert_eq!(record_lines(&text, item, record).len(), 1, "{item}: {text}");
        }
        assert!(text.contains("2024-01-16 00:00:00 UTC"), "{text}");
        assert_eq!(labelled(&text, "Net"), ["185.00"], "{text}");
        assert_eq!(labelled(&text, "VAT 8.1 %"), ["14.99"], "{text}");
        assert_eq!(labelled(&text, "Total"), ["199.99"], "{text}");
        assert_eq!((&bill["net"], &bill["vat"], &bill["gross"]), (&json!("185.00"), &json!("14.99"), &json!("199.99")));
        assert!(text.contains("VAT of CH"), "{text}");
        // The printable page names the products too.
        let page = api.http.get(format!("{}/v1/my/bills/{}/html", api.base, bill["id"]))
            .basic_auth(&jorg.login.username, Some(&jorg.login.password))
            .send().await.expect("bill page").text().await.expect("html");
        assert!(page.contains("<td>Premium hosting, recurring</td>"), "{page}");
        assert!(page.contains("<address>Jörg Müller AG<br>"), "{page}");
    }

    async fn a_long_bill_goes_on_over_pages_and_letters_out_of_latin_1_lose_their_accents(api) {
        let small = product(&api, "vm-small", "10").await;
        let ola = api.customer("ola").await;
        let body = json!({"name": "Jörg Müller Sp. z o.o.", "street": "ul. Piotrkowska 1", "postal_code": "90-001",
                          "city": "Łódź", "country": "PL", "vat_number": "PL1234567890"});
        assert_eq!(api.post("/v1/my/billing-address", &ola.login, &body.to_string()).await.0, StatusCode::CREATED);
        for _ in 0..75 {
            staff_order(&api, &ola, small, JAN_1_2020).await;
        }
        generate(&api, JAN_1_2020 + 3 * DAY - 1).await;
        let (_, bills) = api.get("/v1/my/bills", &ola.login).await;
        let bill = &bills[0];
        let records = bill["records"].as_array().expect("records");
        assert_eq!(records.len(), 75);
        let (status, _, _, pdf) = bill_pdf(&api, Some(&ola.login), &bill["id"]).await;
        assert_eq!(status, StatusCode::OK);
        let (pages, text) = pdf_text(&pdf);
        assert_eq!(pages, 2, "{text}");
        assert_eq!(text.matches(&format!("Bill {} (preliminary), continued", bill["id"])).count(), 1, "{text}");
        assert_eq!(text.matches("page 2 of 2").count(), 1, "{text}");
        for record in records {
            assert_eq!(record["sum"], "1.00");
            assert_eq!(record_lines(&text, "vm-small, recurring", record).len(), 1, "{record}: {text}");
        }
        assert_eq!(labelled(&text, "Total"), ["75.00"], "{text}");
        // Latin-1 as it is; Ł and ź lose their accents (the built-in fonts lack them).
        for line in ["Jörg Müller Sp. z o.o.", "90-001 Lódz", "VAT number PL1234567890"] {
            assert!(text.lines().any(|l| l.trim() == line), "{line}: {text}");
        }
        assert!(text.contains("Reverse charge: VAT to be accounted for by the recipient (PL1234567890)"), "{text}");
    }

    async fn another_customers_bill_pdf_is_refused_as_its_json(api) {
        let alice = billed_customer(&api, "alice").await;
        let bob = billed_customer(&api, "bob").await;
        let small = product(&api, "vm-small", "10").await;
        staff_order(&api, &alice, small, JAN_1_2020).await;
        generate(&api, JAN_1_2020 + 10 * DAY).await;
        let (_, bills) = api.get("/v1/my/bills", &alice.login).await;
        let bill = &bills[0]["id"];
        let json = api.get(&format!("/v1/my/bills/{bill}"), &bob.login).await;
        assert_eq!(json.0, StatusCode::NOT_FOUND);
        assert_eq!(api.get(&format!("/v1/my/bills/{bill}/pdf"), &bob.login).await, json);
        let (status, content_type, _, _) = bill_pdf(&api, Some(&bob.login), bill).await;
        assert_eq!((status, content_type.as_str()), (StatusCode::NOT_FOUND, "application/json"));
        // Unauthenticated: 401, as for the JSON.
        let json = api.send(reqwest::Method::GET, &format!("/v1/my/bills/{bill}"), None, None).await;
        assert_eq!(json.0, StatusCode::UNAUTHORIZED);
        assert_eq!(api.send(reqwest::Method::GET, &format!("/v1/my/bills/{bill}/pdf"), None, None).await, json);
        // The owner reads it.
        assert_eq!(bill_pdf(&api, Some(&alice.login), bill).await.0, StatusCode::OK);
    }

    async fn a_missing_bill_pdf_is_not_found(api) {
        let alice = billed_customer(&api, "alice").await;
        for id in ["999999", "0", "-1", "abc"] {
            let json = api.get(&format!("/v1/my/bills/{id}"), &alice.login).await;
            assert_eq!(json.0, StatusCode::NOT_FOUND, "{id}");
            assert_eq!(api.get(&format!("/v1/my/bills/{id}/pdf"), &alice.login).await, json, "{id}");
        }
    }
}
