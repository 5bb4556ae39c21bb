//! The real router's domain-keys client against the real node API: subscriptions signed with
//! a customer's key are accepted for that customer's domains only, and a domain added in
//! the API is routable within seconds (the long poll wakes), and so is a specific name under
//! the customer's wildcard.

use std::time::{Duration, Instant};

use berth_api::ApiOptions;
use berth_model::container::ContainerUpdate;
use berth_model::domain::DomainName;
use berth_router::{ControlPlane, Router, RouterConfig};
use berth_store::containers::{Actor, ContainerRelations};
use berth_store::customers::NewCustomer;
use berth_store::servers::NewServer;
use berth_store::Store;
use berth_wire::{SigningKey, Subscription};

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb2x6z0DsbQFQq0bnJkm2Y7E+DkUc9NMuOQYhW0F1yi alice@laptop";

/// Well under the API's 30 s hold.
const PROMPT: Duration = Duration::from_secs(5);

fn any_port() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().expect("address")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Node names the router's stats list for `domain`.
async fn nodes(stats: &str, domain: &str) -> Vec<String> {
    let stats: serde_json::Value = reqwest::get(format!("http://{stats}/stats.json"))
        .await
        .expect("stats")
        .json()
        .await
        .expect("JSON stats");
    stats["subscriptions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["key"] == domain)
        .flat_map(|s| s["nodes"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n["name"].as_str().map(str::to_owned))
        .collect()
}

/// Sends a signed subscription for `domain` every 100 ms until the router lists it or
/// `limit` passes; whether it got listed.
async fn subscribe(
    udp: &tokio::net::UdpSocket,
    router: std::net::SocketAddr,
    stats: &str,
    key: &SigningKey,
    domain: &str,
    limit: Duration,
) -> bool {
    let started = Instant::now();
    let packet = Subscription::new(domain, "127.0.0.1:9")
        .encode_signed(key, now())
        .expect("signed packet");
    while started.elapsed() < limit {
        udp.send_to(&packet, router).await.expect("send");
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !nodes(stats, domain).await.is_empty() {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_follows_the_node_apis_domain_keys() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(&berth_store::sqlite_url(dir.path()))
        .await
        .expect("store");
    let server = store
        .add_server(NewServer {
            name: "node1".into(),
            address: "192.0.2.1".into(),
            memory: 4096,
            storage: 40_960,
            ..NewServer::default()
        })
        .await
        .expect("server");
    let credential = store
        .issue_server_credential(server.id)
        .await
        .expect("credential");
    let alice = store
        .create_customer(NewCustomer {
            username: "alice".into(),
            password: "alice-password".into(),
            email: "alice@example.com".into(),
            ..NewCustomer::default()
        })
        .await
        .expect("customer");
    let distro = store
        .add_distro("bookworm", "/distros/bookworm")
        .await
        .expect("distro");
    let uid = store
        .create_container(alice.id, server.id, "web", 128, 1024, None)
        .await
        .expect("container")
        .summary
        .uid;
    let update = ContainerUpdate {
        distro: Some(Some(distro.id)),
        ssh_keys: Some(vec![KEY.to_owned()]),
        ..ContainerUpdate::default()
    };
    store
        .update_container(Actor::Staff, uid, &update, &ContainerRelations::default())
        .await
        .expect("runnable");
    store
        .assign_domain(
            &DomainName::parse("app.example.com").expect("name"),
            "alice",
        )
        .await
        .expect("domain");

    let listener = tokio::net::TcpListener::bind(any_port())
        .await
        .expect("bind");
    let api = format!("http://{}", listener.local_addr().expect("address"));
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(berth_api::serve(
        store.clone(),
        ApiOptions::default(),
        listener,
        async {
            let _ = api_stopped.await;
        },
    ));

    // The customer's private key, as a node gets it.
    let state: serde_json::Value = reqwest::Client::new()
        .get(format!("{api}/node/v1/state?wait=0"))
        .bearer_auth(&credential)
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("JSON state");
    let pem = state["containers"][0]["customer_private_key_pem"]
        .as_str()
        .expect("private key");
    let key = SigningKey::from_pem(pem).expect("signing key");

    let router = Router::bind(RouterConfig {
        http: Some(any_port()),
        subscription_udp: Some(any_port()),
        stats: Some(any_port()),
        control_plane: Some(ControlPlane {
            url: api.clone(),
            token: credential.clone(),
        }),
        ..RouterConfig::default()
    })
    .await
    .expect("router");
    let addrs = router.addrs().clone();
    let (stop_router, router_stopped) = tokio::sync::oneshot::channel::<()>();
    let routing = tokio::spawn(router.serve(async {
        let _ = router_stopped.await;
    }));
    let stats = addrs.stats.expect("stats").to_string();
    let target = addrs.subscription_udp.expect("udp");
    let udp = tokio::net::UdpSocket::bind(any_port()).await.expect("udp");

    assert!(
        subscribe(&udp, target, &stats, &key, "app.example.com", PROMPT).await,
        "the owner's signed subscription is accepted"
    );
    assert!(
        !subscribe(
            &udp,
            target,
            &stats,
            &key,
            "later.example.com",
            Duration::from_secs(1)
        )
        .await,
        "a domain nobody holds is refused"
    );
    store
        .assign_domain(
            &DomainName::parse("later.example.com").expect("name"),
            "alice",
        )
        .await
        .expect("domain");
    let started = Instant::now();
    assert!(
        subscribe(&udp, target, &stats, &key, "later.example.com", PROMPT).await,
        "a new domain becomes routable"
    );
    assert!(started.elapsed() < PROMPT);

    // The quickstart's "if you subscribe to a specific domain, it will win over the wildcard
    // one (and you do not need to add it to your account)".
    store
        .assign_domain(
            &DomainName::parse(".shop.example.com").expect("name"),
            "alice",
        )
        .await
        .expect("wildcard domain");
    assert!(
        subscribe(&udp, target, &stats, &key, "b.shop.example.com", PROMPT).await,
        "a specific name under the customer's own wildcard"
    );

    let _ = stop_router.send(());
    let _ = stop_api.send(());
    routing.await.expect("router task").expect("router");
    served.await.expect("api task").expect("api");
}
