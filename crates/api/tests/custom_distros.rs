//! Custom distros: kept by a storage container, listed and registered through
//! `/api/custom_distros`, chosen with the container's `custom_distro`, sent to the node in
//! the desired state; and never usable across customers, servers or by their own keeper.

mod support;

use berth_store::containers::Actor;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_stores! {
    async fn a_storage_container_keeps_custom_distros_its_siblings_boot(api) {
        let alice = api.customer("alice").await;
        let storage = api.container(&alice, "storage").await;
        let web = api.container(&alice, "web").await;
        let create = format!("/api/custom_distros/{storage}");
        let body = r#"{"name": "my bookworm", "path": "bookworm", "note": "built by hand"}"#;
        // Only a container that keeps custom distros holds them.
        let (status, error) = api.post(&create, &alice.login, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
        api.post(&format!("/api/containers/{storage}"), &alice.login, r#"{"custom_distros_storage": true}"#).await;
        let (status, created) = api.post(&create, &alice.login, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_i64().expect("id");
        assert_eq!(created["container"], storage);
        assert_eq!(created["path"], "bookworm");
        assert_eq!(api.post(&create, &alice.login, body).await.0, StatusCode::CONFLICT);
        let (_, list) = api.get("/api/custom_distros/", &alice.login).await;
        assert_eq!(list, json!([{"id": id, "name": "my bookworm", "container": storage}]));
        let (_, shown) = api.get(&format!("/api/custom_distro/{id}"), &alice.login).await;
        assert_eq!(shown["note"], "built by hand");
        assert!(shown["uuid"].is_string());
        // The sibling may boot it; its keeper may not.
        let (_, usable) = api.get(&format!("/api/custom_distros/{web}"), &alice.login).await;
        assert_eq!(usable, json!([{"id": id, "name": "my bookworm"}]));
        let (_, usable) = api.get(&format!("/api/custom_distros/{storage}"), &alice.login).await;
        assert_eq!(usable, json!([]));
        let (status, error) = api.post(&format!("/api/containers/{storage}"), &alice.login, &json!({"custom_distro": id}).to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");

        let reboot = || async { api.store.container(Actor::Staff, web).await.expect("web").last_reboot };
        let before = reboot().await;
        let (status, detail) = api.post(&format!("/api/containers/{web}"), &alice.login, &json!({"custom_distro": id}).to_string()).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(detail["custom_distro"], id);
        assert_eq!(detail["custom_distro_name"], "my bookworm");
        assert!(reboot().await > before, "a new root file system restarts the container");
        let (_, list) = api.get("/api/containers", &alice.login).await;
        let item = list.as_array().expect("list").iter().find(|c| c["uid"] == web).expect("web").clone();
        assert_eq!(item["custom_distro"], id);
        assert_eq!(item["custom_distro_name"], "my bookworm");

        // The node hears of it, with where it lives.
        let distro = api.store.add_distro("bookworm", "/distros/bookworm").await.expect("distro");
        api.post(&format!("/api/containers/{web}"), &alice.login, &json!({
            "distro": distro.id,
            "ssh_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb2x6z0DsbQFQq0bnJkm2Y7E+DkUc9NMuOQYhW0F1yi a@b"],
        }).to_string()).await;
        let state = api.store.desired_state(api.server_id).await.expect("state");
        let spec = state.containers.iter().find(|c| c.uid == web).expect("web is runnable");
        let custom = spec.custom_distro.as_ref().expect("custom distro in the spec");
        assert_eq!((custom.id, custom.storage_uid, custom.path.as_str()), (id, storage, "bookworm"));

        // Renaming keeps the path; deleting sends the container back to its distro.
        let (_, renamed) = api.post(&format!("/api/custom_distro/{id}"), &alice.login, r#"{"name": "trixie", "path": "x"}"#).await;
        assert_eq!((renamed["name"].as_str(), renamed["path"].as_str()), (Some("trixie"), Some("bookworm")));
        let before = reboot().await;
        assert_eq!(api.delete(&format!("/api/custom_distro/{id}"), &alice.login).await.0, StatusCode::OK);
        let (_, detail) = api.get(&format!("/api/containers/{web}"), &alice.login).await;
        assert_eq!(detail["custom_distro"], Value::Null);
        assert!(detail.get("custom_distro_name").is_none());
        assert!(reboot().await > before);
        assert_eq!(api.get(&format!("/api/custom_distro/{id}"), &alice.login).await.0, StatusCode::NOT_FOUND);
        // Clearing with null works too.
        let (status, _) = api.post(&format!("/api/containers/{web}"), &alice.login, r#"{"custom_distro": null}"#).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn another_customers_custom_distro_is_refused_everywhere(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let storage = api.container(&alice, "storage").await;
        api.post(&format!("/api/containers/{storage}"), &alice.login, r#"{"custom_distros_storage": true}"#).await;
        let (_, created) = api.post(&format!("/api/custom_distros/{storage}"), &alice.login, r#"{"name": "mine", "path": "mine"}"#).await;
        let id = created["id"].as_i64().expect("id");
        let bobs = api.container(&bob, "bobs").await;
        let (status, error) = api.post(&format!("/api/containers/{bobs}"), &bob.login, &json!({"custom_distro": id}).to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        assert_eq!(api.store.container(Actor::Staff, bobs).await.expect("bobs").settings.custom_distro, None);
        for (status, _) in [
            api.get(&format!("/api/custom_distro/{id}"), &bob.login).await,
            api.post(&format!("/api/custom_distro/{id}"), &bob.login, r#"{"name": "taken"}"#).await,
            api.delete(&format!("/api/custom_distro/{id}"), &bob.login).await,
        ] {
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        assert_eq!(api.get("/api/custom_distros", &bob.login).await.1, json!([]));
        // Alice's containers are not Bob's to list or to fill.
        assert_eq!(api.get(&format!("/api/custom_distros/{storage}"), &bob.login).await.0, StatusCode::FORBIDDEN);
        let (status, _) = api.post(&format!("/api/custom_distros/{storage}"), &bob.login, r#"{"name": "x", "path": "x"}"#).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // A missing id reads like another customer's.
        let (status, _) = api.post(&format!("/api/containers/{bobs}"), &bob.login, r#"{"custom_distro": 999999}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(api.get(&format!("/api/custom_distro/{id}"), &alice.login).await.1["name"], "mine");
    }

    async fn paths_and_names_are_checked(api) {
        let alice = api.customer("alice").await;
        let storage = api.container(&alice, "storage").await;
        api.post(&format!("/api/containers/{storage}"), &alice.login, r#"{"custom_distros_storage": true}"#).await;
        let create = format!("/api/custom_distros/{storage}");
        for body in [
            r#"{"name": "x", "path": "../etc"}"#,
            r#"{"name": "x", "path": "a/b"}"#,
            r#"{"name": "x", "path": ".."}"#,
            r#"{"name": "x", "path": "."}"#,
            r#"{"name": "x", "path": "/distros/x"}"#,
            r#"{"name": "x", "path": "sp ace"}"#,
            r#"{"name": "x", "path": ""}"#,
            r#"{"name": "x", "path": 7}"#,
            r#"{"name": "", "path": "ok"}"#,
            r#"{"name": "line\nbreak", "path": "ok"}"#,
            r#"{"path": "ok"}"#,
            r#"{"name": "x"}"#,
        ] {
            let (status, error) = api.post(&create, &alice.login, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        }
        assert_eq!(api.get("/api/custom_distros", &alice.login).await.1, json!([]));
        for bad in ["/api/custom_distro/abc", "/api/custom_distro/-1", "/api/custom_distro/99999999999999999999"] {
            assert_eq!(api.get(bad, &alice.login).await.0, StatusCode::NOT_FOUND, "{bad}");
        }
    }

    async fn a_custom_distro_on_another_server_is_refused(api) {
        let alice = api.customer("alice").await;
        let storage = api.container(&alice, "storage").await;
        api.post(&format!("/api/containers/{storage}"), &alice.login, r#"{"custom_distros_storage": true}"#).await;
        let (_, created) = api.post(&format!("/api/custom_distros/{storage}"), &alice.login, r#"{"name": "mine", "path": "mine"}"#).await;
        let id = created["id"].as_i64().expect("id");
        let dedicated = api.owned_server(&alice, "198.51.100.9", 4096).await;
        let elsewhere = api
            .store
            .create_container(alice.id, dedicated, "elsewhere", 128, 1024, None)
            .await
            .expect("container")
            .summary
            .uid;
        let (_, usable) = api.get(&format!("/api/custom_distros/{elsewhere}"), &alice.login).await;
        assert_eq!(usable, json!([]));
        let (status, error) = api.post(&format!("/api/containers/{elsewhere}"), &alice.login, &json!({"custom_distro": id}).to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    }
}
