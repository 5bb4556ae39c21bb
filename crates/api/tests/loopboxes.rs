//! `/api/loopboxes`: creation with enforced path rules, clashes, filters, tags, deletion and
//! isolation between customers.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item["id"].as_i64().expect("id"))
        .collect()
}

async fn listed(api: &support::TestApi, query: String, login: &support::Login) -> Vec<i64> {
    let (status, list) = api.get(&format!("/api/loopboxes{query}"), login).await;
    assert_eq!(status, StatusCode::OK, "{query}: {list}");
    ids(&list)
}

fn create_body(uid: impl Into<Value>, filename: &str, mountpoint: &str) -> String {
    json!({"container": uid.into(), "filename": filename, "mountpoint": mountpoint}).to_string()
}

on_both_stores! {
    async fn loopboxes_are_created_read_and_deleted(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        // uwsgiit-console sends the uid as a string.
        let body = json!({"container": uid.to_string(), "filename": "images/db.ext4", "mountpoint": "data/db", "ro": true}).to_string();
        let (status, created) = api.post("/api/loopboxes", &alice.login, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["message"], "Created");
        let id = created["id"].as_i64().expect("id");
        let expected = json!({"id": id, "container": uid, "filename": "images/db.ext4", "mountpoint": "data/db", "ro": true, "tags": []});
        let (status, shown) = api.get(&format!("/api/loopboxes/{id}"), &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(shown, expected);
        assert_eq!(api.get("/api/loopboxes", &alice.login).await.1, json!([expected]));
        assert_eq!(api.get("/api/loopboxes/", &alice.login).await.1, json!([expected]));
        // ro defaults to false; a JSON number is accepted as the uid too.
        let (status, second) = api.post("/api/loopboxes/", &alice.login, &create_body(uid, "swap.img", "swap")).await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, second) = api.get(&format!("/api/loopboxes/{}", second["id"]), &alice.login).await;
        assert_eq!(second["ro"], false);
        let (status, ok) = api.delete(&format!("/api/loopboxes/{id}"), &alice.login).await;
        assert_eq!((status, ok), (StatusCode::OK, json!({"message": "Ok"})));
        assert_eq!(ids(&api.get("/api/loopboxes", &alice.login).await.1), vec![second["id"].as_i64().expect("id")]);
        assert_eq!(api.get(&format!("/api/loopboxes/{id}"), &alice.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.delete(&format!("/api/loopboxes/{id}"), &alice.login).await.0, StatusCode::FORBIDDEN);
    }

    async fn a_new_loopbox_wakes_its_server(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let before = api.store.revision().await.expect("revision");
        api.post("/api/loopboxes", &alice.login, &create_body(uid, "a.img", "a")).await;
        let servers = api.store.servers().await.expect("servers");
        assert!(servers[0].revision > before, "the node must see the new loopbox");
    }

    async fn hostile_paths_are_400_and_nothing_is_stored(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let long = "x".repeat(5000);
        let sixty_five = "f".repeat(65);
        let hostile_filenames = [
            "../x", "a/../b", "/abs", "a//b", "./a", "a/.", ".", "..", "", "a/", "a\\..\\b",
            "a\u{0}b", "a\nb", sixty_five.as_str(), long.as_str(),
        ];
        for filename in hostile_filenames {
            let (status, error) = api.post("/api/loopboxes", &alice.login, &create_body(uid, filename, "mnt")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "filename {filename:?}: {error}");
            assert!(error["reason"].as_str().expect("reason").starts_with("filename:"), "{error}");
        }
        let hostile_mountpoints = [
            "../x", "a/../b", "/abs", "a//b", "./a", "a/.", "etc", "vassals", "logs", "run",
            "tmp", "etc/uwsgi", "vassals/x", "/", "a\u{0}b", long.as_str(),
        ];
        for mountpoint in hostile_mountpoints {
            let (status, error) = api.post("/api/loopboxes", &alice.login, &create_body(uid, "img", mountpoint)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "mountpoint {mountpoint:?}: {error}");
            assert!(error["reason"].as_str().expect("reason").starts_with("mountpoint:"), "{error}");
        }
        // Raw NUL bytes in the JSON text are refused as well.
        let raw = format!(r#"{{"container": {uid}, "filename": "a\u0000b", "mountpoint": "m"}}"#);
        assert_eq!(api.post("/api/loopboxes", &alice.login, &raw).await.0, StatusCode::BAD_REQUEST);
        // Wrong types are 400 too.
        for body in [
            json!({"container": "x", "filename": "f", "mountpoint": "m"}),
            json!({"container": uid, "filename": 5, "mountpoint": "m"}),
            json!({"container": uid, "filename": "f", "mountpoint": "m", "ro": "maybe"}),
        ] {
            assert_eq!(api.post("/api/loopboxes", &alice.login, &body.to_string()).await.0, StatusCode::BAD_REQUEST, "{body}");
        }
        assert_eq!(api.get("/api/loopboxes", &alice.login).await.1, json!([]));
        // Names that merely look alike are fine.
        let (status, _) = api.post("/api/loopboxes", &alice.login, &create_body(uid, "...", "etcetera/x")).await;
        assert_eq!(status, StatusCode::CREATED);
    }

    async fn missing_keys_and_foreign_containers_are_403(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let alices = api.container(&alice, "web").await;
        for body in [
            json!({"filename": "f", "mountpoint": "m"}),
            json!({"container": alices, "mountpoint": "m"}),
            json!({"container": alices, "filename": "f"}),
            json!({}),
        ] {
            assert_eq!(api.post("/api/loopboxes", &alice.login, &body.to_string()).await.0, StatusCode::FORBIDDEN, "{body}");
        }
        assert_eq!(api.post("/api/loopboxes", &bob.login, &create_body(alices, "f", "m")).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.post("/api/loopboxes", &bob.login, &create_body(99_999, "f", "m")).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get("/api/loopboxes", &alice.login).await.1, json!([]));
    }

    async fn filenames_and_mountpoints_are_unique_per_container(api) {
        let alice = api.customer("alice").await;
        let web = api.container(&alice, "web").await;
        let db = api.container(&alice, "db").await;
        assert_eq!(api.post("/api/loopboxes", &alice.login, &create_body(web, "a.img", "a")).await.0, StatusCode::CREATED);
        let (status, error) = api.post("/api/loopboxes", &alice.login, &create_body(web, "a.img", "other")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(error["error"], "Conflict");
        assert_eq!(api.post("/api/loopboxes", &alice.login, &create_body(web, "other.img", "a")).await.0, StatusCode::CONFLICT);
        // Another container may use the same paths.
        assert_eq!(api.post("/api/loopboxes", &alice.login, &create_body(db, "a.img", "a")).await.0, StatusCode::CREATED);
        assert_eq!(api.get("/api/loopboxes", &alice.login).await.1.as_array().expect("list").len(), 2);
    }

    async fn filters_by_container_and_any_tag(api) {
        let alice = api.customer("alice").await;
        let web = api.container(&alice, "web").await;
        let db = api.container(&alice, "db").await;
        for name in ["a", "b"] {
            api.post("/api/tags", &alice.login, &json!({"name": name}).to_string()).await;
        }
        let mut made = Vec::new();
        for (uid, name) in [(web, "w1"), (web, "w2"), (db, "d1")] {
            let (_, created) = api.post("/api/loopboxes", &alice.login, &create_body(uid, name, name)).await;
            made.push(created["id"].as_i64().expect("id"));
        }
        let (w1, w2, d1) = (made[0], made[1], made[2]);
        let (status, tagged) = api.post(&format!("/api/loopboxes/{w1}"), &alice.login, r#"{"tags": ["a", "b", "unknown", "a"]}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(tagged["tags"], json!(["a", "b"]));
        api.post(&format!("/api/loopboxes/{d1}"), &alice.login, r#"{"tags": ["b"]}"#).await;
        let list = |query: String| listed(&api, query, &alice.login);
        assert_eq!(list("?tags=a,b".into()).await, vec![w1, d1], "each once");
        assert_eq!(list("?tags=a".into()).await, vec![w1]);
        assert_eq!(list(format!("?container={web}")).await, vec![w1, w2]);
        assert_eq!(list(format!("?container={db}&tags=b")).await, vec![d1]);
        assert_eq!(list(format!("?container={web}&tags=b")).await, vec![w1]);
        // Empty parameters mean no filter.
        assert_eq!(list("?container=&tags=".into()).await, vec![w1, w2, d1]);
        assert_eq!(api.get("/api/loopboxes?container=abc", &alice.login).await.0, StatusCode::BAD_REQUEST);
        // Only tags can change, and an empty body is 403.
        let path = format!("/api/loopboxes/{w2}");
        assert_eq!(api.post(&path, &alice.login, "").await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.post(&path, &alice.login, r#"{"filename": "x"}"#).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.post(&path, &alice.login, r#"{"tags": "a"}"#).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(api.get(&path, &alice.login).await.1["filename"], "w2");
        let (_, cleared) = api.post(&format!("/api/loopboxes/{w1}"), &alice.login, r#"{"tags": []}"#).await;
        assert_eq!(cleared["tags"], json!([]));
    }

    async fn another_customers_loopboxes_are_403(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let uid = api.container(&alice, "web").await;
        api.post("/api/tags", &bob.login, r#"{"name": "mine"}"#).await;
        let (_, created) = api.post("/api/loopboxes", &alice.login, &create_body(uid, "a.img", "a")).await;
        let path = format!("/api/loopboxes/{}", created["id"]);
        assert_eq!(api.get(&path, &bob.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.post(&path, &bob.login, r#"{"tags": ["mine"]}"#).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.delete(&path, &bob.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get(&format!("/api/loopboxes?container={uid}"), &bob.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get("/api/loopboxes", &bob.login).await.1, json!([]));
        assert_eq!(api.get(&path, &alice.login).await.1["tags"], json!([]));
        assert_eq!(api.get("/api/loopboxes/999", &alice.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get("/api/loopboxes/x", &alice.login).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.send(Method::GET, "/api/loopboxes", None, None).await.0, StatusCode::UNAUTHORIZED);
    }
}
