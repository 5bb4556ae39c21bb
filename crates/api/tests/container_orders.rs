//! Containers are products: a container created, resized or deleted through the API gets
//! its order placed, replaced or ended, priced from its memory and storage.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{now, TestApi, TestCustomer};

const DAY: i64 = 86_400;

/// The container product: 2.00 per 30 days, plus 0.01 per MB of memory and 0.0005 per MB of
/// storage.
async fn container_product(api: &TestApi) -> i64 {
    let body = json!({
        "name": "container",
        "prices": {"30d": "2.00"},
        "resource_prices": {"30d": {"memory_mb": "0.01", "storage_mb": "0.0005"}},
    });
    let (status, product) = api
        .post("/v1/admin/products", &api.staff, &body.to_string())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    assert_eq!(
        product["resource_prices"],
        json!([{"period": "30d", "memory_mb": "0.01", "storage_mb": "0.0005"}])
    );
    product["id"].as_i64().expect("product id")
}

async fn billed_customer(api: &TestApi, name: &str) -> TestCustomer {
    let customer = api.customer(name).await;
    let body = json!({"name": "Ada", "street": "Main St 1", "postal_code": "8000",
                      "city": "Zurich", "country": "CH"});
    let (status, answer) = api
        .post("/v1/my/billing-address", &customer.login, &body.to_string())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    customer
}

async fn create_container(
    api: &TestApi,
    customer: &TestCustomer,
    memory: i64,
    storage: i64,
) -> (StatusCode, Value) {
    let body = json!({"customer": customer.login.username, "server": "shared1", "name": "web",
                      "memory": memory, "storage": storage});
    api.post("/v1/admin/containers", &api.staff, &body.to_string())
        .await
}

