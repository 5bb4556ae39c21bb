//! `/v1/admin`: staff-only account, server, distro and container management.

mod support;

use reqwest::StatusCode;
use serde_json::json;

on_both_stores! {
    async fn staff_open_customers_and_set_passwords(api) {
        let (status, created) = api.post("/v1/admin/customers", &api.staff, r#"{"username": "carol", "email": "carol@example.com", "company": "Carol SpA"}"#).await;
        assert_eq!(status, StatusCode::CREATED);
        let password = created["password"].as_str().expect("generated password").to_owned();
        let carol = support::Login { username: "carol".into(), password };
        let (status, me) = api.get("/api/me", &carol).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["company"], "Carol SpA");
        assert_eq!(me["uuid"], created["uuid"]);
        let (_, list) = api.get("/v1/admin/customers", &api.staff).await;
        assert_eq!(list[0]["username"], "carol");
        assert_eq!(list[0]["containers"], 0);
        assert_eq!(api.post("/v1/admin/customers", &api.staff, r#"{"username": "carol", "password": "another-one"}"#).await.0, StatusCode::CONFLICT);
        let (status, answer) = api.post("/v1/admin/customers/carol/password", &api.staff, r#"{"password": "set by staff"}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert!(answer.get("password").is_none());
        assert_eq!(api.get("/api/me", &carol).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(api.post("/v1/admin/customers/nobody/password", &api.staff, "{}").await.0, StatusCode::NOT_FOUND);
        for body in [r#"{}"#, r#"{"username": "bad name"}"#, r#"{"username": "x", "password": "short"}"#, r#"{"username": "y", "email": "nope"}"#] {
            assert_eq!(api.post("/v1/admin/customers", &api.staff, body).await.0, StatusCode::BAD_REQUEST, "{body}");
        }
    }

    async fn staff_register_servers_and_distros(api) {
        let (status, server) = api.post("/v1/admin/servers", &api.staff, r#"{"name": "node2", "address": "203.0.113.5", "memory": 8192, "storage": 100000, "datacenter": "fra1"}"#).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(server["free_memory"], 8192);
        assert_eq!(server["datacenter"], "fra1");
        let token = server["join_token"].as_str().expect("a join token").to_owned();
        let (status, again) = api.post("/v1/admin/servers/node2/join-token", &api.staff, "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["server"], "node2");
        assert_ne!(again["join_token"], token.as_str());
        assert_eq!(api.post("/v1/admin/servers/ghost/join-token", &api.staff, "").await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.post("/v1/admin/servers", &api.staff, r#"{"name": "node2", "address": "203.0.113.6", "memory": 1, "storage": 1}"#).await.0, StatusCode::CONFLICT);
        assert_eq!(api.post("/v1/admin/servers", &api.staff, r#"{"name": "node3", "address": "not-an-ip", "memory": 1, "storage": 1}"#).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(api.post("/v1/admin/servers", &api.staff, r#"{"name": "node3", "address": "203.0.113.7", "memory": 1, "storage": 1, "owner": "ghost"}"#).await.0, StatusCode::NOT_FOUND);
        let (_, servers) = api.get("/v1/admin/servers", &api.staff).await;
        assert_eq!(servers.as_array().expect("list").len(), 2);
        let (status, distro) = api.post("/v1/admin/distros", &api.staff, r#"{"name": "bookworm", "path": "/distros/bookworm"}"#).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(api.get("/v1/admin/distros", &api.staff).await.1, json!([distro]));
        assert_eq!(api.post("/v1/admin/distros", &api.staff, r#"{"name": "evil", "path": "/distros/../etc"}"#).await.0, StatusCode::BAD_REQUEST);
    }

    async fn staff_create_resize_and_delete_containers(api) {
        let alice = api.customer("alice").await;
        let (status, created) = api.post("/v1/admin/containers", &api.staff, r#"{"customer": "alice", "server": "shared1", "name": "web", "memory": 1024, "storage": 2048}"#).await;
        assert_eq!(status, StatusCode::CREATED);
        let uid = created["uid"].as_i64().expect("uid");
        assert_eq!(api.get("/api/me", &alice.login).await.1["containers"], json!([uid]));
        let (status, resized) = api.post(&format!("/v1/admin/containers/{uid}"), &api.staff, r#"{"memory": 4096}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(resized["memory"], 4096);
        let (status, error) = api.post(&format!("/v1/admin/containers/{uid}"), &api.staff, r#"{"memory": 4097}"#).await;
        assert_eq!(status, StatusCode::CONFLICT, "{error}");
        let (_, server) = api.get("/v1/admin/servers", &api.staff).await;
        assert_eq!(server[0]["used_memory"], 4096);
        let (_, list) = api.get("/v1/admin/containers", &api.staff).await;
        assert_eq!(list[0]["customer"], "alice");
        assert_eq!(api.delete(&format!("/v1/admin/containers/{uid}"), &api.staff).await.0, StatusCode::OK);
        assert_eq!(api.get("/api/me", &alice.login).await.1["containers"], json!([]));
        let (_, server) = api.get("/v1/admin/servers", &api.staff).await;
        assert_eq!(server[0]["used_memory"], 0);
        assert_eq!(api.delete(&format!("/v1/admin/containers/{uid}"), &api.staff).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.post("/v1/admin/containers", &api.staff, r#"{"customer": "ghost", "server": "shared1", "name": "x", "memory": 1, "storage": 1}"#).await.0, StatusCode::NOT_FOUND);
    }

    async fn customers_cannot_use_the_staff_api(api) {
        let alice = api.customer("alice").await;
        for path in ["/v1/admin/customers", "/v1/admin/servers", "/v1/admin/distros", "/v1/admin/containers"] {
            let (status, body) = api.get(path, &alice.login).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert!(body.as_array().is_none());
            assert_eq!(api.send(reqwest::Method::GET, path, None, None).await.0, StatusCode::UNAUTHORIZED);
        }
        let (status, _) = api.post("/v1/admin/customers", &alice.login, r#"{"username": "mallory"}"#).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(!api.store.user_exists("mallory").await.expect("lookup"));
        let (status, _) = api.post("/v1/admin/servers/shared1/join-token", &alice.login, "").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
