//! `/api/portmappings/<server>` on dedicated servers, and `/api/regenerate_secret_uuid/<uid>`.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_stores! {
    async fn an_owner_maps_ports_to_containers_on_their_server(api) {
        let alice = api.customer("alice").await;
        let server = api.owned_server(&alice, "198.51.100.7", 4096).await;
        let uid = api.store.create_container(alice.id, server, "db", 256, 1024, None).await.expect("container").summary.uid;
        let body = format!(r#"{{"container": {uid}, "proto": "tcp", "public_port": 5432, "private_port": 5432}}"#);
        let (status, created) = api.post("/api/portmappings/198.51.100.7", &alice.login, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["container"], uid);
        assert_eq!(created["proto"], "tcp");
        let ip = api.get(&format!("/api/containers/{uid}"), &alice.login).await.1["ip"].clone();
        assert_eq!(created["container_ip"], ip);
        let udp = format!(r#"{{"container": "{uid}", "proto": "UDP", "public_port": 5432, "private_port": 5432}}"#);
        assert_eq!(api.post("/api/portmappings/198.51.100.7", &alice.login, &udp).await.0, StatusCode::CREATED);
        let (status, list) = api.get("/api/portmappings/198.51.100.7", &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list.as_array().expect("list").len(), 2);
        assert_eq!(list[0], created);
        let by_name = api.get("/api/portmappings/dedicated-198-51-100-7", &alice.login).await;
        assert_eq!(by_name.1, list);
        let delete = format!(r#"{{"id": {}}}"#, created["id"]);
        let (status, ok) = api.send(Method::DELETE, "/api/portmappings/198.51.100.7", Some(&alice.login), Some(delete.clone().into_bytes())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ok, json!({"message": "Ok"}));
        assert_eq!(api.get("/api/portmappings/198.51.100.7", &alice.login).await.1.as_array().expect("list").len(), 1);
        let (status, _) = api.send(Method::DELETE, "/api/portmappings/198.51.100.7", Some(&alice.login), Some(delete.into_bytes())).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    async fn a_public_port_is_taken_once_per_server(api) {
        let alice = api.customer("alice").await;
        let server = api.owned_server(&alice, "198.51.100.7", 4096).await;
        let first = api.store.create_container(alice.id, server, "a", 256, 1024, None).await.expect("container").summary.uid;
        let second = api.store.create_container(alice.id, server, "b", 256, 1024, None).await.expect("container").summary.uid;
        let map = |uid: i64, public: i64, private: i64| format!(r#"{{"container": {uid}, "proto": "tcp", "public_port": {public}, "private_port": {private}}}"#);
        assert_eq!(api.post("/api/portmappings/198.51.100.7", &alice.login, &map(first, 2222, 22222)).await.0, StatusCode::CREATED);
        let (status, body) = api.post("/api/portmappings/198.51.100.7", &alice.login, &map(second, 2222, 22222)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let (status, _) = api.post("/api/portmappings/198.51.100.7", &alice.login, &map(first, 2223, 22222)).await;
        assert_eq!(status, StatusCode::CONFLICT, "one container port, one mapping");
        assert_eq!(api.post("/api/portmappings/198.51.100.7", &alice.login, &map(second, 2223, 22222)).await.0, StatusCode::CREATED);
    }

    async fn bad_mappings_are_refused_and_nothing_is_stored(api) {
        let alice = api.customer("alice").await;
        let server = api.owned_server(&alice, "198.51.100.7", 4096).await;
        let uid = api.store.create_container(alice.id, server, "db", 256, 1024, None).await.expect("container").summary.uid;
        for body in [
            format!(r#"{{"container": {uid}, "proto": "icmp", "public_port": 5000, "private_port": 5000}}"#),
            format!(r#"{{"container": {uid}, "proto": "tcp", "public_port": 80, "private_port": 5000}}"#),
            format!(r#"{{"container": {uid}, "proto": "tcp", "public_port": 3022, "private_port": 5000}}"#),
            format!(r#"{{"container": {uid}, "proto": "tcp", "public_port": 5000, "private_port": 70000}}"#),
            format!(r#"{{"container": {uid}, "proto": "tcp", "public_port": "x", "private_port": 5000}}"#),
            format!(r#"{{"container": {uid}, "proto": 6, "public_port": 5000, "private_port": 5000}}"#),
            format!(r#"{{"container": {uid}, "public_port": 5000, "private_port": 5000}}"#),
            "[]".to_owned(),
            "not json".to_owned(),
        ] {
            let (status, error) = api.post("/api/portmappings/198.51.100.7", &alice.login, &body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        }
        assert_eq!(api.get("/api/portmappings/198.51.100.7", &alice.login).await.1, json!([]));
    }

    async fn only_the_owner_and_only_their_containers(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let server = api.owned_server(&alice, "198.51.100.7", 4096).await;
        api.owned_server(&bob, "198.51.100.8", 4096).await;
        let on_alices = api.store.create_container(alice.id, server, "db", 256, 1024, None).await.expect("container").summary.uid;
        let on_shared = api.container(&alice, "web").await;
        let bobs = api.container(&bob, "bobs").await;
        assert_eq!(api.get("/api/portmappings/198.51.100.7", &bob.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get("/api/portmappings/192.0.2.1", &alice.login).await.0, StatusCode::FORBIDDEN, "the shared server");
        assert_eq!(api.get("/api/portmappings/203.0.113.1", &alice.login).await.0, StatusCode::FORBIDDEN);
        let map = |uid: i64| format!(r#"{{"container": {uid}, "proto": "tcp", "public_port": 6000, "private_port": 6000}}"#);
        assert_eq!(api.post("/api/portmappings/198.51.100.7", &bob.login, &map(on_alices)).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.post("/api/portmappings/198.51.100.8", &bob.login, &map(on_alices)).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.post("/api/portmappings/198.51.100.7", &alice.login, &map(on_shared)).await.0, StatusCode::FORBIDDEN, "not on that server");
        assert_eq!(api.post("/api/portmappings/198.51.100.7", &alice.login, &map(bobs)).await.0, StatusCode::FORBIDDEN);
        let (_, created) = api.post("/api/portmappings/198.51.100.7", &alice.login, &map(on_alices)).await;
        let delete = format!(r#"{{"id": {}}}"#, created["id"]);
        let (status, _) = api.send(Method::DELETE, "/api/portmappings/198.51.100.8", Some(&bob.login), Some(delete.into_bytes())).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(api.get("/api/portmappings/198.51.100.7", &alice.login).await.1.as_array().expect("list").len(), 1);
    }

    async fn the_secret_uuid_is_replaced_on_demand(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let uid = api.container(&alice, "web").await;
        let (status, first) = api.get(&format!("/api/regenerate_secret_uuid/{uid}"), &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(first["message"], "Ok");
        let secret = first["secret_uuid"].as_str().expect("secret").to_owned();
        assert_eq!(secret.len(), 36);
        assert_eq!(api.get(&format!("/api/containers/{uid}"), &alice.login).await.1["secret_uuid"], secret);
        let (_, second) = api.post(&format!("/api/regenerate_secret_uuid/{uid}"), &alice.login, "").await;
        assert_ne!(second["secret_uuid"], secret);
        assert_eq!(api.get(&format!("/api/regenerate_secret_uuid/{uid}"), &bob.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get("/api/regenerate_secret_uuid/abc", &alice.login).await.0, StatusCode::FORBIDDEN);
    }
}
