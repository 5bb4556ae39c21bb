//! The real uwsgi.it Python client, uwsgiit-py 0.10.0 from PyPI, unmodified, drives every
//! one of its methods against `berth up` (see `uwsgiit_py/drive.py`).
//!
//! The client is installed in a virtualenv under the cargo target directory on first run.
//! Domain proof runs against dnsmasq on loopback, which serves the TXT record
//! `uwsgi:<customer uuid>` on the parent name of the domain the client adds.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use berth_model::metrics::{ContainerMetric, DomainMetric};
use berth_store::metrics::{ContainerSample, DomainSample};
use serde_json::{json, Value};

const CLIENT: &str = "uwsgiit-py==0.10.0";
/// 2024-02-29 00:00:00 UTC, the day the harness records metrics for.
const METRICS_DAY: i64 = 1_709_164_800;
const PUBLIC_NEWS: &str = "Maintenance on Sunday";
const PRIVATE_NEWS: &str = "Customers only: new datacenter";
const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGUb4eYhVJ9hzdwCG4SuKzWBBaFoOnTXJvKm/ndtzvPA py@client";

/// The Debian interpreter (the one python3-venv serves), else whatever `python3` is.
fn system_python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn run(command: &mut Command) {
    let output = command.output().expect("command runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A virtualenv with the client, made once per target directory.
fn client_virtualenv() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("uwsgiit-py-0.10.0");
    let python = venv.join("bin/python");
    let installed = python.exists()
        && Command::new(&python)
            .args(["-c", "import uwsgiit.api"])
            .status()
            .is_ok_and(|status| status.success());
    if !installed {
        let _ = std::fs::remove_dir_all(&venv);
        run(Command::new(system_python())
            .args(["-m", "venv"])
            .arg(&venv));
        run(Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            CLIENT,
        ]));
    }
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_of_uwsgiit_py_works_against_berth_up() {
    let python = client_virtualenv();
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("berth-data");
    let dns_port = support::free_udp_port();
    let dns_address = format!("127.0.0.1:{dns_port}");
    let (_berth, banner) = support::start(&data, &["--dns-server", &dns_address]);
    let base = support::api_base(&banner);
    let credentials = support::credentials(&data);
    let user = credentials["customer_username"]
        .as_str()
        .expect("user")
        .to_owned();
    let password = credentials["customer_password"]
        .as_str()
        .expect("password")
        .to_owned();
    let container = credentials["container_uid"]
        .as_integer()
        .expect("container");

    let me: Value = reqwest::Client::new()
        .get(format!("{base}/api/me"))
        .basic_auth(&user, Some(&password))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("me JSON");
    let uuid = me["uuid"].as_str().expect("uuid");
    let _dns = support::dns_server(dns_port, &[("example.org", &format!("uwsgi:{uuid}"))]);

    let distro = support::admin(
        &data,
        &["distro", "add", "bookworm", "--path", "/distros/bookworm"],
    );
    let metrics_domain = support::admin(
        &data,
        &["domain", "add", "metrics.example.net", "--customer", &user],
    );
    support::admin(&data, &["news", "add", PUBLIC_NEWS, "--public"]);
    support::admin(&data, &["news", "add", PRIVATE_NEWS]);

    let store = berth_store::Store::open(&berth_store::sqlite_url(&data))
        .await
        .expect("the running platform's store");
    let cpu = [[METRICS_DAY + 300, 1_000], [METRICS_DAY + 600, 2_500]];
    store
        .record_container_samples(&cpu.map(|[unix, value]| ContainerSample {
            uid: container,
            metric: ContainerMetric::Cpu,
            unix,
            value,
        }))
        .await
        .expect("cpu samples");
    store
        .record_domain_samples(&[DomainSample {
            domain: "metrics.example.net".into(),
            uid: container,
            metric: DomainMetric::Hits,
            unix: METRICS_DAY + 300,
            value: 17,
        }])
        .await
        .expect("hit samples");
    store.close().await;

    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/uwsgiit_py/drive.py"
            ))
            .env("BERTH_URL", format!("{base}/api/"))
            .env("BERTH_USER", user)
            .env("BERTH_PASSWORD", password)
            .env("BERTH_CONTAINER", container.to_string())
            .env("BERTH_DISTRO", distro["id"].to_string())
            .env("BERTH_PROVED_DOMAIN", "www.example.org")
            .env("BERTH_UNPROVED_DOMAIN", "www.unproved.example")
            .env("BERTH_METRICS_DOMAIN", metrics_domain["id"].to_string())
            .env(
                "BERTH_METRICS_DAY",
                json!({"year": 2024, "month": 2, "day": 29}).to_string(),
            )
            .env("BERTH_EXPECTED_CPU", json!(cpu).to_string())
            .env(
                "BERTH_EXPECTED_HITS",
                json!([{"container": container, "metrics": [[METRICS_DAY + 300, 17]]}]).to_string(),
            )
            .env("BERTH_PUBLIC_NEWS", PUBLIC_NEWS)
            .env("BERTH_PRIVATE_NEWS", PRIVATE_NEWS)
            .env("BERTH_SSH_KEY", SSH_KEY)
            .output()
    })
    .await
    .expect("driver thread")
    .expect("the driver runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "uwsgiit-py driver failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("all 33 methods of uwsgiit-py driven"),
        "{stdout}"
    );
}
