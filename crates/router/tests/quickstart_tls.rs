//! The customer quickstart's HTTPS sentences against real uWSGI vassals, with certificates
//! made by the quickstart's own openssl commands: client certificates signed by the
//! customer's CA (X.509 v1 on OpenSSL 3), switching a running domain from `ssl-domain` to
//! `ssl-ca-domain`, and a renewed certificate.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_router::{HttpsConfig, RouterConfig};
use support::*;

/// The quickstart's CA: `openssl genrsa -des3 -out ca.key 4096` and `openssl req -new -x509
/// -days 365 -key ca.key -out ca.crt` (the passphrase and subject given on the command line
/// instead of the terminal).
fn quickstart_ca(dir: &Path, stem: &str) {
    let (key, crt) = (format!("{stem}.key"), format!("{stem}.crt"));
    openssl(
        dir,
        &[
            "genrsa",
            "-des3",
            "-passout",
            "pass:secret",
            "-out",
            &key,
            "4096",
        ],
    );
    let subject = format!("/O=Customer/CN={stem}");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-days",
            "365",
            "-key",
            &key,
            "-passin",
            "pass:secret",
            "-out",
            &crt,
            "-subj",
            &subject,
        ],
    );
}

/// A client key and CSR (`openssl genrsa -out foobar.key 2048`, `openssl req -new -key
/// foobar.key -out foobar.csr`) signed as the quickstart says: `openssl x509 -req -days 365
/// -in foobar.csr -CA ca.crt -CAkey ca.key -set_serial 01 -out foobar.crt`. `days` -1 makes
/// it expired. The files stay in `dir` for [`curl`].
fn quickstart_client(dir: &Path, stem: &str, ca: &str, days: &str, subject: &str) {
    let (key, csr, crt) = (
        format!("{stem}.key"),
        format!("{stem}.csr"),
        format!("{stem}.crt"),
    );
    openssl(dir, &["genrsa", "-out", &key, "2048"]);
    openssl(
        dir,
        &["req", "-new", "-key", &key, "-out", &csr, "-subj", subject],
    );
    let (ca_crt, ca_key) = (format!("{ca}.crt"), format!("{ca}.key"));
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-days",
            days,
            "-in",
            &csr,
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-passin",
            "pass:secret",
            "-set_serial",
            "01",
            "-out",
            &crt,
        ],
    );
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in", &crt])
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("Version: 1 (0x0)"),
        "the quickstart's command makes an X.509 v1 certificate"
    );
}

/// A router with HTTPS and a unix subscription socket in `dir`, and a test CA for servers.
async fn tls_router(dir: &Path, ca: &TestCa) -> TestRouter {
    let (cert, key) = ca.server(dir, "default", &["default.test"]);
    ca.write_ca(&dir.join("servers.crt"));
    start_router(RouterConfig {
        https: Some(HttpsConfig {
            addr: any_port(),
            cert,
            key,
        }),
        subscription_unix: Some(dir.join("subscribe.sock")),
        ..RouterConfig::default()
    })
    .await
}

/// GET `https://name/` through the router without a client certificate, trusting `ca`:
/// the body, or the error.
async fn https_get(router: &TestRouter, ca: &TestCa, name: &str) -> Result<String, reqwest::Error> {
    let https = router.addrs.https.expect("https");
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert.pem().as_bytes()).expect("ca"))
        .resolve(name, https)
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let resp = client
        .get(format!("https://{name}:{}/", https.port()))
        .send()
        .await?;
    resp.error_for_status()?.text().await
}

