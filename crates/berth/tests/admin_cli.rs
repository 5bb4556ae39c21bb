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

/// `berth admin vat` and `berth admin bills` on a real vat-rates sample.
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
}
