//! `berth admin` and `/v1/admin` are one implementation: over the same store, what the CLI
//! prints with `--json` is what the staff API answers over HTTP, for reads and for errors.

mod support;

use serde_json::{json, Value};

/// `GET base+path` as staff, with the status and JSON answer.
async fn staff_get(base: &str, auth: (&str, &str), path: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .basic_auth(auth.0, Some(auth.1))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON answer"))
}

/// The stderr of a `berth admin` command that must fail.
fn admin_error(data: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["admin", "--data"])
        .arg(data)
        .args(args)
        .env_remove("BERTH_DATABASE_URL")
        .output()
        .expect("berth admin runs");
    assert!(!output.status.success(), "berth admin {args:?} should fail");
    String::from_utf8(output.stderr).expect("UTF-8")
}

#[tokio::test]
async fn the_cli_prints_what_the_staff_api_answers() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("berth-data");
    let (_berth, banner) = support::start(&data, &[]);
    let base = support::api_base(&banner);
    let credentials = support::credentials(&data);
    let staff = credentials["staff_username"].as_str().expect("staff");
    let password = credentials["staff_password"].as_str().expect("password");
    let auth = (staff, password);
    let customer = credentials["customer_username"].as_str().expect("customer");

    // Writes through the CLI, in the store the running API serves.
    support::admin(
        &data,
        &["customer", "create", "kratos", "--company", "Sparta"],
    );
    support::admin(
        &data,
        &["distro", "add", "bookworm", "--path", "/distros/b"],
    );
    support::admin(&data, &["news", "add", "Maintenance", "--public"]);
    support::admin(
        &data,
        &["domain", "add", "example.net", "--customer", "kratos"],
    );
    support::admin(
        &data,
        &[
            "product",
            "add",
            "VPS",
            "--price",
            "30d=10.00",
            "--price",
            "365d=100.00",
        ],
    );
    support::admin(
        &data,
        &["payment", "add", "kratos", "12.50", "--source", "wire"],
    );

    support::admin(
        &data,
        &["legion", "create", "eu", "--address", "192.0.2.100"],
    );
    let servers = support::admin(&data, &["server", "list"]);
    let server = servers[0]["name"].as_str().expect("berth up's server");
    support::admin(&data, &["legion", "add", "eu", server, "--weight", "10"]);

    let reads: [(&[&str], String); 12] = [
        (&["customer", "list"], "/v1/admin/customers".into()),
        (&["server", "list"], "/v1/admin/servers".into()),
        (&["distro", "list"], "/v1/admin/distros".into()),
        (&["container", "list"], "/v1/admin/containers".into()),
        (&["domain", "list"], "/v1/admin/domains".into()),
        (&["news", "list"], "/v1/admin/news".into()),
        (&["legion", "list"], "/v1/admin/legions".into()),
        (&["product", "list", "--all"], "/v1/admin/products".into()),
        (
            &["payment", "list", "kratos"],
            "/v1/admin/payments?customer=kratos".into(),
        ),
        (
            &["balance", "kratos"],
            "/v1/admin/balance?customer=kratos".into(),
        ),
        (
            &["order", "list", customer],
            format!("/v1/admin/orders?customer={customer}"),
        ),
        (
            &["bills", "list", customer],
            format!("/v1/admin/bills?customer={customer}"),
        ),
    ];
    for (args, path) in reads {
        let printed = support::admin(&data, args);
        let (status, answered) = staff_get(&base, auth, &path).await;
        assert_eq!(status, 200, "GET {path}: {answered}");
        assert_eq!(printed, answered, "berth admin {args:?} vs GET {path}");
    }
    let (_, balance) = staff_get(&base, auth, "/v1/admin/balance?customer=kratos").await;
    assert_eq!(balance["paid"], "12.50");
    let (_, products) = staff_get(&base, auth, "/v1/admin/products").await;
    assert_eq!(
        products[0]["prices"],
        json!([{"period": "30d", "price": "10.00"}, {"period": "365d", "price": "100.00"}]),
        "the periods keep the order the CLI gave"
    );

    // The same refusal, in the same words.
    let (status, answered) = staff_get(&base, auth, "/v1/admin/balance?customer=ghost").await;
    assert_eq!(status, 404);
    assert_eq!(answered["reason"], "no customer ghost");
    assert!(admin_error(&data, &["balance", "ghost"]).contains("error: no customer ghost"));
    let (status, answered) = staff_get(&base, auth, "/v1/admin/legions/ghost").await;
    assert_eq!(status, 404);
    let reason = answered["reason"].as_str().expect("reason");
    assert!(admin_error(&data, &["legion", "add", "ghost", server]).contains(reason));
}
