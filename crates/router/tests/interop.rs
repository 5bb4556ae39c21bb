//! Interop tests against real uWSGI vassals from Debian (uwsgi-core and the python3, psgi
//! and rack plugins): subscriptions, balancing, expiry, wildcards, signing, SNI and client
//! certificates, all on loopback with ephemeral ports.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use berth_router::{HttpsConfig, RouterConfig, Timeouts};
use support::*;

fn sub2(server: &str, key: &str, extra: &str) -> String {
    if extra.is_empty() {
        format!("server={server},key={key}")
    } else {
        format!("server={server},key={key},{extra}")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_perl_and_ruby_vassals_share_a_domain_in_rotation() {
    let router = start_router(RouterConfig::default()).await;
    let apps = Apps::new();
    let udp = router.udp();
    let _py = Vassal::start(
        &apps,
        Lang::Python,
        "py",
        &["--subscribe2", &sub2(&udp, "rot.test", "")],
    );
    let _pl = Vassal::start(
        &apps,
        Lang::Perl,
        "pl",
        &["--subscribe2", &sub2(&udp, "rot.test", "modifier1=5")],
    );
    let _rb = Vassal::start(
        &apps,
        Lang::Ruby,
        "rb",
        &["--subscribe2", &sub2(&udp, "rot.test", "modifier1=7")],
    );
    eventually(
        "three nodes for rot.test",
        Duration::from_secs(20),
        || async { (router.nodes("rot.test").await.len() == 3).then_some(()) },
    )
    .await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for i in 0..30 {
        let (status, body) = router.get("rot.test", &format!("/n{i}")).await;
        assert_eq!(status, 200, "request {i}: {body}");
        let mut fields = body.split('|');
        let name = fields.next().unwrap_or_default().to_owned();
        fields.next();
        assert_eq!(
            fields.next(),
            Some(format!("/n{i}").as_str()),
            "PATH_INFO reached the app"
        );
        *seen.entry(name).or_default() += 1;
    }
    assert_eq!(seen.get("py"), Some(&10), "{seen:?}");
    assert_eq!(seen.get("pl"), Some(&10), "{seen:?}");
    assert_eq!(seen.get("rb"), Some(&10), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_share_requests_proportionally() {
    let router = start_router(RouterConfig::default()).await;
    let apps = Apps::new();
    let udp = router.udp();
    let _a = Vassal::start(
        &apps,
        Lang::Python,
        "one",
        &["--subscribe2", &sub2(&udp, "w.test", "weight=1")],
    );
    let _b = Vassal::start(
        &apps,
        Lang::Python,
        "two",
        &["--subscribe2", &sub2(&udp, "w.test", "weight=2")],
    );
    eventually("two nodes for w.test", Duration::from_secs(20), || async {
        (router.nodes("w.test").await.len() == 2).then_some(())
    })
    .await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for _ in 0..30 {
        let (_, body) = router.get("w.test", "/").await;
        *seen
            .entry(body.split('|').next().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    assert_eq!(
        (seen.get("one"), seen.get("two")),
        (Some(&10), Some(&20)),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_unsubscribes_at_once() {
    // The tolerance is long, so only the unsubscribe packet can explain a quick 404.
    let router = start_router(RouterConfig::default()).await;
    let apps = Apps::new();
    let mut v = Vassal::start(
        &apps,
        Lang::Python,
        "bye",
        &["--subscribe2", &sub2(&router.udp(), "bye.test", "")],
    );
    wait_for_app(&router, "bye.test", "bye").await;
    v.stop_gracefully();
    eventually("bye.test to be gone", Duration::from_secs(5), || async {
        router.nodes("bye.test").await.is_empty().then_some(())
    })
    .await;
    let (status, body) = router.get("bye.test", "/").await;
    assert_eq!(status, 404);
    assert!(
        body.contains("bye.test"),
        "the 404 page names the host: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_vassal_expires_by_timer() {
    let config = RouterConfig {
        timeouts: Timeouts {
            subscription_tolerance: Duration::from_secs(2),
            ..Timeouts::default()
        },
        ..RouterConfig::default()
    };
    let router = start_router(config).await;
    let apps = Apps::new();
    let mut v = Vassal::start(
        &apps,
        Lang::Python,
        "kill",
        &[
            "--subscribe-freq",
            "1",
            "--subscribe2",
            &sub2(&router.udp(), "kill.test", ""),
        ],
    );
    wait_for_app(&router, "kill.test", "kill").await;
    // Still announced after twice the tolerance while alive.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        router.nodes("kill.test").await.len(),
        1,
        "a live vassal stays subscribed"
    );
    v.kill();
    // No request looks the key up: only the expiry timer can drop it.
    eventually("kill.test to expire", Duration::from_secs(8), || async {
        router.nodes("kill.test").await.is_empty().then_some(())
    })
    .await;
    assert_eq!(router.get("kill.test", "/").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcards_exact_names_case_and_ports() {
    let router = start_router(RouterConfig::default()).await;
    let apps = Apps::new();
    let udp = router.udp();
    let _w = Vassal::start(
        &apps,
        Lang::Python,
        "wild",
        &["--subscribe2", &sub2(&udp, ".wild.test", "")],
    );
    let _e = Vassal::start(
        &apps,
        Lang::Perl,
        "exact",
        &[
            "--subscribe2",
            &sub2(&udp, "exact.wild.test", "modifier1=5"),
        ],
    );
    wait_for_app(&router, "a.b.wild.test", "wild").await;
    wait_for_app(&router, "exact.wild.test", "exact").await;
    assert!(router.get("x.wild.test", "/").await.1.starts_with("wild|"));
    assert!(router
        .get("Deep.Exact.Wild.Test:8080", "/")
        .await
        .1
        .starts_with("wild|"));
    assert!(router
        .get("EXACT.wild.test:8080", "/")
        .await
        .1
        .starts_with("exact|"));
    assert_eq!(
        router.get("wild.test", "/").await.0,
        404,
        "the apex is not the wildcard"
    );
    assert_eq!(
        router.get("a.b.c.d.e.wild.test", "/").await.0,
        404,
        "at most 5 dotsplit names"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_node_is_skipped_and_the_request_retried() {
    let router = start_router(RouterConfig::default()).await;
    let apps = Apps::new();
    let udp = router.udp();
    let _live = Vassal::start(
        &apps,
        Lang::Python,
        "live",
        &["--subscribe2", &sub2(&udp, "retry.test", "")],
    );
    wait_for_app(&router, "retry.test", "live").await;
    // A node nobody listens on, announced by hand.
    let packet = berth_wire::Subscription::new("retry.test", "127.0.0.1:1")
        .encode()
        .expect("packet");
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    sock.send_to(&packet, &udp).expect("send");
    eventually("two nodes", Duration::from_secs(5), || async {
        (router.nodes("retry.test").await.len() == 2).then_some(())
    })
    .await;
    for _ in 0..6 {
        let (status, body) = router.get("retry.test", "/").await;
        assert_eq!((status, body.split('|').next()), (200, Some("live")));
    }
    let stats = router.stats().await;
    let dead = stats["subscriptions"][0]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["name"] == "127.0.0.1:1")
        .cloned()
        .expect("dead node listed");
    assert_eq!(dead["death_mark"], true);
    assert_eq!(dead["failcnt"], 1, "marked dead once, then skipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_reach_the_app() {
    let router = start_router(RouterConfig::default()).await;
    let apps = Apps::new();
    let _v = Vassal::start(
        &apps,
        Lang::Python,
        "post",
        &["--subscribe2", &sub2(&router.udp(), "post.test", "")],
    );
    wait_for_app(&router, "post.test", "post").await;
    let body = "x".repeat(200_000);
    let resp = client()
        .post(format!("http://{}/up", router.addrs.http.expect("http")))
        .header("Host", "post.test")
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("text");
    assert_eq!(text, format!("post||/up|{body}"));
}

// ---- signed subscriptions -------------------------------------------------------------

struct Keys {
    dir: tempfile::TempDir,
}

impl Keys {
    /// `good.pem` (whose public half is `keys/<domain>.pem`) and `evil.pem`, made by openssl.
    fn new(domains: &[&str]) -> Keys {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("keys")).expect("mkdir");
        openssl(dir.path(), &["genrsa", "-out", "good.pem", "2048"]);
        openssl(dir.path(), &["genrsa", "-out", "evil.pem", "2048"]);
        for d in domains {
            openssl(
                dir.path(),
                &[
                    "rsa",
                    "-pubout",
                    "-in",
                    "good.pem",
                    "-out",
                    &format!("keys/{d}.pem"),
                ],
            );
        }
        Keys { dir }
    }

    fn sign(&self, which: &str) -> String {
        format!("sign=SHA1:{}", self.dir.path().join(which).display())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_subscriptions_are_checked_against_the_domain_key() {
    let keys = Keys::new(&["signed.test"]);
    let router = start_router(RouterConfig {
        sign_check_dir: Some(keys.dir.path().join("keys")),
        ..RouterConfig::default()
    })
    .await;
    let apps = Apps::new();
    let udp = router.udp();
    let _good = Vassal::start(
        &apps,
        Lang::Python,
        "good",
        &[
            "--subscribe2",
            &sub2(&udp, "signed.test", &keys.sign("good.pem")),
        ],
    );
    wait_for_app(&router, "signed.test", "good").await;

    let refused_before = router.refused().await;
    let _evil = Vassal::start(
        &apps,
        Lang::Python,
        "evil",
        &[
            "--subscribe2",
            &sub2(&udp, "signed.test", &keys.sign("evil.pem")),
        ],
    );
    let _unsigned = Vassal::start(
        &apps,
        Lang::Python,
        "unsigned",
        &["--subscribe2", &sub2(&udp, "signed.test", "")],
    );
    let _nokey = Vassal::start(
        &apps,
        Lang::Python,
        "nokey",
        &[
            "--subscribe2",
            &sub2(&udp, "other.test", &keys.sign("good.pem")),
        ],
    );
    eventually("three packets refused", Duration::from_secs(20), || async {
        (router.refused().await >= refused_before + 3).then_some(())
    })
    .await;
    assert_eq!(
        router.nodes("signed.test").await.len(),
        1,
        "only the rightly signed node"
    );
    assert!(
        router.nodes("other.test").await.is_empty(),
        "a key without a .pem is refused"
    );
    for _ in 0..4 {
        assert!(router.get("signed.test", "/").await.1.starts_with("good|"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_tampered_packets_from_real_uwsgi_are_refused() {
    let keys = Keys::new(&["replay.test"]);
    let router = start_router(RouterConfig {
        sign_check_dir: Some(keys.dir.path().join("keys")),
        ..RouterConfig::default()
    })
    .await;
    // The vassal subscribes to a tap, so the test holds its real signed packets.
    let tap = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("tap");
    let tap_addr = tap.local_addr().expect("tap addr").to_string();
    let apps = Apps::new();
    let _v = Vassal::start(
        &apps,
        Lang::Python,
        "tapped",
        &[
            "--subscribe2",
            &sub2(&tap_addr, "replay.test", &keys.sign("good.pem")),
        ],
    );
    let mut buf = vec![0u8; 65536];
    let n = tokio::time::timeout(Duration::from_secs(20), tap.recv(&mut buf))
        .await
        .expect("the vassal announces itself")
        .expect("recv");
    let packet = buf[..n].to_vec();
    let parsed = berth_wire::Subscription::parse(&packet).expect("uWSGI's packet parses");
    assert!(parsed.signature.is_some() && parsed.unix.is_some());

    let to_router = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let send = |bytes: &[u8]| {
        to_router.send_to(bytes, router.udp()).expect("send");
    };
    send(&packet);
    wait_for_app(&router, "replay.test", "tapped").await;
    let refused = router.refused().await;

    send(&packet);
    eventually(
        "the replay to be refused",
        Duration::from_secs(5),
        || async { (router.refused().await == refused + 1).then_some(()) },
    )
    .await;

    // Same signature, another address: the signed bytes changed.
    let mut tampered = parsed.clone();
    tampered.address = "127.0.0.1:2".into();
    let mut bytes = tampered.encode().expect("encode");
    let sig = parsed.signature.as_ref().expect("sig");
    let mut vars = berth_wire::VarsBuilder::new();
    vars.push(b"unix", parsed.unix.expect("unix").to_string().as_bytes())
        .and_then(|v| v.push(b"sign", &sig.signature))
        .expect("vars");
    bytes.extend_from_slice(vars.as_bytes());
    let len = u16::try_from(bytes.len() - 4).expect("fits");
    bytes[1..3].copy_from_slice(&len.to_le_bytes());
    send(&bytes);
    eventually(
        "the tampered packet to be refused",
        Duration::from_secs(5),
        || async { (router.refused().await == refused + 2).then_some(()) },
    )
    .await;
    assert_eq!(router.nodes("replay.test").await.len(), 1);
}

// ---- TLS ------------------------------------------------------------------------------

struct Tls {
    dir: tempfile::TempDir,
    ca: TestCa,
}

impl Tls {
    fn new() -> Tls {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = TestCa::new("berth test CA");
        ca.write_ca(&dir.path().join("ca.crt"));
        ca.server(dir.path(), "default", &["default.test"]);
        Tls { dir, ca }
    }

    fn https(&self) -> HttpsConfig {
        HttpsConfig {
            addr: any_port(),
            cert: self.dir.path().join("default.crt"),
            key: self.dir.path().join("default.key"),
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// A client that trusts only the test CA and resolves `names` to the router.
    fn client(
        &self,
        router: &TestRouter,
        names: &[&str],
        identity: Option<&str>,
    ) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca.cert.pem().as_bytes()).expect("ca");
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(10));
        for n in names {
            b = b.resolve(n, router.addrs.https.expect("https"));
        }
        if let Some(id) = identity {
            b = b.identity(reqwest::Identity::from_pem(id.as_bytes()).expect("identity"));
        }
        b.build().expect("client")
    }
}

async fn https_get(
    client: &reqwest::Client,
    router: &TestRouter,
    host: &str,
) -> Result<(u16, String), reqwest::Error> {
    let port = router.addrs.https.expect("https").port();
    let resp = client.get(format!("https://{host}:{port}/")).send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await?))
}

fn unix_router_config(tls: &Tls) -> RouterConfig {
    RouterConfig {
        https: Some(tls.https()),
        subscription_unix: Some(tls.dir.path().join("subscribe.sock")),
        ..RouterConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_serves_each_domain_its_own_certificate() {
    let tls = Tls::new();
    tls.ca.server(tls.dir.path(), "a", &["a.test"]);
    tls.ca.server(tls.dir.path(), "b", &["b.test"]);
    let router = start_router(unix_router_config(&tls)).await;
    let sock = tls.path("subscribe.sock");
    let apps = Apps::new();
    let sni = |d: &str| {
        format!(
            "sni_key={},sni_crt={}",
            tls.path(&format!("{d}.key")),
            tls.path(&format!("{d}.crt"))
        )
    };
    let _a = Vassal::start(
        &apps,
        Lang::Python,
        "appa",
        &["--subscribe2", &sub2(&sock, "a.test", &sni("a"))],
    );
    let _b = Vassal::start(
        &apps,
        Lang::Ruby,
        "appb",
        &[
            "--subscribe2",
            &sub2(&sock, "b.test", &format!("modifier1=7,{}", sni("b"))),
        ],
    );
    wait_for_app(&router, "a.test", "appa").await;
    wait_for_app(&router, "b.test", "appb").await;
    let client = tls.client(&router, &["a.test", "b.test", "c.test"], None);
    let (status, body) = eventually("a.test over TLS", Duration::from_secs(10), || async {
        https_get(&client, &router, "a.test").await.ok()
    })
    .await;
    assert_eq!(status, 200);
    assert!(body.starts_with("appa|"), "{body}");
    let (status, body) = https_get(&client, &router, "b.test")
        .await
        .expect("b.test verifies");
    assert_eq!(status, 200);
    assert!(body.starts_with("appb|"), "{body}");
    // No subscription for c.test: the default certificate (default.test) is served and
    // does not verify for c.test.
    assert!(https_get(&client, &router, "c.test").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mandatory_client_certificate_is_enforced_and_its_dn_passed_on() {
    let tls = Tls::new();
    tls.ca.server(tls.dir.path(), "sec", &["sec.test"]);
    let client_ca = TestCa::new("berth client CA");
    client_ca.write_ca(&tls.dir.path().join("clients.crt"));
    let router = start_router(unix_router_config(&tls)).await;
    let apps = Apps::new();
    let extra = format!(
        "sni_key={},sni_crt={},sni_ca=!{}",
        tls.path("sec.key"),
        tls.path("sec.crt"),
        tls.path("clients.crt")
    );
    let _v = Vassal::start(
        &apps,
        Lang::Perl,
        "secure",
        &[
            "--subscribe2",
            &sub2(
                &tls.path("subscribe.sock"),
                "sec.test",
                &format!("modifier1=5,{extra}"),
            ),
        ],
    );
    eventually(
        "sec.test subscribed with its certificate",
        Duration::from_secs(20),
        || async {
            let stats = router.stats().await;
            stats["subscriptions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["key"] == "sec.test" && s["sni_enabled"] == true)
                .then_some(())
        },
    )
    .await;
    let anonymous = tls.client(&router, &["sec.test"], None);
    assert!(
        https_get(&anonymous, &router, "sec.test").await.is_err(),
        "no certificate, no handshake"
    );
    let stranger = TestCa::new("someone else").client_identity("mallory");
    let foreign = tls.client(&router, &["sec.test"], Some(&stranger));
    assert!(
        https_get(&foreign, &router, "sec.test").await.is_err(),
        "a certificate from another CA is refused"
    );
    let id = client_ca.client_identity("client1");
    let with_cert = tls.client(&router, &["sec.test"], Some(&id));
    let (status, body) = https_get(&with_cert, &router, "sec.test")
        .await
        .expect("accepted with a certificate");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body.split('|').nth(1),
        Some("/O=Berth/CN=client1"),
        "{body}"
    );
    // Plain HTTP must not bypass the certificate.
    assert_eq!(router.get("sec.test", "/").await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_cannot_make_the_router_read_another_users_files() {
    if !nix::unistd::getuid().is_root() {
        eprintln!("needs root to run a vassal as another user; CI runs as root");
        return;
    }
    let tls = Tls::new();
    tls.ca.server(tls.dir.path(), "mine", &["mine.test"]);
    tls.ca.server(tls.dir.path(), "theirs", &["theirs.test"]);
    let nobody = 65534;
    for f in ["mine.crt", "mine.key"] {
        std::os::unix::fs::chown(tls.dir.path().join(f), Some(nobody), Some(nobody))
            .expect("chown");
    }
    // The vassal runs as nobody and needs to traverse the temp dirs.
    std::fs::set_permissions(
        tls.dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let router = start_router(unix_router_config(&tls)).await;
    let apps = Apps::new();
    std::fs::set_permissions(
        apps.dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let sock = tls.path("subscribe.sock");
    let sni = |d: &str| {
        format!(
            "sni_key={},sni_crt={}",
            tls.path(&format!("{d}.key")),
            tls.path(&format!("{d}.crt"))
        )
    };
    let as_nobody = ["--uid", "65534", "--gid", "65534"];
    let mine = sub2(&sock, "mine.test", &sni("mine"));
    let theirs = sub2(&sock, "theirs.test", &sni("theirs"));
    let _m = Vassal::start(
        &apps,
        Lang::Python,
        "mine",
        &[&as_nobody[..], &["--subscribe2", &mine]].concat(),
    );
    let _t = Vassal::start(
        &apps,
        Lang::Python,
        "theirs",
        &[&as_nobody[..], &["--subscribe2", &theirs]].concat(),
    );
    wait_for_app(&router, "mine.test", "mine").await;
    wait_for_app(&router, "theirs.test", "theirs").await;
    let client = tls.client(&router, &["mine.test", "theirs.test"], None);
    let (status, _) = eventually("mine.test over TLS", Duration::from_secs(10), || async {
        https_get(&client, &router, "mine.test").await.ok()
    })
    .await;
    assert_eq!(status, 200, "files the sender owns are used");
    assert!(
        https_get(&client, &router, "theirs.test").await.is_err(),
        "root's key files were not read for a nobody sender: the default certificate is served"
    );
}

// ---- streaming: chunked bodies and websockets -----------------------------------------

async fn raw_exchange(router: &TestRouter, request: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(router.addrs.http.expect("http"))
        .await
        .expect("connect");
    s.write_all(request).await.expect("write");
    s
}

async fn read_until(s: &mut tokio::net::TcpStream, needle: &[u8]) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(needle.len()).any(|w| w == needle) {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("answer in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before {:?}: {}",
            String::from_utf8_lossy(needle),
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_request_bodies_are_streamed_to_the_app() {
    let router = start_router(RouterConfig::default()).await;
    let apps = Apps::new();
    let _v = Vassal::start(
        &apps,
        Lang::Python,
        "chunk",
        &["--subscribe2", &sub2(&router.udp(), "chunk.test", "")],
    );
    wait_for_app(&router, "chunk.test", "chunk").await;
    let mut s = raw_exchange(
        &router,
        b"POST /c HTTP/1.1\r\nHost: chunk.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    )
    .await;
    // The second chunk goes out only after the first is on its way.
    tokio::time::sleep(Duration::from_millis(200)).await;
    use tokio::io::AsyncWriteExt;
    s.write_all(b"6\r\n world\r\n0\r\n\r\n")
        .await
        .expect("write");
    let answer = read_until(&mut s, b"hello world").await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("chunk||/c|hello world"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_pass_through() {
    let router = start_router(RouterConfig::default()).await;
    let apps = Apps::new();
    let _v = Vassal::start(
        &apps,
        Lang::Python,
        "ws",
        &["--subscribe2", &sub2(&router.udp(), "ws.test", "")],
    );
    wait_for_app(&router, "ws.test", "ws").await;
    let mut s = raw_exchange(
        &router,
        b"GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    let head = read_until(&mut s, b"\r\n\r\n").await;
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains("s3pplmbitxaq9kygzzhzrbk+xoo="),
        "the app's accept key: {head}"
    );
    // A masked text frame "hi".
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | 2];
    frame.extend_from_slice(&mask);
    frame.extend(b"hi".iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    use tokio::io::AsyncWriteExt;
    s.write_all(&frame).await.expect("frame");
    let reply = read_until(&mut s, b"echo:hi").await;
    assert_eq!(reply[0], 0x81, "a text frame back");
}

// ---- domain keys from the control plane -----------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_keys_come_from_the_control_plane() {
    let keys = Keys::new(&["api.test"]);
    let pem = std::fs::read_to_string(keys.dir.path().join("keys/api.test.pem")).expect("pem");
    let (api, polls) = control_plane_stub(vec![("api.test".to_owned(), pem)]).await;
    let router = start_router(RouterConfig {
        control_plane: Some(berth_router::ControlPlane {
            url: format!("http://{api}"),
            token: "s3cret".into(),
        }),
        ..RouterConfig::default()
    })
    .await;
    eventually(
        "the router to poll the control plane",
        Duration::from_secs(5),
        || async { (polls.load(std::sync::atomic::Ordering::Relaxed) >= 2).then_some(()) },
    )
    .await;
    let apps = Apps::new();
    let udp = router.udp();
    let _ok = Vassal::start(
        &apps,
        Lang::Python,
        "owner",
        &[
            "--subscribe2",
            &sub2(&udp, "api.test", &keys.sign("good.pem")),
        ],
    );
    let _wild = Vassal::start(
        &apps,
        Lang::Python,
        "wildowner",
        &[
            "--subscribe2",
            &sub2(&udp, ".api.test", &keys.sign("good.pem")),
        ],
    );
    let _thief = Vassal::start(
        &apps,
        Lang::Python,
        "thief",
        &[
            "--subscribe2",
            &sub2(&udp, "api.test", &keys.sign("evil.pem")),
        ],
    );
    let _stranger = Vassal::start(
        &apps,
        Lang::Python,
        "stranger",
        &[
            "--subscribe2",
            &sub2(&udp, "unlisted.test", &keys.sign("good.pem")),
        ],
    );
    wait_for_app(&router, "api.test", "owner").await;
    wait_for_app(&router, "www.api.test", "wildowner").await;
    eventually(
        "the thief and the stranger to be refused",
        Duration::from_secs(20),
        || async { (router.refused().await >= 2).then_some(()) },
    )
    .await;
    assert_eq!(router.nodes("api.test").await.len(), 1);
    assert!(router.nodes("unlisted.test").await.is_empty());
}
