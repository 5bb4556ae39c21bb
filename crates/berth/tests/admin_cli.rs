//! `berth admin`: the staff's command line, on SQLite and on PostgreSQL.

use std::process::{Command, Output};

use serde_json::Value;
use sqlx::Connection;

struct Admin {
    args: Vec<String>,
}

impl Admin {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("admin")
            .args(&self.args)
            .args(args)
            .env_remove("BERTH_DATABASE_URL")
            .env_remove("BERTH_DATA")
            .output()
            .expect("berth runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "berth admin {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        serde_json::from_str(&self.ok(&with_json)).expect("JSON output")
    }

    fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "berth admin {args:?} should fail");
        let stderr = String::from_utf8(output.stderr).expect("utf-8");
        assert!(stderr.contains("error:"), "{stderr}");
        stderr
    }
}

fn exercise(admin: &Admin) {
    let created = admin.json(&[
        "customer",
        "create",
        "kratos",
        "--email",
        "k@example.com",
        "--company",
        "Sparta",
    ]);
    let password = created["password"].as_str().expect("generated password");
    assert_eq!(password.len(), 20);
    admin.ok(&["customer", "create", "zeus", "--password", "thunderbolt"]);
    let table = admin.ok(&["customer", "list"]);
    assert!(table.contains("USERNAME"), "{table}");
    assert!(
        table.contains("kratos") && table.contains("Sparta"),
        "{table}"
    );
    admin.fails(&["customer", "create", "kratos", "--password", "whatever1"]);
    admin.fails(&["customer", "create", "bad name"]);
    let passwd = admin.json(&["customer", "passwd", "zeus"]);
    assert!(passwd["password"].is_string());
    admin.fails(&["customer", "passwd", "nobody"]);

    let server = admin.json(&[
        "server",
        "add",
        "node1",
        "--address",
        "192.0.2.10",
        "--memory",
        "2048",
        "--storage",
        "10000",
    ]);
    assert_eq!(server["free_memory"], 2048);
    assert!(server["join_token"].is_string());
    let token = admin.json(&["server", "token", "node1"]);
    assert_eq!(token["server"], "node1");
    assert_ne!(token["join_token"], server["join_token"]);
    admin.fails(&["server", "token", "nobody"]);
    admin.fails(&[
        "server",
        "add",
        "node1",
        "--address",
        "192.0.2.11",
        "--memory",
        "1",
        "--storage",
        "1",
    ]);
    admin.fails(&[
        "server",
        "add",
        "node2",
        "--address",
        "nowhere",
        "--memory",
        "1",
        "--storage",
        "1",
    ]);
    assert!(admin.ok(&["server", "list"]).contains("192.0.2.10"));

    let distro = admin.json(&["distro", "add", "bookworm", "--path", "/distros/bookworm"]);
    assert_eq!(distro["name"], "bookworm");
    assert_eq!(
        admin.json(&["distro", "list"])[0]["path"],
        "/distros/bookworm"
    );

    let uid: i64 = admin
        .ok(&[
            "container",
            "create",
            "--customer",
            "kratos",
            "--server",
            "node1",
            "--name",
            "web",
            "--memory",
            "1024",
            "--storage",
            "4096",
        ])
        .trim()
        .parse()
        .expect("the uid");
    assert!(uid > 30_000);
    let full = admin.fails(&[
        "container",
        "create",
        "--customer",
        "kratos",
        "--server",
        "node1",
        "--name",
        "big",
        "--memory",
        "1025",
        "--storage",
        "1",
    ]);
    assert!(full.contains("not enough memory"), "{full}");
    admin.fails(&[
        "container",
        "create",
        "--customer",
        "ghost",
        "--server",
        "node1",
        "--name",
        "x",
        "--memory",
        "1",
        "--storage",
        "1",
    ]);
    let resized = admin.json(&["container", "resize", &uid.to_string(), "--memory", "2048"]);
    assert_eq!(resized["memory"], 2048);
    admin.fails(&["container", "resize", &uid.to_string(), "--memory", "2049"]);
    admin.fails(&["container", "resize", &uid.to_string()]);
    let list = admin.json(&["container", "list"]);
    assert_eq!(list[0]["uid"], uid);
    assert_eq!(list[0]["customer"], "kratos");
    assert!(admin.ok(&["container", "list"]).contains("kratos"));
    let domain = admin.json(&["domain", "add", "Example.com", "--customer", "kratos"]);
    assert_eq!(domain["name"], "example.com");
    assert_eq!(domain["customer"], "kratos");
    let taken = admin.fails(&["domain", "add", "example.com", "--customer", "zeus"]);
    assert!(taken.contains("belongs to kratos"), "{taken}");
    admin.fails(&["domain", "add", "*.example.com", "--customer", "zeus"]);
    admin.fails(&["domain", "add", "example.org", "--customer", "ghost"]);
    admin.ok(&["domain", "add", ".example.com", "--customer", "zeus"]);
    let table = admin.ok(&["domain", "list"]);
    assert!(
        table.contains("example.com") && table.contains("zeus"),
        "{table}"
    );
    admin.ok(&["domain", "delete", "example.com"]);
    admin.fails(&["domain", "delete", "example.com"]);
    assert_eq!(admin.json(&["domain", "list"])[0]["name"], ".example.com");
    let ring = admin.json(&["container", "max-alarms", &uid.to_string(), "5"]);
    assert_eq!(ring["max_alarms"], 5);
    admin.fails(&["container", "max-alarms", &uid.to_string(), "0"]);
    admin.ok(&["container", "delete", &uid.to_string()]);
    admin.fails(&["container", "delete", &uid.to_string()]);
    assert_eq!(admin.json(&["server", "list"])[0]["used_memory"], 0);

    let item = admin.json(&["news", "add", "Maintenance on Sunday", "--public"]);
    assert_eq!(item["public"], true);
    assert!(item["date"].is_i64());
    admin.ok(&["news", "add", "New prices"]);
    let news = admin.json(&["news", "list"]);
    assert_eq!(news[0]["content"], "New prices");
    assert_eq!(news[0]["public"], false);
    assert_eq!(news[1]["content"], "Maintenance on Sunday");
    let table = admin.ok(&["news", "list"]);
    assert!(
        table.contains("CONTENT") && table.contains("Maintenance on Sunday"),
        "{table}"
    );
    admin.fails(&["news", "add", "  "]);
    billing(admin);
}

