//! `/node/v1`: joining with a one-time token, bearer credentials, per-server isolation, the
//! long-polled desired state and domain keys, and reports that land in the customer API.

mod support;

use std::time::{Duration, Instant};

use berth_model::domain::DomainName;
use berth_store::servers::NewServer;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{now, TestApi};

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb2x6z0DsbQFQq0bnJkm2Y7E+DkUc9NMuOQYhW0F1yi alice@laptop";
const OTHER_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINOlbztZeaVKMzZwNNVd20rPaJDMd8aZlsHp71rof2yk bob@desk";

/// Well under the default hold of 30 s: a watch that answers within this was woken.
const PROMPT: Duration = Duration::from_secs(5);

/// Sends a node API request with `credential` as the bearer (none: no Authorization).
async fn node(
    api: &TestApi,
    method: reqwest::Method,
    path: &str,
    credential: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = api.http.request(method, format!("{}{path}", api.base));
    if let Some(credential) = credential {
        request = request.bearer_auth(credential);
    }
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.expect("a JSON answer"))
}

async fn node_get(api: &TestApi, path: &str, credential: &str) -> (StatusCode, Value) {
    node(api, reqwest::Method::GET, path, Some(credential), None).await
}

/// Issues a join token for `server_id` and exchanges it for a credential.
async fn join(api: &TestApi, server_id: i64) -> String {
    let token = api.store.issue_join_token(server_id).await.expect("token");
    let (status, body) = node(
        api,
        reqwest::Method::POST,
        "/node/v1/join",
        None,
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["credential"].as_str().expect("credential").to_owned()
}

/// A second server, with its own credential.
async fn second_server(api: &TestApi) -> (i64, String) {
    let server = api
        .store
        .add_server(NewServer {
            name: "shared2".into(),
            address: "192.0.2.2".into(),
            memory: 4096,
            storage: 40_960,
            ..NewServer::default()
        })
        .await
        .expect("server");
    (server.id, join(api, server.id).await)
}

/// Gives container `uid` a distro and `keys`, as its owner.
async fn make_runnable(
    api: &TestApi,
    login: &support::Login,
    uid: i64,
    distro: i64,
    keys: &[&str],
) {
    let body = json!({"distro": distro, "ssh_keys": keys}).to_string();
    let (status, answer) = api
        .post(&format!("/api/containers/{uid}"), login, &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// The linked pairs across servers in the desired state of the server of `credential`.
async fn remote_links(api: &TestApi, credential: &str) -> Value {
    node_get(api, "/node/v1/state?wait=0", credential).await.1["remote_links"].clone()
}

/// Changes container `uid` as its owner; the change must be accepted.
async fn update(api: &TestApi, login: &support::Login, uid: i64, body: Value) {
    let (status, answer) = api
        .post(&format!("/api/containers/{uid}"), login, &body.to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

fn uids(state: &Value) -> Vec<i64> {
    state["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .map(|c| c["uid"].as_i64().expect("uid"))
        .collect()
}

on_both_stores! {
    async fn a_join_token_is_spent_once(api) {
        let token = api.store.issue_join_token(api.server_id).await.expect("token");
        let post = |body: Value| node(&api, reqwest::Method::POST, "/node/v1/join", None, Some(body));
        let (status, first) = post(json!({"token": token})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(first["server"], "shared1");
        let credential = first["credential"].as_str().expect("credential").to_owned();
        let (status, _) = post(json!({"token": token})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = post(json!({"token": "berth-join-nope"})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = post(json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = post(json!({"token": 7})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, state) = node_get(&api, "/node/v1/state?wait=0", &credential).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(state["server"]["name"], "shared1");
        // A new token, once used, replaces the credential.
        let again = join(&api, api.server_id).await;
        assert_ne!(again, credential);
        assert_eq!(node_get(&api, "/node/v1/state?wait=0", &credential).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(node_get(&api, "/node/v1/state?wait=0", &again).await.0, StatusCode::OK);
    }

    async fn calls_without_a_valid_bearer_are_401(api) {
        let credential = join(&api, api.server_id).await;
        let alice = api.customer("alice").await;
        for (method, path) in [
            (reqwest::Method::GET, "/node/v1/state?wait=0"),
            (reqwest::Method::GET, "/node/v1/domain-keys?wait=0"),
            (reqwest::Method::POST, "/node/v1/report"),
        ] {
            for bearer in [None, Some("berth-node-wrong"), Some("has space"), Some("")] {
                let (status, body) = node(&api, method.clone(), path, bearer, Some(json!({}))).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} with {bearer:?}: {body}");
            }
            let response = api.http.request(method.clone(), format!("{}{path}", api.base)).send().await.expect("request");
            assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"berth node\"");
            // A customer's Basic credentials are not a server's.
            let response = api.http.request(method.clone(), format!("{}{path}", api.base))
                .basic_auth(&alice.login.username, Some(&alice.login.password))
                .send().await.expect("request");
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            let (status, _) = node(&api, method, path, Some(&credential), Some(json!({}))).await;
            assert_eq!(status, StatusCode::OK, "{path}");
        }
        let (status, _) = node_get(&api, "/node/v1/state?revision=x", &credential).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = node_get(&api, "/node/v1/state?wait=-1", &credential).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    async fn the_state_holds_runnable_containers_with_everything_a_node_needs(api) {
        let credential = join(&api, api.server_id).await;
        let alice = api.customer("alice").await;
        let distro = api.store.add_distro("bookworm", "/distros/bookworm").await.expect("distro").id;
        let web = api.container(&alice, "web site").await;
        let db = api.container(&alice, "db").await;
        let idle = api.container(&alice, "idle").await;
        make_runnable(&api, &alice.login, web, distro, &[KEY]).await;
        make_runnable(&api, &alice.login, db, distro, &[KEY]).await;
        // A distro alone does not make a container runnable.
        let body = json!({"distro": distro, "link": db}).to_string();
        assert_eq!(api.post(&format!("/api/containers/{idle}"), &alice.login, &body).await.0, StatusCode::OK);
        let body = json!({"link": db}).to_string();
        assert_eq!(api.post(&format!("/api/containers/{web}"), &alice.login, &body).await.0, StatusCode::OK);
        let (status, loopbox) = api.post("/api/loopboxes", &alice.login,
            &json!({"container": web, "filename": "data.img", "mountpoint": "data", "ro": true}).to_string()).await;
        assert_eq!(status, StatusCode::CREATED, "{loopbox}");
        api.store.assign_domain(&DomainName::parse("example.com").expect("name"), "alice").await.expect("domain");
        let (status, state) = node_get(&api, "/node/v1/state", &credential).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(uids(&state), vec![web, db]);
        let spec = &state["containers"][0];
        assert_eq!(spec["name"], "web site");
        assert_eq!(spec["hostname"], "web-site");
        assert_eq!(spec["memory"], 128);
        assert_eq!(spec["distro"], json!({"id": distro, "name": "bookworm", "path": "/distros/bookworm"}));
        assert_eq!(spec["ssh_keys"], json!([KEY]));
        assert_eq!(spec["customer_uuid"], alice.uuid.as_str());
        assert!(spec["customer_private_key_pem"].as_str().expect("pem").starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(spec["loopboxes"], json!([{"id": loopbox["id"], "filename": "data.img", "mountpoint": "data", "ro": true}]));
        assert_eq!(spec["links"][0]["uid"], db);
        assert_eq!(state["domains"][0]["name"], "example.com");
        assert!(state["domains"][0]["public_key_pem"].as_str().expect("pem").starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_eq!(state["legion_peers"], json!([]));
        assert_eq!(state["server"]["address"], "192.0.2.1");
        let typed: berth_model::node::DesiredState = serde_json::from_value(state).expect("the wire type");
        assert_eq!(typed.containers.len(), 2);
    }

    async fn a_server_sees_and_reports_only_its_own_containers(api) {
        let credential_a = join(&api, api.server_id).await;
        let (server_b, credential_b) = second_server(&api).await;
        let alice = api.customer("alice").await;
        let distro = api.store.add_distro("bookworm", "/distros/bookworm").await.expect("distro").id;
        let on_a = api.container(&alice, "a").await;
        let on_b = api.store.create_container(alice.id, server_b, "b", 128, 1024, None).await.expect("container").summary.uid;
        make_runnable(&api, &alice.login, on_a, distro, &[KEY]).await;
        make_runnable(&api, &alice.login, on_b, distro, &[KEY]).await;
        assert_eq!(uids(&node_get(&api, "/node/v1/state?wait=0", &credential_a).await.1), vec![on_a]);
        assert_eq!(uids(&node_get(&api, "/node/v1/state?wait=0", &credential_b).await.1), vec![on_b]);
        let unix = now();
        let report = json!({
            "containers": [
                {"uid": on_a, "state": "running", "running_since_reboot": 1, "detail": null, "disk_used": 10},
                {"uid": on_b, "state": "failed", "running_since_reboot": 1, "detail": "forged", "disk_used": null}
            ],
            "alarms": [{"uid": on_b, "unix": unix, "msg": "forged alarm"}, {"uid": on_a, "unix": unix, "msg": "real alarm"}],
            "metrics": [{"metric": "container.cpu", "uid": on_b, "domain": null, "unix": unix, "value": 9}]
        });
        let (status, outcome) = node(&api, reqwest::Method::POST, "/node/v1/report", Some(&credential_a), Some(report)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(outcome, json!({"statuses": 1, "alarms": 1, "metrics": 0, "refused": [on_b]}));
        let (_, forged) = api.get(&format!("/v1/admin/containers/{on_b}"), &api.staff).await;
        assert_eq!(forged["status"], Value::Null);
        let (_, reported) = api.get(&format!("/v1/admin/containers/{on_a}"), &api.staff).await;
        assert_eq!(reported["status"]["state"], "running");
        assert_eq!(reported["status"]["disk_used"], 10);
        assert!(reported["status"]["reported_at"].as_i64().expect("reported_at") > 0);
        let (_, alarms) = api.get("/api/alarms", &alice.login).await;
        let messages: Vec<&str> = alarms.as_array().expect("alarms").iter().filter_map(|a| a["msg"].as_str()).collect();
        assert_eq!(messages, vec!["real alarm"]);
        let (_, cpu) = api.get(&format!("/api/metrics/container.cpu/{on_b}"), &alice.login).await;
        assert_eq!(cpu, json!([]));
    }

    async fn linked_pairs_across_servers_reach_both_states_only_while_both_link(api) {
        let credential_a = join(&api, api.server_id).await;
        let (server_b, credential_b) = second_server(&api).await;
        let alice = api.customer("alice").await;
        let distro = api.store.add_distro("bookworm", "/distros/bookworm").await.expect("distro").id;
        let on_a = api.container(&alice, "a").await;
        let on_b = api.store.create_container(alice.id, server_b, "b", 128, 1024, None).await.expect("container").summary.uid;
        make_runnable(&api, &alice.login, on_a, distro, &[KEY]).await;
        make_runnable(&api, &alice.login, on_b, distro, &[KEY]).await;
        update(&api, &alice.login, on_a, json!({"link": on_b})).await;
        assert_eq!(remote_links(&api, &credential_a).await, json!([]), "one side alone");
        let before = node_get(&api, "/node/v1/state?wait=0", &credential_a).await.1["revision"].as_i64().expect("revision");
        update(&api, &alice.login, on_b, json!({"link": on_a})).await;
        let after = node_get(&api, "/node/v1/state?wait=0", &credential_a).await.1["revision"].as_i64().expect("revision");
        assert!(after > before, "B's link wakes A's server");
        let ip = |uid: i64| berth_model::container::ip_of(uid - berth_model::container::BASE_UID).to_string();
        assert_eq!(remote_links(&api, &credential_a).await,
            json!([{"uid": on_a, "ip": ip(on_a), "peer_uid": on_b, "peer_ip": ip(on_b), "peer_server": "192.0.2.2"}]));
        assert_eq!(remote_links(&api, &credential_b).await,
            json!([{"uid": on_b, "ip": ip(on_b), "peer_uid": on_a, "peer_ip": ip(on_a), "peer_server": "192.0.2.1"}]));
        // B without keys cannot run: the pair goes from both states.
        update(&api, &alice.login, on_b, json!({"ssh_keys": []})).await;
        assert_eq!(remote_links(&api, &credential_a).await, json!([]));
        assert_eq!(remote_links(&api, &credential_b).await, json!([]));
        make_runnable(&api, &alice.login, on_b, distro, &[KEY]).await;
        assert_eq!(remote_links(&api, &credential_a).await.as_array().map(Vec::len), Some(1));
        // A unlinks: both states lose the pair.
        update(&api, &alice.login, on_a, json!({"unlink": on_b})).await;
        assert_eq!(remote_links(&api, &credential_a).await, json!([]));
        assert_eq!(remote_links(&api, &credential_b).await, json!([]));
    }

    async fn reports_land_in_alarms_and_metrics(api) {
        let credential = join(&api, api.server_id).await;
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let domain = api.store.assign_domain(&DomainName::parse("shop.example.com").expect("name"), "alice").await.expect("domain");
        let unix = now();
        let report = json!({
            "containers": [{"uid": uid, "state": "starting", "running_since_reboot": 0}],
            "alarms": [{"uid": uid, "unix": unix, "msg": "out of memory: killed python"}],
            "metrics": [
                {"metric": "container.mem", "uid": uid, "unix": unix, "value": 4096},
                {"metric": "domain.hits", "uid": uid, "domain": "shop.example.com", "unix": unix, "value": 42}
            ]
        });
        let (status, outcome) = node(&api, reqwest::Method::POST, "/node/v1/report", Some(&credential), Some(report)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(outcome, json!({"statuses": 1, "alarms": 1, "metrics": 2, "refused": []}));
        let (_, alarms) = api.get("/api/alarms", &alice.login).await;
        assert_eq!(alarms[0]["msg"], "out of memory: killed python");
        assert_eq!(alarms[0]["level"], 0);
        assert_eq!(alarms[0]["container"], uid);
        let (_, mem) = api.get(&format!("/api/metrics/container.mem/{uid}"), &alice.login).await;
        assert_eq!(mem, json!([[unix, 4096]]));
        let (_, hits) = api.get(&format!("/api/metrics/domain.hits/{}", domain.id), &alice.login).await;
        assert_eq!(hits, json!([{"container": uid, "metrics": [[unix, 42]]}]));
        // A malformed report is refused whole.
        for bad in [
            json!({"metrics": [{"metric": "container.nope", "uid": uid, "unix": unix, "value": 1}]}),
            json!({"metrics": [{"metric": "domain.hits", "uid": uid, "unix": unix, "value": 1}]}),
            json!({"alarms": [{"uid": uid, "unix": unix, "msg": "x".repeat(70_000)}]}),
            json!({"containers": [{"uid": uid, "state": "dancing", "running_since_reboot": 0}]}),
            json!([1, 2]),
        ] {
            let (status, body) = node(&api, reqwest::Method::POST, "/node/v1/report", Some(&credential), Some(bad)).await;
            assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE, "{status} {body}");
        }
        let (_, alarms) = api.get("/api/alarms", &alice.login).await;
        assert_eq!(alarms.as_array().expect("alarms").len(), 1);
    }

    async fn the_state_watch_wakes_on_changes_and_holds_otherwise(api) {
        let credential = join(&api, api.server_id).await;
        let alice = api.customer("alice").await;
        let distro = api.store.add_distro("bookworm", "/distros/bookworm").await.expect("distro").id;
        let uid = api.container(&alice, "web").await;
        let (_, first) = node_get(&api, "/node/v1/state?revision=0", &credential).await;
        let revision = first["revision"].as_i64().expect("revision");
        assert_eq!(uids(&first), Vec::<i64>::new());

        // Nothing changes: held for the whole wait, then the same state.
        let started = Instant::now();
        let (status, held) = node_get(&api, &format!("/node/v1/state?revision={revision}&wait=2"), &credential).await;
        assert_eq!(status, StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_millis(1900), "answered after {:?}", started.elapsed());
        assert_eq!(held, first);

        // Its own container becoming runnable wakes it promptly.
        let watch = |revision: i64| format!("/node/v1/state?revision={revision}");
        let started = Instant::now();
        let path = watch(revision);
        let ((status, woken), ()) = tokio::join!(node_get(&api, &path, &credential), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            make_runnable(&api, &alice.login, uid, distro, &[KEY]).await;
        });
        assert_eq!(status, StatusCode::OK);
        assert!(started.elapsed() < PROMPT, "answered after {:?}", started.elapsed());
        assert_eq!(uids(&woken), vec![uid]);
        let revision = woken["revision"].as_i64().expect("revision");

        // A new ssh key.
        let started = Instant::now();
        let path = watch(revision);
        let ((_, woken), ()) = tokio::join!(node_get(&api, &path, &credential), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let body = json!({"ssh_keys": [KEY, OTHER_KEY]}).to_string();
            assert_eq!(api.post(&format!("/api/containers/{uid}"), &alice.login, &body).await.0, StatusCode::OK);
        });
        assert!(started.elapsed() < PROMPT, "answered after {:?}", started.elapsed());
        assert_eq!(woken["containers"][0]["ssh_keys"], json!([KEY, OTHER_KEY]));
        let revision = woken["revision"].as_i64().expect("revision");

        // A new domain, anyone's.
        let bob = api.customer("bob").await;
        let started = Instant::now();
        let path = watch(revision);
        let ((_, woken), ()) = tokio::join!(node_get(&api, &path, &credential), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            api.store.assign_domain(&DomainName::parse("bob.example.org").expect("name"), &bob.login.username).await.expect("domain");
        });
        assert!(started.elapsed() < PROMPT, "answered after {:?}", started.elapsed());
        assert_eq!(woken["domains"][0]["name"], "bob.example.org");
    }

    async fn port_mappings_reach_their_server_at_once(api) {
        let alice = api.customer("alice").await;
        let server = api.owned_server(&alice, "198.51.100.7", 4096).await;
        let credential = join(&api, server).await;
        let (_, other) = second_server(&api).await;
        let uid = api.store.create_container(alice.id, server, "db", 256, 1024, None).await.expect("container").summary.uid;
        let (_, first) = node_get(&api, "/node/v1/state?revision=0", &credential).await;
        assert_eq!(first["port_mappings"], json!([]));
        let revision = first["revision"].as_i64().expect("revision");
        let started = Instant::now();
        let path = format!("/node/v1/state?revision={revision}");
        let ((status, woken), ()) = tokio::join!(node_get(&api, &path, &credential), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let body = format!(r#"{{"container": {uid}, "proto": "udp", "public_port": 5353, "private_port": 53535}}"#);
            assert_eq!(api.post("/api/portmappings/198.51.100.7", &alice.login, &body).await.0, StatusCode::CREATED);
        });
        assert_eq!(status, StatusCode::OK);
        assert!(started.elapsed() < PROMPT, "answered after {:?}", started.elapsed());
        let ip = api.get(&format!("/api/containers/{uid}"), &alice.login).await.1["ip"].clone();
        assert_eq!(woken["port_mappings"], json!([
            {"proto": "udp", "public_port": 5353, "uid": uid, "ip": ip, "private_port": 53535}
        ]));
        let (_, elsewhere) = node_get(&api, "/node/v1/state?revision=0", &other).await;
        assert_eq!(elsewhere["port_mappings"], json!([]));
    }

    async fn the_domain_keys_watch_wakes_on_domain_changes_only(api) {
        let credential = join(&api, api.server_id).await;
        let alice = api.customer("alice").await;
        let (status, first) = node_get(&api, "/node/v1/domain-keys?revision=0&wait=0", &credential).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(first["domains"], json!([]));
        let revision = first["revision"].as_i64().expect("revision");
        // A container change is not a domain change.
        let started = Instant::now();
        let path = format!("/node/v1/domain-keys?revision={revision}&wait=2");
        let ((_, held), _) = tokio::join!(
            node_get(&api, &path, &credential),
            async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                api.container(&alice, "web").await
            }
        );
        assert!(started.elapsed() >= Duration::from_millis(1900));
        assert_eq!(held, first);
        let started = Instant::now();
        let path = format!("/node/v1/domain-keys?revision={revision}");
        let ((_, woken), _) = tokio::join!(
            node_get(&api, &path, &credential),
            async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                api.store.assign_domain(&DomainName::parse(".example.net").expect("name"), "alice").await.expect("domain")
            }
        );
        assert!(started.elapsed() < PROMPT, "answered after {:?}", started.elapsed());
        assert!(woken["revision"].as_i64().expect("revision") > revision);
        assert_eq!(woken["domains"][0]["name"], ".example.net");
        let owner = api.store.customer(alice.id).await.expect("customer");
        assert_eq!(woken["domains"][0]["public_key_pem"], owner.public_key_pem.as_str());
    }

    async fn a_vpn_host_is_told_its_pools_peers_and_woken_when_they_change(api) {
        let credential = join(&api, api.server_id).await;
        let key = |n: u8| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode([n; 32])
        };
        for (network, host, wg) in [("2a0a:e5c1:200::", "shared1", "wg0"), ("2a0a:e5c1:300::", "elsewhere", "wg0")] {
            let body = json!({"network": network, "network_size": 40, "subnetwork_size": 48,
                              "vpn_hostname": host, "wg_name": wg, "wireguard_public_key": key(9)});
            let (status, pool) = api.post("/v1/admin/vpnpool", &api.staff, &body.to_string()).await;
            assert_eq!(status, StatusCode::CREATED, "{pool}");
        }
        let (_, before) = node_get(&api, "/node/v1/state?wait=0", &credential).await;
        assert_eq!(before["vpn_interfaces"], json!([{"wg_name": "wg0", "listen_port": 51820,
                                                     "private_key": null, "peers": []}]));
        let nico = api.customer("nico").await;
        let body = json!({"network_size": 48, "wireguard_public_key": key(1)}).to_string();
        assert_eq!(api.post("/v1/net/vpn", &nico.login, &body).await.0, StatusCode::CREATED);
        let revision = before["revision"].as_i64().expect("revision");
        let (status, after) = node_get(&api, &format!("/node/v1/state?revision={revision}&wait=5"), &credential).await;
        assert_eq!(status, StatusCode::OK);
        assert!(after["revision"].as_i64().expect("revision") > revision, "{after}");
        assert_eq!(after["vpn_interfaces"][0]["peers"], json!([{"owner": "nico",
            "public_key": key(1), "allowed_ips": "2a0a:e5c1:200::/48"}]));
    }
}
