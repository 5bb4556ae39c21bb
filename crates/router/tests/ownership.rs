//! Names across customers, with real uWSGI vassals signing with their customer's key and the
//! domain map from a control plane stand-in: another customer's wildcard never answers an
//! owned name, a customer's specific name under their own wildcard is theirs, and the map
//! comes through the next API replica when the first does not answer.

mod support;

use std::time::Duration;

use berth_router::{HttpsConfig, RouterConfig};
use support::*;

fn sub2(server: &str, key: &str, extra: &str) -> String {
    format!("server={server},key={key},{extra}")
}

/// A router following a map where `alice` owns the wildcard `.p.test` and `bob` owns
/// `shop.p.test`, with HTTPS (default certificate for `default.test`) and a unix socket.
struct TwoTenants {
    dir: tempfile::TempDir,
    ca: TestCa,
    alice: CustomerKey,
    bob: CustomerKey,
    router: TestRouter,
}

impl TwoTenants {
    async fn start(map: &[(&str, &str)]) -> TwoTenants {
        TwoTenants::start_with(map, false).await
    }

    /// With `dead_replica_first`, the router is given a replica that does not answer
    /// before the stand-in.
    async fn start_with(map: &[(&str, &str)], dead_replica_first: bool) -> TwoTenants {
        let dir = tempfile::tempdir().expect("tempdir");
        let alice = CustomerKey::new(dir.path(), "alice");
        let bob = CustomerKey::new(dir.path(), "bob");
        let domains = map
            .iter()
            .map(|(name, who)| {
                let key = if *who == "alice" { &alice } else { &bob };
                ((*name).to_owned(), key.public_pem.clone())
            })
            .collect();
        let (api, polls) = control_plane_stub(domains).await;
        let ca = TestCa::new("ownership test CA");
        let (cert, key) = ca.server(dir.path(), "default", &["default.test"]);
        let router = start_router(RouterConfig {
            https: Some(HttpsConfig {
                addr: any_port(),
                cert,
                key,
            }),
            subscription_unix: Some(dir.path().join("subscribe.sock")),
            control_plane: Some(if dead_replica_first {
                let dead = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|listener| listener.local_addr())
                    .expect("a free port");
                let mut plane = control_plane(api);
                plane.url = format!("http://{dead},{}", plane.url);
                plane
            } else {
                control_plane(api)
            }),
            ..RouterConfig::default()
        })
        .await;
        wait_for_polls(&polls).await;
        TwoTenants {
            dir,
            ca,
            alice,
            bob,
            router,
        }
    }

    fn socket(&self) -> String {
        self.dir.path().join("subscribe.sock").display().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// An HTTPS client trusting the test CA, resolving `name` to the router.
    fn https_client(&self, name: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.ca.cert.pem().as_bytes()).expect("ca"),
            )
            .resolve(name, self.router.addrs.https.expect("https"))
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    }

    async fn https_get(&self, name: &str) -> Result<String, reqwest::Error> {
        let port = self.router.addrs.https.expect("https").port();
        self.https_client(name)
            .get(format!("https://{name}:{port}/"))
            .send()
            .await?
            .text()
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_wildcard_never_answers_an_owned_name_whose_nodes_are_down() {
    let t = TwoTenants::start(&[(".p.test", "alice"), ("shop.p.test", "bob")]).await;
    let apps = Apps::new();
    t.ca.server(t.dir.path(), "wild", &["*.p.test", "shop.p.test"]);
    let alice_sni = format!(
        "sni_key={},sni_crt={}",
        t.path("wild.key"),
        t.path("wild.crt")
    );
    let _alice = Vassal::start(
        &apps,
        Lang::Python,
        "alice",
        &[
            "--subscribe2",
            &sub2(
                &t.socket(),
                ".p.test",
                &format!("{},{alice_sni}", t.alice.sign()),
            ),
        ],
    );
    let mut bob = Vassal::start(
        &apps,
        Lang::Python,
        "bob",
        &[
            "--subscribe2",
            &sub2(&t.socket(), "shop.p.test", &t.bob.sign()),
        ],
    );
    wait_for_app(&t.router, "www.p.test", "alice").await;
    wait_for_app(&t.router, "shop.p.test", "bob").await;

    // Bob's node stops (gracefully: unsubscribed at once): his visitors get the 404 page,
    // over HTTP and HTTPS, and never Alice's app nor her certificate.
    bob.stop_gracefully();
    eventually("bob's node to go", Duration::from_secs(10), || async {
        t.router.nodes("shop.p.test").await.is_empty().then_some(())
    })
    .await;
    let (status, body) = t.router.get("shop.p.test", "/").await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("shop.p.test"),
        "the 404 page names the host: {body}"
    );
    assert!(
        t.https_get("shop.p.test").await.is_err(),
        "the default certificate, not Alice's wildcard certificate"
    );
    let body = t.https_get("www.p.test").await.expect("Alice's own names");
    assert!(body.starts_with("alice|"), "{body}");
    assert_eq!(
        t.router.get("deep.shop.p.test", "/").await.0,
        404,
        "names under Bob's are Bob's too"
    );

    // Bob back, then killed without a word: his node fails, and still nothing of Alice's.
    let mut bob = Vassal::start(
        &apps,
        Lang::Python,
        "bob",
        &[
            "--subscribe2",
            &sub2(&t.socket(), "shop.p.test", &t.bob.sign()),
        ],
    );
    wait_for_app(&t.router, "shop.p.test", "bob").await;
    bob.kill();
    for _ in 0..3 {
        let (status, body) = t.router.get("shop.p.test", "/").await;
        assert!(
            status == 502 || status == 404,
            "bob's dead node: {status} {body}"
        );
        assert!(!body.starts_with("alice|"), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_specific_name_under_an_owned_wildcard_needs_no_domain_and_wins() {
    let t = TwoTenants::start(&[
        (".mynewdomain.test", "alice"),
        ("taken.mynewdomain.test", "bob"),
    ])
    .await;
    let apps = Apps::new();
    let sock = t.socket();
    let _wild = Vassal::start(
        &apps,
        Lang::Python,
        "wild",
        &[
            "--subscribe2",
            &sub2(&sock, ".mynewdomain.test", &t.alice.sign()),
        ],
    );
    let _specific = Vassal::start(
        &apps,
        Lang::Python,
        "specific",
        &[
            "--subscribe2",
            &sub2(&sock, "b.mynewdomain.test", &t.alice.sign()),
        ],
    );
    wait_for_app(&t.router, "a.mynewdomain.test", "wild").await;
    wait_for_app(&t.router, "b.mynewdomain.test", "specific").await;
    assert!(t
        .router
        .get("c.b.mynewdomain.test", "/")
        .await
        .1
        .starts_with("wild|"));

    // Bob's name stays Bob's: Alice's key cannot subscribe it, and her wildcard does not
    // answer it.
    let refused = t.router.refused().await;
    let _squatter = Vassal::start(
        &apps,
        Lang::Python,
        "squatter",
        &[
            "--subscribe2",
            &sub2(&sock, "taken.mynewdomain.test", &t.alice.sign()),
        ],
    );
    eventually(
        "the squatter to be refused",
        Duration::from_secs(20),
        || async { (t.router.refused().await > refused).then_some(()) },
    )
    .await;
    assert!(t.router.nodes("taken.mynewdomain.test").await.is_empty());
    assert_eq!(t.router.get("taken.mynewdomain.test", "/").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_domain_map_comes_through_the_replica_that_answers() {
    let t = TwoTenants::start_with(&[("replica.test", "alice")], true).await;
    let apps = Apps::new();
    let _app = Vassal::start(
        &apps,
        Lang::Python,
        "alices",
        &[
            "--subscribe2",
            &sub2(&t.socket(), "replica.test", &t.alice.sign()),
        ],
    );
    wait_for_app(&t.router, "replica.test", "alices").await;
}
