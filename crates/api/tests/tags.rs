//! `/api/tags`: per-customer tags and their isolation.

mod support;

use reqwest::StatusCode;
use serde_json::json;

on_both_stores! {
    async fn tags_are_created_listed_renamed_and_deleted(api) {
        let alice = api.customer("alice").await;
        let (status, tag) = api.post("/api/tags", &alice.login, r#"{"name": "prod", "note": "live"}"#).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(tag["name"], "prod");
        assert_eq!(tag["note"], "live");
        let id = tag["id"].as_i64().expect("id");
        assert_eq!(api.get("/api/tags", &alice.login).await.1, json!([{"id": id, "name": "prod"}]));
        assert_eq!(api.get("/api/tags/", &alice.login).await.0, StatusCode::OK);
        assert_eq!(api.get(&format!("/api/tags/{id}"), &alice.login).await.1, tag);
        let (status, renamed) = api.post(&format!("/api/tags/{id}"), &alice.login, r#"{"name": "production"}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(renamed, json!({"id": id, "name": "production", "note": "live"}));
        let (status, ok) = api.delete(&format!("/api/tags/{id}"), &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ok, json!({"message": "Ok"}));
        assert_eq!(api.get("/api/tags", &alice.login).await.1, json!([]));
        assert_eq!(api.get(&format!("/api/tags/{id}"), &alice.login).await.0, StatusCode::NOT_FOUND);
    }

    async fn tag_names_are_unique_per_customer(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        assert_eq!(api.post("/api/tags", &alice.login, r#"{"name": "prod"}"#).await.0, StatusCode::CREATED);
        assert_eq!(api.post("/api/tags", &alice.login, r#"{"name": "prod"}"#).await.0, StatusCode::CONFLICT);
        assert_eq!(api.post("/api/tags", &bob.login, r#"{"name": "prod"}"#).await.0, StatusCode::CREATED);
        let (_, other) = api.post("/api/tags", &alice.login, r#"{"name": "dev"}"#).await;
        let (status, _) = api.post(&format!("/api/tags/{}", other["id"]), &alice.login, r#"{"name": "prod"}"#).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    async fn bad_tags_are_400(api) {
        let alice = api.customer("alice").await;
        for body in [r#"{}"#, r#"{"name": ""}"#, r#"{"name": "a,b"}"#, r#"{"name": 5}"#, r#"{"name": "x", "note": 5}"#] {
            assert_eq!(api.post("/api/tags", &alice.login, body).await.0, StatusCode::BAD_REQUEST, "{body}");
        }
        assert_eq!(api.get("/api/tags", &alice.login).await.1, json!([]));
    }

    async fn another_customers_tag_is_404(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let (_, tag) = api.post("/api/tags", &alice.login, r#"{"name": "prod"}"#).await;
        let path = format!("/api/tags/{}", tag["id"]);
        assert_eq!(api.get(&path, &bob.login).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.post(&path, &bob.login, r#"{"name": "stolen"}"#).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.delete(&path, &bob.login).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.get("/api/tags", &bob.login).await.1, json!([]));
        assert_eq!(api.get(&path, &alice.login).await.1["name"], "prod");
        // Bob cannot put Alice's tag on his container either: unknown names are dropped.
        let uid = api.container(&bob, "b").await;
        let (_, detail) = api.post(&format!("/api/containers/{uid}"), &bob.login, r#"{"tags": ["prod"]}"#).await;
        assert_eq!(detail["tags"], json!([]));
        for missing in ["/api/tags/999", "/api/tags/x"] {
            assert_eq!(api.get(missing, &alice.login).await.0, StatusCode::NOT_FOUND);
        }
    }

    async fn distros_are_listed_for_customers(api) {
        let alice = api.customer("alice").await;
        let bookworm = api.store.add_distro("bookworm", "/distros/bookworm").await.expect("distro");
        let (status, list) = api.get("/api/distros", &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list, json!([{"id": bookworm.id, "name": "bookworm"}]));
        assert_eq!(api.get("/api/distros/", &alice.login).await.1, list);
        assert_eq!(api.send(reqwest::Method::GET, "/api/distros", None, None).await.0, StatusCode::UNAUTHORIZED);
    }
}