async fn resize(api: &TestApi, uid: i64, memory: i64) {
    let (status, answer) = api
        .post(
            &format!("/v1/admin/containers/{uid}"),
            &api.staff,
            &json!({"memory": memory}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

async fn orders(api: &TestApi, customer: &TestCustomer) -> Vec<Value> {
    let (status, orders) = api.get("/v1/my/orders", &customer.login).await;
    assert_eq!(status, StatusCode::OK, "{orders}");
    orders.as_array().expect("orders").clone()
}

fn int(value: &Value) -> i64 {
    value.as_i64().expect("an integer")
}

on_both_stores! {
    async fn a_container_is_ordered_at_its_size_and_reordered_when_resized(api) {
        let product = container_product(&api).await;
        let alice = billed_customer(&api, "alice").await;
        let before = now();
        let (status, created) = create_container(&api, &alice, 512, 10_240).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let uid = int(&created["uid"]);

        let placed = orders(&api, &alice).await;
        assert_eq!(placed.len(), 1, "{placed:?}");
        let first = &placed[0];
        // 2.00 + 512 × 0.01 + 10 240 × 0.0005
        assert_eq!(first["recurring_price"], "12.24");
        assert_eq!(first["product"], product);
        assert_eq!(first["period"], "30d");
        assert_eq!(first["container"], json!({"uid": uid, "memory": 512, "storage": 10_240}));
        let first_start = int(&first["starts_at"]);
        assert!(first_start >= before && first_start <= now(), "{first}");

        // A preview says what a resize would cost and changes nothing.
        let path = format!("/v1/admin/containers/{uid}?preview=1");
        let body = json!({"memory": 1024}).to_string();
        let (status, preview) = api.post(&path, &api.staff, &body).await;
        assert_eq!(status, StatusCode::OK, "{preview}");
        assert_eq!(preview["preview"], true);
        assert_eq!(preview["quote"]["change"], "upgrade");
        assert_eq!(preview["quote"]["order"]["recurring_price"], "17.36");
        assert_eq!(preview["quote"]["order"]["id"], Value::Null);
        assert_eq!(preview["quote"]["replaced"]["id"], first["id"]);
        assert_eq!(orders(&api, &alice).await.len(), 1, "a preview places nothing");
        let (_, shown) = api.get(&format!("/v1/admin/containers/{uid}"), &api.staff).await;
        assert_eq!(shown["memory"], 512, "a preview resizes nothing");
        let too_big = json!({"memory": 1_000_000}).to_string();
        let (status, refused) = api.post(&path, &api.staff, &too_big).await;
        assert_eq!(status, StatusCode::CONFLICT, "the server is too small: {refused}");

        // More memory costs more per second: an upgrade, at once.
        resize(&api, uid, 1024).await;
        let placed = orders(&api, &alice).await;
        assert_eq!(placed.len(), 2, "{placed:?}");
        let (first, second) = (&placed[0], &placed[1]);
        assert_eq!(second["recurring_price"], "17.36");
        assert_eq!(second["replaces"], first["id"]);
        assert_eq!(first["replaced_by"], second["id"]);
        assert_eq!(second["container"]["memory"], 1024);
        let second_start = int(&second["starts_at"]);
        assert!(second_start >= first_start && second_start <= now(), "{second}");
        assert_eq!(int(&first["ends_at"]), second_start - 1);

        // Less memory: a downgrade, when the committed 30 days end. (Within the second the
        // order started it would replace the order whole, as one that has not run yet.)
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        resize(&api, uid, 256).await;
        let placed = orders(&api, &alice).await;
        assert_eq!(placed.len(), 3, "{placed:?}");
        let (second, third) = (&placed[1], &placed[2]);
        assert_eq!(third["recurring_price"], "9.68");
        assert_eq!(int(&third["starts_at"]), second_start + 30 * DAY);
        assert_eq!(int(&second["ends_at"]), second_start + 30 * DAY - 1);

        // The customer cannot cancel or replace what follows the container.
        let third_id = int(&third["id"]);
        let (status, refused) = api
            .post(&format!("/v1/my/orders/{third_id}/cancel"), &alice.login, "{}")
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert!(refused["reason"].as_str().unwrap_or_default().contains("container"), "{refused}");
        let body = json!({"product": product, "period": "30d"}).to_string();
        let (status, _) = api
            .post(&format!("/v1/my/orders/{third_id}/replace"), &alice.login, &body)
            .await;
        assert_eq!(status, StatusCode::CONFLICT);

        // More memory again before the downgrade took effect: an upgrade over what runs now,
        // so the running order stops at once and the pending one never starts.
        let before_upgrade = now();
        resize(&api, uid, 2048).await;
        let placed = orders(&api, &alice).await;
        assert_eq!(placed.len(), 4, "{placed:?}");
        let (second, third, fourth) = (&placed[1], &placed[2], &placed[3]);
        assert_eq!(fourth["recurring_price"], "27.60");
        assert_eq!(fourth["replaces"], third["id"]);
        let fourth_start = int(&fourth["starts_at"]);
        assert!(fourth_start >= before_upgrade && fourth_start <= now(), "{fourth}");
        assert_eq!(int(&second["ends_at"]), fourth_start - 1);
        assert_eq!(int(&third["ends_at"]), fourth_start - 1);
        assert!(int(&third["ends_at"]) < int(&third["starts_at"]), "the downgrade bills nothing");

        // The bill names the container and the size each line was priced from.
        let until = json!({"until": now() + DAY}).to_string();
        let (status, report) = api.post("/v1/admin/bills/generate", &api.staff, &until).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let (_, bills) = api.get("/v1/my/bills", &alice.login).await;
        let page = api.http.get(format!("{}/v1/my/bills/{}/html", api.base, bills[0]["id"]))
            .basic_auth(&alice.login.username, Some(&alice.login.password))
            .send().await.expect("bill page").text().await.expect("html");
        for size in ["1024 MB memory", "2048 MB memory"] {
            let item = format!("container (container {uid}: {size}, 10240 MB storage), recurring");
            assert!(page.contains(&item), "{item} in {page}");
        }

        // Deleting the container ends its order with the committed period, as a
        // cancellation.
        let (status, _) = api.delete(&format!("/v1/admin/containers/{uid}"), &api.staff).await;
        assert_eq!(status, StatusCode::OK);
        let placed = orders(&api, &alice).await;
        assert_eq!(int(&placed[3]["ends_at"]), fourth_start + 30 * DAY - 1);
        assert_eq!(placed[3]["container"]["uid"], uid, "a deleted container's orders still name it");
    }

    async fn a_priced_container_needs_a_billing_address_and_nothing_is_kept_without_one(api) {
        container_product(&api).await;
        let bob = api.customer("bob").await;
        let (status, refused) = create_container(&api, &bob, 256, 1024).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert!(refused["reason"].as_str().unwrap_or_default().contains("billing address"), "{refused}");
        let (_, containers) = api.get("/v1/admin/containers", &api.staff).await;
        assert_eq!(containers, json!([]));
        let (_, servers) = api.get("/v1/admin/servers", &api.staff).await;
        assert_eq!(servers[0]["used_memory"], 0, "{servers}");
    }

    async fn containers_on_a_server_their_customer_owns_are_not_billed_by_resources(api) {
        container_product(&api).await;
        let carol = billed_customer(&api, "carol").await;
        api.owned_server(&carol, "192.0.2.9", 2048).await;
        let body = json!({"server": "dedicated-192-0-2-9", "name": "own", "memory": 512,
                          "storage": 1024});
        let (status, created) = api.post("/api/containers", &carol.login, &body.to_string()).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert!(orders(&api, &carol).await.is_empty());
        let uid = int(&created["uid"]);
        let (status, refused) = api
            .post(&format!("/v1/admin/containers/{uid}/order"), &api.staff, "{}")
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    }

    async fn staff_start_billing_a_container_made_before_containers_were_priced(api) {
        let dave = billed_customer(&api, "dave").await;
        let (status, created) = create_container(&api, &dave, 1024, 2048).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert!(orders(&api, &dave).await.is_empty(), "no product prices containers yet");
        let uid = int(&created["uid"]);
        let path = format!("/v1/admin/containers/{uid}/order");
        let (status, refused) = api.post(&path, &api.staff, "{}").await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");

        container_product(&api).await;
        let (status, bad) = api
            .post(&path, &api.staff, &json!({"period": "day"}).to_string())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        // 1 577 836 800 is 2020-01-01: migrating a customer billed since then.
        let body = json!({"starts_at": 1_577_836_800_i64, "period": "30d"}).to_string();
        let (status, order) = api.post(&path, &api.staff, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
        assert_eq!(order["recurring_price"], "13.26");
        assert_eq!(order["starts_at"], 1_577_836_800_i64);
        let (status, again) = api.post(&path, &api.staff, &body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{again}");
    }

    async fn one_product_prices_containers_and_its_unit_prices_are_validated(api) {
        let product = container_product(&api).await;
        let second = json!({"name": "container-2", "prices": {"30d": "1"},
                            "resource_prices": {"30d": {"memory_mb": "0.02", "storage_mb": "0"}}});
        let (status, refused) = api
            .post("/v1/admin/products", &api.staff, &second.to_string())
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");

        for bad in [
            json!({"30d": {"memory_mb": "0.0000001", "storage_mb": "0"}}),
            json!({"30d": {"memory_mb": "-1", "storage_mb": "0"}}),
            json!({"30d": {"memory_mb": "0.01"}}),
            json!({"day": {"memory_mb": "0.01", "storage_mb": "0"}}),
            json!({"30d": "0.01"}),
            json!([1, 2]),
        ] {
            let body = json!({"name": "other", "prices": {"30d": "1"}, "resource_prices": bad});
            let (status, answer) = api
                .post("/v1/admin/products", &api.staff, &body.to_string())
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {answer}");
        }

        // Editing the base price keeps the unit prices; null removes them.
        let path = format!("/v1/admin/products/{product}");
        let (status, edited) = api
            .post(&path, &api.staff, &json!({"prices": {"30d": "3.00"}}).to_string())
            .await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!(edited["resource_prices"][0]["memory_mb"], "0.01");
        let (status, edited) = api
            .post(&path, &api.staff, &json!({"resource_prices": null}).to_string())
            .await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!(edited["resource_prices"], json!([]));
        let (status, created) = api
            .post("/v1/admin/products", &api.staff, &second.to_string())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
}