/// GET `https://name/` through the router with curl, as a visitor presenting the client
/// certificate `<stem>.crt` / `<stem>.key` of `dir` (rustls clients refuse to send X.509 v1
/// certificates), trusting `servers.crt`: the body, or `None` when refused.
async fn curl(router: &TestRouter, dir: &Path, name: &str, stem: &str) -> Option<String> {
    let port = router.addrs.https.expect("https").port();
    let mut cmd = Command::new("curl");
    cmd.args([
        "--silent",
        "--fail",
        "--max-time",
        "10",
        "--cacert",
        "servers.crt",
    ])
    .args([
        "--cert",
        &format!("{stem}.crt"),
        "--key",
        &format!("{stem}.key"),
    ])
    .args(["--resolve", &format!("{name}:{port}:127.0.0.1")])
    .arg(format!("https://{name}:{port}/"))
    .current_dir(dir)
    .stdin(Stdio::null())
    .stderr(Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("curl task")
        .expect("curl runs (scripts/debian-packages.txt)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Wait until the router has TLS settings for `key` (a mandatory-CA domain answers 403 over
/// plain HTTP, so the app cannot be waited for there).
async fn wait_for_sni(router: &TestRouter, key: &str) {
    eventually("the SNI subscription", Duration::from_secs(20), || async {
        let stats = router.stats().await;
        stats["subscriptions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["key"] == key && s["sni_enabled"] == true)
            .then_some(())
    })
    .await;
}

fn sni(dir: &Path, stem: &str, ca: Option<&str>) -> String {
    let path = |f: String| dir.join(f).display().to_string();
    let mut value = format!(
        "sni_key={},sni_crt={}",
        path(format!("{stem}.key")),
        path(format!("{stem}.crt"))
    );
    if let Some(ca) = ca {
        value.push_str(&format!(",sni_ca=!{}", path(format!("{ca}.crt"))));
    }
    value
}

fn subscribe(dir: &Path, key: &str, extra: &str) -> String {
    format!(
        "server={},key={key},{extra}",
        dir.join("subscribe.sock").display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstarts_v1_client_certificates_are_verified_against_the_domains_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let servers = TestCa::new("server CA");
    servers.server(d, "site", &["mynewdomain.test"]);
    quickstart_ca(d, "ca");
    quickstart_ca(d, "otherca");
    quickstart_client(d, "foobar", "ca", "365", "/C=IT/O=Unbit/CN=client1");
    quickstart_client(d, "mallory", "otherca", "365", "/CN=mallory");
    quickstart_client(d, "old", "ca", "-1", "/CN=old");
    let router = tls_router(d, &servers).await;
    let apps = Apps::new();
    let _v = Vassal::start(
        &apps,
        Lang::Python,
        "secure",
        &[
            "--subscribe2",
            &subscribe(d, "mynewdomain.test", &sni(d, "site", Some("ca"))),
        ],
    );
    wait_for_sni(&router, "mynewdomain.test").await;
    let body = curl(&router, d, "mynewdomain.test", "foobar")
        .await
        .expect("the v1 certificate signed by the domain's CA is accepted");
    assert_eq!(
        body.split('|').take(2).collect::<Vec<_>>(),
        ["secure", "/C=IT/O=Unbit/CN=client1"],
        "HTTPS_DN: {body}"
    );
    assert_eq!(
        curl(&router, d, "mynewdomain.test", "mallory").await,
        None,
        "a v1 certificate of another CA is refused"
    );
    assert_eq!(
        curl(&router, d, "mynewdomain.test", "old").await,
        None,
        "an expired v1 certificate is refused"
    );
    assert!(
        https_get(&router, &servers, "mynewdomain.test")
            .await
            .is_err(),
        "'!': no certificate, no access"
    );
}

/// Wait until `count` more subscriptions were accepted: every vassal announced again.
async fn announces(router: &TestRouter, count: u64) {
    let accepted = |s: serde_json::Value| s["subscriptions_accepted"].as_u64().unwrap_or(0);
    let start = accepted(router.stats().await);
    eventually("more announces", Duration::from_secs(20), || async {
        (accepted(router.stats().await) >= start + count).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_a_running_domain_to_ssl_ca_domain_takes_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let servers = TestCa::new("server CA");
    servers.server(d, "site", &["switch.test"]);
    quickstart_ca(d, "ca");
    quickstart_client(d, "foobar", "ca", "365", "/CN=client1");
    let router = tls_router(d, &servers).await;
    let apps = Apps::new();
    let every_second = ["--subscribe-freq", "1"];
    let plain = subscribe(d, "switch.test", &sni(d, "site", None));
    let _steady = Vassal::start(
        &apps,
        Lang::Python,
        "steady",
        &[&every_second[..], &["--subscribe2", &plain]].concat(),
    );
    let mut changing = Vassal::start(
        &apps,
        Lang::Python,
        "changing",
        &[&every_second[..], &["--subscribe2", &plain]].concat(),
    );
    wait_for_app(&router, "switch.test", "steady").await;
    wait_for_app(&router, "switch.test", "changing").await;
    eventually("ssl-domain over HTTPS", Duration::from_secs(10), || async {
        https_get(&router, &servers, "switch.test").await.ok()
    })
    .await;

    // The vassal is restarted as ssl-ca-domain, while the other one stays subscribed.
    changing.stop_gracefully();
    let with_ca = subscribe(d, "switch.test", &sni(d, "site", Some("ca")));
    let _changed = Vassal::start(
        &apps,
        Lang::Python,
        "changed",
        &[&every_second[..], &["--subscribe2", &with_ca]].concat(),
    );
    eventually(
        "the client CA to be required",
        Duration::from_secs(20),
        || async {
            https_get(&router, &servers, "switch.test")
                .await
                .is_err()
                .then_some(())
        },
    )
    .await;
    // The steady vassal keeps announcing its old material: it does not take it back.
    announces(&router, 6).await;
    assert!(https_get(&router, &servers, "switch.test").await.is_err());
    let body = curl(&router, d, "switch.test", "foobar")
        .await
        .expect("a client certificate of the CA is accepted");
    assert_eq!(body.split('|').nth(1), Some("/CN=client1"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_is_served_without_resubscribing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let old_ca = TestCa::new("old CA");
    let new_ca = TestCa::new("new CA");
    old_ca.server(d, "renew", &["renew.test"]);
    let router = tls_router(d, &old_ca).await;
    let apps = Apps::new();
    let _v = Vassal::start(
        &apps,
        Lang::Python,
        "renew",
        &[
            "--subscribe-freq",
            "1",
            "--subscribe2",
            &subscribe(d, "renew.test", &sni(d, "renew", None)),
        ],
    );
    wait_for_app(&router, "renew.test", "renew").await;
    eventually("the first certificate", Duration::from_secs(10), || async {
        https_get(&router, &old_ca, "renew.test").await.ok()
    })
    .await;
    assert!(https_get(&router, &new_ca, "renew.test").await.is_err());

    // Renewed in place: the same paths, new contents; the vassal keeps running.
    let staging = tempfile::tempdir().expect("tempdir");
    let (crt, key) = new_ca.server(staging.path(), "renew", &["renew.test"]);
    std::fs::copy(&key, d.join("renew.key")).expect("new key");
    std::fs::copy(&crt, d.join("renew.crt")).expect("new certificate");
    let body = eventually(
        "the renewed certificate",
        Duration::from_secs(20),
        || async { https_get(&router, &new_ca, "renew.test").await.ok() },
    )
    .await;
    assert!(body.starts_with("renew|"), "{body}");
    assert!(https_get(&router, &old_ca, "renew.test").await.is_err());
}