#[test]
fn admin_cli_on_sqlite() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let admin = Admin {
        args: vec!["--data".into(), dir.path().display().to_string()],
    };
    exercise(&admin);
    assert!(dir.path().join("berth.db").exists());
}

#[tokio::test]
async fn admin_cli_on_postgres() {
    sqlx::any::install_default_drivers();
    let server = std::env::var("BERTH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let name = format!("berth_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::AnyConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL is reachable");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let dir = tempfile::tempdir().expect("temporary directory");
    let admin = Admin {
        args: vec![
            "--data".into(),
            dir.path().display().to_string(),
            "--database-url".into(),
            format!("{server}/{name}"),
        ],
    };
    tokio::task::spawn_blocking(move || exercise(&admin))
        .await
        .expect("the CLI exercise passes");
    assert!(
        !dir.path().join("berth.db").exists(),
        "PostgreSQL, not SQLite, was used"
    );
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .expect("drop database");
}

/// Gives `username` an active billing address in Switzerland with `berth admin customer
/// address`, after refusing a bad country and an unknown customer.
fn set_billing_address(admin: &Admin, username: &str) {
    fn address<'a>(customer: &'a str, country: &'a str) -> [&'a str; 13] {
        [
            "customer",
            "address",
            customer,
            "--name",
            "Kratos",
            "--street",
            "Hauptstrasse 1",
            "--postal-code",
            "8000",
            "--city",
            "Zürich",
            "--country",
            country,
        ]
    }
    let bad = admin.fails(&address("kratos", "Switzerland"));
    assert!(bad.contains("country"), "{bad}");
    let ghost = admin.fails(&address("ghost", "CH"));
    assert!(ghost.contains("no customer ghost"), "{ghost}");
    let stored = admin.json(&address(username, "CH"));
    assert_eq!(stored["city"], "Zürich");
    assert_eq!(stored["active"], true);
}

