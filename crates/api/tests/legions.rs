//! `/v1/admin/legions`: staff group servers into legions with a failover address; the
//! containers of their servers show it as `legion_address`, and each member's node gets the
//! legion (address, members, weights) in its desired state at once.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::TestApi;

/// Well under the node API's 30 s hold: a watch answered within this was woken.
const PROMPT: Duration = Duration::from_secs(5);

/// A credential for server `server_id`, through a join token.
async fn credential(api: &TestApi, server_id: i64) -> String {
    let token = api.store.issue_join_token(server_id).await.expect("token");
    let answer: Value = api
        .http
        .post(format!("{}/node/v1/join", api.base))
        .body(json!({"token": token}).to_string())
        .send()
        .await
        .expect("join")
        .json()
        .await
        .expect("JSON");
    answer["credential"]
        .as_str()
        .expect("credential")
        .to_owned()
}

/// The desired state of the server with `credential`, newer than `revision` (long poll).
async fn state(api: &TestApi, credential: &str, revision: i64) -> Value {
    api.http
        .get(format!("{}/node/v1/state?revision={revision}", api.base))
        .bearer_auth(credential)
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("JSON state")
}

on_both_stores! {
    async fn staff_create_legions_and_put_servers_in_them(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let (status, legion) = api.post("/v1/admin/legions", &api.staff, r#"{"name": "eu", "address": " 192.0.2.100 ", "note": "Frankfurt"}"#).await;
        assert_eq!(status, StatusCode::CREATED, "{legion}");
        assert_eq!(legion["address"], "192.0.2.100");
        assert_eq!(legion["servers"], json!([]));
        assert_eq!(legion["virtual_router_id"], legion["id"]);
        for (body, expected) in [
            (r#"{"name": "eu", "address": "192.0.2.101"}"#, StatusCode::CONFLICT),
            (r#"{"name": "us", "address": "192.0.2.100"}"#, StatusCode::CONFLICT),
            (r#"{"name": "us", "address": "2001:db8::1"}"#, StatusCode::BAD_REQUEST),
            (r#"{"name": "us", "address": "nope"}"#, StatusCode::BAD_REQUEST),
            (r#"{"name": "us"}"#, StatusCode::BAD_REQUEST),
            (r#"{"name": "u s", "address": "192.0.2.102"}"#, StatusCode::BAD_REQUEST),
            (r#"{"name": 7, "address": "192.0.2.102"}"#, StatusCode::BAD_REQUEST),
        ] {
            assert_eq!(api.post("/v1/admin/legions", &api.staff, body).await.0, expected, "{body}");
        }
        let (status, _) = api.post("/v1/admin/servers", &api.staff, r#"{"name": "shared2", "address": "192.0.2.2", "memory": 1024, "storage": 1024}"#).await;
        assert_eq!(status, StatusCode::CREATED);

        let (status, legion) = api.post("/v1/admin/legions/eu/servers", &api.staff, r#"{"server": "shared1", "weight": 500}"#).await;
        assert_eq!(status, StatusCode::OK, "{legion}");
        let (_, legion) = api.post("/v1/admin/legions/eu/servers", &api.staff, r#"{"server": "shared2"}"#).await;
        assert_eq!(legion["servers"], json!([
            {"name": "shared1", "address": "192.0.2.1", "weight": 500},
            {"name": "shared2", "address": "192.0.2.2", "weight": 9999},
        ]));
        // Again: a new weight, not a second membership.
        let (_, legion) = api.post("/v1/admin/legions/eu/servers", &api.staff, r#"{"server": "shared2", "weight": 10}"#).await;
        assert_eq!(legion["servers"][1]["weight"], 10);
        for (path, body, expected) in [
            ("/v1/admin/legions/eu/servers", r#"{"server": "ghost"}"#, StatusCode::NOT_FOUND),
            ("/v1/admin/legions/ghost/servers", r#"{"server": "shared1"}"#, StatusCode::NOT_FOUND),
            ("/v1/admin/legions/eu/servers", r#"{"server": "shared1", "weight": -1}"#, StatusCode::BAD_REQUEST),
            ("/v1/admin/legions/eu/servers", r#"{"server": "shared1", "weight": "heavy"}"#, StatusCode::BAD_REQUEST),
            ("/v1/admin/legions/eu/servers", r#"{}"#, StatusCode::BAD_REQUEST),
        ] {
            assert_eq!(api.post(path, &api.staff, body).await.0, expected, "{path} {body}");
        }

        // The customer sees the failover address of their server's legion.
        let (_, container) = api.get(&format!("/api/containers/{uid}"), &alice.login).await;
        assert_eq!(container["legion_address"], json!(["192.0.2.100"]));
        // Only staff manage legions.
        assert_eq!(api.get("/v1/admin/legions", &alice.login).await.0, StatusCode::FORBIDDEN);

        let (_, list) = api.get("/v1/admin/legions", &api.staff).await;
        assert_eq!(list.as_array().map(Vec::len), Some(1));
        assert_eq!(list[0]["note"], "Frankfurt");
        let (status, legion) = api.delete("/v1/admin/legions/eu/servers/shared2", &api.staff).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(legion["servers"].as_array().map(Vec::len), Some(1));
        assert_eq!(api.delete("/v1/admin/legions/eu/servers/shared2", &api.staff).await.0, StatusCode::CONFLICT);
        assert_eq!(api.get("/v1/admin/legions/eu", &api.staff).await.1["servers"][0]["name"], "shared1");

        assert_eq!(api.delete("/v1/admin/legions/eu", &api.staff).await.0, StatusCode::OK);
        assert_eq!(api.get("/v1/admin/legions/eu", &api.staff).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.delete("/v1/admin/legions/eu", &api.staff).await.0, StatusCode::NOT_FOUND);
        let (_, container) = api.get(&format!("/api/containers/{uid}"), &alice.login).await;
        assert_eq!(container["legion_address"], json!([]));
    }

    async fn a_members_node_gets_the_legion_in_its_desired_state_at_once(api) {
        let credential = credential(&api, api.server_id).await;
        let first = state(&api, &credential, 0).await;
        assert_eq!(first["legion_peers"], json!([]));
        let revision = first["revision"].as_i64().expect("revision");
        let (status, legion) = api.post("/v1/admin/legions", &api.staff, r#"{"name": "eu", "address": "192.0.2.100"}"#).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = api.post("/v1/admin/servers", &api.staff, r#"{"name": "shared2", "address": "192.0.2.2", "memory": 1024, "storage": 1024}"#).await;
        assert_eq!(status, StatusCode::CREATED);
        api.post("/v1/admin/legions/eu/servers", &api.staff, r#"{"server": "shared2", "weight": 7}"#).await;

        let asked = Instant::now();
        let waiting = state(&api, &credential, revision);
        let (woken, added) = tokio::join!(waiting, async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            api.post("/v1/admin/legions/eu/servers", &api.staff, r#"{"server": "shared1", "weight": 300}"#).await
        });
        assert_eq!(added.0, StatusCode::OK);
        assert!(asked.elapsed() < PROMPT, "the member's watch wakes");
        let woken = if woken["legion_peers"] == json!([]) {
            state(&api, &credential, woken["revision"].as_i64().expect("revision")).await
        } else {
            woken
        };
        // The legion's key (its members' cluster traffic is sealed with it) goes to members.
        let key = woken["legion_peers"][0]["key"].as_str().expect("the legion's key").to_owned();
        assert!(key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()), "{key:?}");
        assert_eq!(woken["legion_peers"], json!([{
            "id": legion["id"],
            "key": key,
            "name": "eu",
            "address": "192.0.2.100",
            "weight": 300,
            "members": [
                {"name": "shared1", "address": "192.0.2.1", "weight": 300},
                {"name": "shared2", "address": "192.0.2.2", "weight": 7},
            ],
        }]));
        let typed: berth_model::node::DesiredState = serde_json::from_value(woken.clone()).expect("the wire type");
        assert_eq!(typed.legion_peers[0].priority_of("192.0.2.1"), Some(254));

        // Leaving wakes it too, and the legion is gone from its state.
        let revision = woken["revision"].as_i64().expect("revision");
        let (left, _) = tokio::join!(state(&api, &credential, revision), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            api.delete("/v1/admin/legions/eu/servers/shared1", &api.staff).await
        });
        assert_eq!(left["legion_peers"], json!([]));
    }
}
