//! WireGuard VPN networks over the API: the 2020 manual's pool and networks, allocation by
//! number with freed networks reused, and bad input, full pools and other customers' networks.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{TestApi, TestCustomer};

/// RFC 7748's test private key, and its public key as `wg pubkey` prints it.
const SERVER_PRIVATE: &str = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
const SERVER_PUBLIC: &str = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

/// A distinct valid WireGuard public key for `n`.
fn key(n: u8) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([n; 32])
}

async fn manual_pool(api: &TestApi) -> Value {
    // The manual's example: a /40 cut into /48 networks.
    let body = json!({"network": "2a0a:e5c1:200::", "network_size": 40, "subnetwork_size": 48,
                      "vpn_hostname": "vpn-2a0ae5c1200", "wireguard_private_key": SERVER_PRIVATE});
    let (status, pool) = api
        .post("/v1/admin/vpnpool/", &api.staff, &body.to_string())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pool}");
    pool
}

async fn order(api: &TestApi, customer: &TestCustomer, size: i64, n: u8) -> (StatusCode, Value) {
    let body = json!({"network_size": size, "wireguard_public_key": key(n)});
    api.post("/v1/net/vpn/", &customer.login, &body.to_string())
        .await
}

on_both_stores! {
    async fn a_vpn_network_is_a_product_at_120_a_year(api) {
        let body = json!({"name": "VPN", "prices": {"365d": "120"}});
        let (status, product) = api.post("/v1/admin/products", &api.staff, &body.to_string()).await;
        assert_eq!(status, StatusCode::CREATED, "{product}");
        let body = json!({"network": "2a0a:e5c1:200::", "network_size": 40, "subnetwork_size": 48,
                          "vpn_hostname": "vpn1", "wireguard_public_key": SERVER_PUBLIC,
                          "product": product["id"]});
        let (status, pool) = api.post("/v1/admin/vpnpool", &api.staff, &body.to_string()).await;
        assert_eq!(status, StatusCode::CREATED, "{pool}");
        assert_eq!(pool["product"], product["id"]);

        let nico = api.customer("nico").await;
        let (status, refused) = order(&api, &nico, 48, 1).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert!(refused["reason"].as_str().unwrap_or_default().contains("billing address"), "{refused}");
        let (_, pools) = api.get("/v1/admin/vpnpool", &api.staff).await;
        assert_eq!(pools[0]["used"], 0, "nothing is kept without a billing address");

        let address = json!({"name": "Nico", "street": "Main St 1", "postal_code": "8000",
                             "city": "Zurich", "country": "CH"});
        let (status, _) = api.post("/v1/my/billing-address", &nico.login, &address.to_string()).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, network) = order(&api, &nico, 48, 1).await;
        assert_eq!(status, StatusCode::CREATED, "{network}");
        let (_, orders) = api.get("/v1/my/orders", &nico.login).await;
        assert_eq!(orders.as_array().map(Vec::len), Some(1), "{orders}");
        let placed = &orders[0];
        assert_eq!(placed["vpn_network"], network["id"]);
        assert_eq!(placed["period"], "365d");
        assert_eq!(placed["recurring_price"], "120");
        let (status, _) = api
            .post(&format!("/v1/my/orders/{}/cancel", placed["id"]), &nico.login, "{}")
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "the order follows the network");

        // Giving the network back ends its order with the committed year.
        let (status, _) = api.delete(&format!("/v1/net/vpn/{}", network["id"]), &nico.login).await;
        assert_eq!(status, StatusCode::OK);
        let (_, orders) = api.get("/v1/my/orders", &nico.login).await;
        let start = orders[0]["starts_at"].as_i64().expect("start");
        assert_eq!(orders[0]["ends_at"], start + 365 * 86_400 - 1);
    }

    async fn the_manuals_pool_hands_out_48s_in_order_and_reuses_freed_ones(api) {
        let pool = manual_pool(&api).await;
        assert_eq!(pool["wireguard_public_key"], SERVER_PUBLIC);
        assert_eq!(pool["capacity"], 256);
        assert_eq!(pool["wg_name"], "wg0");
        assert!(pool.get("wireguard_private_key").is_none(), "the private key is never shown");

        let nico = api.customer("nico").await;
        let (status, first) = order(&api, &nico, 48, 1).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(first["network"], "2a0a:e5c1:200::");
        assert_eq!(first["network_size"], 48);
        assert_eq!(first["server_public_key"], SERVER_PUBLIC);
        assert_eq!(first["endpoint"], "vpn-2a0ae5c1200:51820");
        let config = first["client_config"].as_str().expect("a config");
        assert!(config.contains("Address = 2a0a:e5c1:200::1/48"), "{config}");
        assert!(config.contains(&format!("PublicKey = {SERVER_PUBLIC}")), "{config}");

        let ada = api.customer("ada").await;
        let (_, second) = order(&api, &ada, 48, 2).await;
        assert_eq!(second["network"], "2a0a:e5c1:201::");
        let (_, third) = order(&api, &nico, 48, 3).await;
        assert_eq!(third["network"], "2a0a:e5c1:202::");

        let (_, mine) = api.get("/v1/net/vpn", &nico.login).await;
        assert_eq!(mine.as_array().map(Vec::len), Some(2));
        let (status, _) = api.get(&format!("/v1/net/vpn/{}", second["id"]), &nico.login).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another customer's network");
        let (status, _) = api.delete(&format!("/v1/net/vpn/{}", second["id"]), &nico.login).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Ada gives hers back; the next network is that one again.
        let (status, _) = api.delete(&format!("/v1/net/vpn/{}", second["id"]), &ada.login).await;
        assert_eq!(status, StatusCode::OK);
        let (_, again) = order(&api, &ada, 48, 4).await;
        assert_eq!(again["network"], "2a0a:e5c1:201::");
        let (_, pools) = api.get("/v1/admin/vpnpool", &api.staff).await;
        assert_eq!(pools[0]["used"], 3);
        assert_eq!(pools[0]["free"], 253);

        // A pool handing out networks cannot go.
        let (status, refused) = api
            .delete(&format!("/v1/admin/vpnpool/{}", pool["id"]), &api.staff)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    }

    async fn bad_requests_full_pools_and_strangers_are_refused(api) {
        let nico = api.customer("nico").await;
        let (status, _) = api.get("/v1/admin/vpnpool", &nico.login).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // The later field names, with the private key kept on the host: a /47 holds two /48s.
        let body = json!({"network": "2a0a:e5c1:300::", "network_mask": 47, "subnetwork_mask": 48,
                          "vpn_server_hostname": "vpn2", "wg_name": "wgsmall",
                          "wireguard_public_key": SERVER_PUBLIC});
        let (status, small) = api.post("/v1/admin/vpnpool", &api.staff, &body.to_string()).await;
        assert_eq!(status, StatusCode::CREATED, "{small}");
        assert_eq!(small["private_key_kept"], false);
        assert_eq!(small["capacity"], 2);

        let (status, refused) = order(&api, &nico, 64, 1).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        let reason = refused["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("Available are: [48]"), "{reason}");
        let bad_key = json!({"network_size": 48, "wireguard_public_key": "not-a-key"});
        let (status, _) = api.post("/v1/net/vpn", &nico.login, &bad_key.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = api.post("/v1/net/vpn", &nico.login, "{}").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        assert_eq!(order(&api, &nico, 48, 1).await.0, StatusCode::CREATED);
        let (status, taken) = order(&api, &nico, 48, 1).await;
        assert_eq!(status, StatusCode::CONFLICT, "the same key twice: {taken}");
        assert_eq!(order(&api, &nico, 48, 2).await.0, StatusCode::CREATED);
        let (status, full) = order(&api, &nico, 48, 3).await;
        assert_eq!(status, StatusCode::CONFLICT, "{full}");

        for bad in [
            json!({"network": "2a0a:e5c1:300::", "network_size": 40, "subnetwork_size": 48,
                   "vpn_hostname": "vpn3", "wireguard_public_key": SERVER_PUBLIC}),
            json!({"network": "2a0a:e5c1:300::1", "network_size": 40, "subnetwork_size": 48,
                   "vpn_hostname": "vpn3", "wireguard_public_key": SERVER_PUBLIC}),
            json!({"network": "2a0b::", "network_size": 48, "subnetwork_size": 40,
                   "vpn_hostname": "vpn3", "wireguard_public_key": SERVER_PUBLIC}),
            json!({"network": "2a0b::", "network_size": 40, "subnetwork_size": 48,
                   "vpn_hostname": "vpn3", "wireguard_public_key": "short"}),
            json!({"network": "2a0b::", "network_size": 40, "subnetwork_size": 48,
                   "vpn_hostname": "vpn3"}),
        ] {
            let (status, answer) = api.post("/v1/admin/vpnpool", &api.staff, &bad.to_string()).await;
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::CONFLICT,
                "{bad} → {status} {answer}"
            );
        }
        let (status, overlapping) = api
            .post("/v1/admin/vpnpool", &api.staff, &json!({"network": "2a0a:e5c1:300::",
                   "network_size": 40, "subnetwork_size": 48, "vpn_hostname": "vpn3",
                   "wireguard_public_key": SERVER_PUBLIC}).to_string())
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{overlapping}");
        let (status, _) = api.get("/v1/net/vpn", &support::Login {
            username: "nico".into(), password: "wrong".into() }).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}