/// `berth admin vat` and `berth admin bills` on a real vat-rates sample, then products,
/// orders, bills, payments and the balance.
fn billing(admin: &Admin) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let csv = dir.path().join("vat_rates.csv");
    std::fs::write(
        &csv,
        "start_date,stop_date,territory_codes,currency_code,rate,rate_type,description\n\
         2018-01-01,2024-01-01,CH,CHF,0.077,standard,Switzerland\n\
         2024-01-01,,CH,CHF,0.081,standard,Switzerland\n\
         2011-01-04,,\"GB\nUK\nIM\",GBP,0.2,standard,United Kingdom\n",
    )
    .expect("write csv");
    let path = csv.display().to_string();
    assert_eq!(admin.json(&["vat", "import", &path])["imported"], 3);
    // Importing again replaces, never duplicates.
    assert_eq!(admin.json(&["vat", "import", &path])["imported"], 3);
    let rates = admin.json(&["vat", "list"]);
    assert_eq!(rates.as_array().map(Vec::len), Some(3));
    assert_eq!(rates[1]["rate"], "0.081");
    assert_eq!(rates[2]["territories"], "GB UK IM");
    let report = admin.json(&["bills", "generate", "--until", "2020-01-31"]);
    assert_eq!(report["until"], 1_580_515_199);
    assert!(admin
        .fails(&["bills", "generate", "--until", "31.01.2020"])
        .contains("until"));
    assert!(admin
        .fails(&["bills", "close", "999"])
        .contains("bill not found"));
    std::fs::write(&csv, "start_date,stop_date\n").expect("write csv");
    assert!(admin.fails(&["vat", "import", &path]).contains("header"));
    assert_eq!(
        admin.json(&["vat", "list"]).as_array().map(Vec::len),
        Some(3)
    );
    products_orders_and_balance(admin);
    container_product(admin);
    vpn_pools(admin);
}

/// `berth admin vpn`: pools with the server's public key or its private key, and their use.
fn vpn_pools(admin: &Admin) {
    const PUBLIC: &str = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
    let pool = admin.json(&[
        "vpn",
        "add",
        "2a0a:e5c1:200::",
        "--network-size",
        "40",
        "--subnetwork-size",
        "48",
        "--host",
        "node1",
        "--public-key",
        PUBLIC,
    ]);
    assert_eq!(pool["capacity"], 256);
    assert_eq!(pool["private_key_kept"], false);
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = dir.path().join("wg1.key");
    std::fs::write(&key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n").expect("key file");
    let kept = admin.json(&[
        "vpn",
        "add",
        "2a0a:e5c1:300::",
        "--network-size",
        "40",
        "--subnetwork-size",
        "48",
        "--host",
        "node1",
        "--wg-name",
        "wg1",
        "--private-key-file",
        key.to_str().expect("UTF-8 path"),
        "--product",
        "Small VPS",
    ]);
    assert_eq!(
        kept["wireguard_public_key"], PUBLIC,
        "derived from the private key"
    );
    assert_eq!(kept["private_key_kept"], true);
    assert!(kept["product"].is_i64(), "{kept}");
    let bad = admin.fails(&[
        "vpn",
        "add",
        "2a0a:e5c1:400::1",
        "--network-size",
        "40",
        "--subnetwork-size",
        "48",
        "--host",
        "node1",
        "--wg-name",
        "wg2",
        "--public-key",
        PUBLIC,
    ]);
    assert!(bad.contains("network: has host bits set"), "{bad}");
    let overlapping = admin.fails(&[
        "vpn",
        "add",
        "2a0a:e5c1:2ff::",
        "--network-size",
        "48",
        "--subnetwork-size",
        "56",
        "--host",
        "node1",
        "--wg-name",
        "wg3",
        "--public-key",
        PUBLIC,
    ]);
    assert!(overlapping.contains("overlaps"), "{overlapping}");
    assert!(admin.ok(&["vpn", "list"]).contains("2a0a:e5c1:300::"));
    assert_eq!(
        admin.json(&["vpn", "networks", "kratos"]),
        serde_json::json!([])
    );
    let id = kept["id"].as_i64().expect("the pool's id").to_string();
    admin.ok(&["vpn", "delete", &id]);
    assert_eq!(
        admin.json(&["vpn", "list"]).as_array().map(Vec::len),
        Some(1)
    );
    assert!(admin
        .fails(&["vpn", "delete", "999"])
        .contains("vpn pool not found"));
}

/// The container product: containers created and resized through the CLI get their orders,
/// priced per MB of memory and storage.
fn container_product(admin: &Admin) {
    let bad = admin.fails(&[
        "product",
        "add",
        "Containers",
        "--price",
        "30d=2",
        "--resource-price",
        "30d=0.01",
    ]);
    assert!(bad.contains("PERIOD=MEMORY,STORAGE"), "{bad}");
    let missing = admin.fails(&[
        "product",
        "add",
        "Containers",
        "--price",
        "30d=2",
        "--price",
        "365d=20",
        "--resource-price",
        "30d=0.01,0.0005",
    ]);
    assert!(
        missing.contains("period 365d needs its memory and storage prices"),
        "{missing}"
    );
    let product = admin.json(&[
        "product",
        "add",
        "Containers",
        "--price",
        "30d=2.00",
        "--resource-price",
        "30d=0.01,0.0005",
    ]);
    assert_eq!(product["resource_prices"][0]["storage_mb"], "0.0005");
    assert!(admin.ok(&["product", "list"]).contains("30d=0.01,0.0005"));
    admin.ok(&[
        "server",
        "add",
        "billed1",
        "--address",
        "192.0.2.60",
        "--memory",
        "8192",
        "--storage",
        "100000",
    ]);
    let uid = admin.json(&[
        "container",
        "create",
        "--customer",
        "kratos",
        "--server",
        "billed1",
        "--name",
        "shop",
        "--memory",
        "512",
        "--storage",
        "10240",
        "--period",
        "30d",
    ])["uid"]
        .as_i64()
        .expect("the container's uid");
    let container_orders = |admin: &Admin| -> Vec<Value> {
        admin
            .json(&["order", "list", "kratos"])
            .as_array()
            .expect("orders")
            .iter()
            .filter(|o| o["container"]["uid"] == uid)
            .cloned()
            .collect()
    };
    let orders = container_orders(admin);
    assert_eq!(orders.len(), 1, "{orders:?}");
    // 2.00 + 512 × 0.01 + 10 240 × 0.0005
    assert_eq!(orders[0]["recurring_price"], "12.24");
    let preview = admin.json(&[
        "container",
        "resize",
        &uid.to_string(),
        "--memory",
        "1024",
        "--preview",
    ]);
    assert_eq!(preview["change"], "upgrade");
    assert_eq!(preview["order"]["recurring_price"], "17.36");
    assert_eq!(container_orders(admin).len(), 1, "a preview places nothing");
    admin.ok(&["container", "resize", &uid.to_string(), "--memory", "1024"]);
    let orders = container_orders(admin);
    assert_eq!(orders.len(), 2, "{orders:?}");
    assert_eq!(orders[1]["recurring_price"], "17.36");
    assert_eq!(orders[1]["replaces"], orders[0]["id"]);
    let billed = admin.fails(&["container", "bill", &uid.to_string()]);
    assert!(billed.contains("already billed"), "{billed}");

    // Prices change for what is resized or created from now on.
    let raised = admin.json(&[
        "product",
        "edit",
        "Containers",
        "--resource-price",
        "30d=0.02,0.0005",
    ]);
    assert_eq!(
        raised["prices"][0]["price"], "2.00",
        "the base price is kept"
    );
    let plain = admin.json(&["product", "edit", "Containers", "--no-resource-prices"]);
    assert_eq!(plain["resource_prices"], serde_json::json!([]));
}

/// Products, a migrated customer's order, its bill, a payment and the balance, with CH VAT
/// (8.1 % in 2024, imported by `billing`).
fn products_orders_and_balance(admin: &Admin) {
    let product = admin.json(&[
        "product",
        "add",
        "Small VPS",
        "--description",
        "1 GB of memory",
        "--price",
        "30d=10.00",
        "--price",
        "365d=100.00",
    ]);
    assert_eq!(product["name"], "Small VPS");
    assert_eq!(product["one_time_price"], "0");
    assert_eq!(product["prices"][0]["period"], "30d");
    assert_eq!(product["prices"][0]["price"], "10.00");
    assert_eq!(product["prices"][1]["price"], "100.00");
    let id = product["id"].as_i64().expect("the product's id");
    let taken = admin.fails(&["product", "add", "Small VPS", "--price", "30d=1"]);
    assert!(
        taken.contains("a product named Small VPS exists"),
        "{taken}"
    );
    let cents = admin.fails(&["product", "add", "Odd", "--price", "30d=1.001"]);
    assert!(cents.contains("more than two decimals"), "{cents}");
    let period = admin.fails(&["product", "add", "Odd", "--price", "month=1"]);
    assert!(period.contains("period: must be one of"), "{period}");
    let syntax = admin.fails(&["product", "add", "Odd", "--price", "30d"]);
    assert!(syntax.contains("PERIOD=PRICE"), "{syntax}");
    admin.fails(&["product", "add", "Odd"]);
    let table = admin.ok(&["product", "list"]);
    assert!(table.contains("PRICES"), "{table}");
    assert!(
        table.contains("Small VPS") && table.contains("30d=10.00 365d=100.00"),
        "{table}"
    );

    admin.ok(&["product", "add", "Old VPS", "--price", "30d=5"]);
    let withdrawn = admin.json(&["product", "edit", "Old VPS", "--active", "false"]);
    assert_eq!(withdrawn["active"], false);
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .expect("a list")
            .iter()
            .map(|p| p["name"].as_str().expect("a name").to_owned())
            .collect()
    };
    assert_eq!(names(&admin.json(&["product", "list"])), ["Small VPS"]);
    assert_eq!(
        names(&admin.json(&["product", "list", "--all"])),
        ["Old VPS", "Small VPS"]
    );
    admin.fails(&["product", "edit", "Old VPS"]);
    admin.fails(&["product", "edit", "Old VPS", "--active", "maybe"]);
    assert!(admin
        .fails(&["product", "edit", "Nothing", "--active", "true"])
        .contains("no product Nothing"));

    let start = ["--period", "30d", "--start", "2024-03-01"];
    let no_address = admin.fails(&[&["order", "add", "kratos", "Small VPS"][..], &start].concat());
    assert!(
        no_address.contains("add a billing address before ordering"),
        "{no_address}"
    );
    set_billing_address(admin, "kratos");
    let ghost = admin.fails(&[&["order", "add", "ghost", "Small VPS"][..], &start].concat());
    assert!(ghost.contains("no customer ghost"), "{ghost}");
    let sold_out = admin.fails(&[&["order", "add", "kratos", "Old VPS"][..], &start].concat());
    assert!(sold_out.contains("no longer sold"), "{sold_out}");
    let unknown = admin.fails(&["order", "add", "kratos", "Small VPS", "--period", "month"]);
    assert!(unknown.contains("period: must be one of"), "{unknown}");
    let not_sold = admin.fails(&["order", "add", "kratos", "Small VPS", "--period", "week"]);
    assert!(
        not_sold.contains("this product is sold for 30d, 365d"),
        "{not_sold}"
    );
    let bad_day = admin.fails(&[
        "order",
        "add",
        "kratos",
        "Small VPS",
        "--period",
        "30d",
        "--start",
        "01.03.2024",
    ]);
    assert!(bad_day.contains("start"), "{bad_day}");

    // A preview places nothing; the order by id starts where staff said.
    let preview = admin.json(
        &[
            &["order", "add", "kratos", "Small VPS", "--preview"][..],
            &start,
        ]
        .concat(),
    );
    assert_eq!(preview["preview"], true);
    assert_eq!(preview["total"], "10.00");
    assert_eq!(
        admin.json(&["order", "list", "kratos"]),
        serde_json::json!([])
    );
    let placed = admin.json(&[&["order", "add", "kratos", &id.to_string()][..], &start].concat());
    assert_eq!(placed["preview"], false);
    assert_eq!(placed["order"]["starts_at"], 1_709_251_200);
    assert_eq!(placed["order"]["recurring_price"], "10.00");
    assert_eq!(placed["total"], "10.00");
    let order_id = placed["order"]["id"].as_i64().expect("the order's id");

    // Editing the product changes what is sold from now on, not the order placed.
    let edited = admin.json(&[
        "product",
        "edit",
        "Small VPS",
        "--price",
        "30d=12.00",
        "--one-time-price",
        "5",
        "--description",
        "2 GB of memory",
    ]);
    assert_eq!(
        edited["prices"],
        serde_json::json!([{"period": "30d", "price": "12.00"}])
    );
    assert_eq!(edited["one_time_price"], "5");
    assert_eq!(edited["description"], "2 GB of memory");
    let kept = admin.json(&["product", "edit", &id.to_string(), "--one-time-price", "0"]);
    assert_eq!(
        kept["prices"], edited["prices"],
        "--one-time-price keeps the periods"
    );
    assert!(admin
        .fails(&["product", "edit", "Small VPS", "--price", "30d=-1"])
        .contains("prices: must be an amount"));

    // March 1 to 30 is exactly one 30-day period: 10.00, plus 8.1 % CH VAT.
    let report = admin.json(&["bills", "generate", "--until", "2024-03-30"]);
    assert_eq!(report["bills"], 1);
    let bills = admin.json(&["bills", "list", "kratos"]);
    assert_eq!(bills.as_array().map(Vec::len), Some(1), "{bills}");
    assert_eq!(bills[0]["starts_at"], 1_709_251_200);
    assert_eq!(bills[0]["ends_at"], 1_711_843_199);
    assert_eq!(bills[0]["net"], "10.00");
    assert_eq!(bills[0]["vat"], "0.81");
    assert_eq!(bills[0]["gross"], "10.81");
    assert_eq!(bills[0]["records"][0]["order"], order_id);
    let table = admin.ok(&["bills", "list", "kratos"]);
    assert!(
        table.contains("GROSS")
            && table.contains("2024-03-01 00:00:00 UTC")
            && table.contains("10.81"),
        "{table}"
    );
    assert!(admin
        .fails(&["bills", "list", "ghost"])
        .contains("no customer ghost"));

    let payment = admin.json(&[
        "payment", "add", "kratos", "25", "--source", "wire", "--note", "March",
    ]);
    assert_eq!(payment["amount"], "25");
    assert_eq!(payment["source"], "wire");
    assert_eq!(payment["note"], "March");
    admin.ok(&["payment", "add", "kratos", "0.50", "--source", "voucher"]);
    let payments = admin.json(&["payment", "list", "kratos"]);
    assert_eq!(payments.as_array().map(Vec::len), Some(2));
    assert_eq!(payments[1]["amount"], "0.50");
    assert!(admin.ok(&["payment", "list", "kratos"]).contains("voucher"));
    let zero = admin.fails(&["payment", "add", "kratos", "0", "--source", "wire"]);
    assert!(zero.contains("amount: must be above 0"), "{zero}");
    let cents = admin.fails(&["payment", "add", "kratos", "1.001", "--source", "wire"]);
    assert!(
        cents.contains("amount: has more than two decimals"),
        "{cents}"
    );
    admin.fails(&["payment", "add", "kratos", "abc", "--source", "wire"]);
    admin.fails(&["payment", "add", "kratos", "1", "--source", " "]);
    assert!(admin
        .fails(&["payment", "add", "ghost", "1", "--source", "wire"])
        .contains("no customer ghost"));
    assert_eq!(
        admin
            .json(&["payment", "list", "kratos"])
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // 25.00 + 0.50 paid − 10.81 billed.
    let balance = admin.json(&["balance", "kratos"]);
    assert_eq!(balance["paid"], "25.50");
    assert_eq!(balance["billed"], "10.81");
    assert_eq!(balance["balance"], "14.69");
    assert!(admin.ok(&["balance", "kratos"]).contains("balance: 14.69"));
    assert!(admin
        .fails(&["balance", "ghost"])
        .contains("no customer ghost"));

    // An order that has not started yet, cancelled, ends before it starts.
    let later = admin.json(&[
        "order",
        "add",
        "kratos",
        "Small VPS",
        "--period",
        "30d",
        "--start",
        "2099-01-01",
    ]);
    assert_eq!(later["order"]["recurring_price"], "12.00");
    let later_id = later["order"]["id"]
        .as_i64()
        .expect("the order's id")
        .to_string();
    let cancelled = admin.json(&["order", "cancel", "kratos", &later_id]);
    assert_eq!(cancelled["ends_at"], 4_070_908_799_i64);
    let again = admin.fails(&["order", "cancel", "kratos", &later_id]);
    assert!(again.contains("already ends"), "{again}");
    assert!(admin
        .fails(&["order", "cancel", "kratos", "999999"])
        .contains("order not found"));
    let orders = admin.json(&["order", "list", "kratos"]);
    assert_eq!(orders[0]["recurring_price"], "10.00");
    assert_eq!(orders[0]["ends_at"], Value::Null);
    assert_eq!(orders[1]["ends_at"], 4_070_908_799_i64);
    let table = admin.ok(&["order", "list", "kratos"]);
    assert!(
        table.contains("Small VPS") && table.contains("2099-01-01 00:00:00 UTC"),
        "{table}"
    );
    assert_eq!(admin.json(&["balance", "kratos"])["balance"], "14.69");
}
