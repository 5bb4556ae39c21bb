//! Hostile and broken input: every one gets a 4xx JSON error, never a 500, and loses nothing.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_stores! {
    async fn malformed_bodies_are_400(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let path = format!("/api/containers/{uid}");
        let bodies: Vec<Vec<u8>> = vec![
            b"{not json".to_vec(),
            b"[1, 2, 3]".to_vec(),
            b"\"just a string\"".to_vec(),
            b"null".to_vec(),
            b"{\"name\": \"\xff\xfe\"}".to_vec(),
            vec![0xff, 0xfe, 0x00, 0x7b],
            b"{\"name\": \"a\"} trailing".to_vec(),
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            b"{\"memory\": 1e400}".to_vec(),
            b"{\"memory\": 99999999999999999999999}".to_vec(),
            b"{\"alarm_freq\": -99999999999999999999}".to_vec(),
            b"{\"quota_threshold\": 1.5}".to_vec(),
        ];
        for body in bodies {
            let shown = String::from_utf8_lossy(&body).chars().take(40).collect::<String>();
            let (status, error) = api.send(Method::POST, &path, Some(&alice.login), Some(body)).await;
            assert!(status.is_client_error(), "{shown}: {status}");
            assert!(error["error"].is_string(), "{shown}");
        }
        assert_eq!(api.get(&path, &alice.login).await.1["name"], "web");
    }

    async fn bodies_over_64_kib_are_413(api) {
        let alice = api.customer("alice").await;
        let note = "x".repeat(70 * 1024);
        let body = json!({"note": note}).to_string();
        let uid = api.container(&alice, "web").await;
        let (status, error) = api.post(&format!("/api/containers/{uid}"), &alice.login, &body).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(error["error"], "Request entity too large");
        // The same without Content-Length: a chunked stream is cut off at the limit too.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            (0..80).map(|_| Ok(vec![b' '; 1024])).collect();
        let response = api
            .http
            .post(format!("{}/api/containers/{uid}", api.base))
            .basic_auth("alice", Some(&alice.login.password))
            .body(reqwest::Body::wrap_stream(futures_stream(chunks)))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(api.get(&format!("/api/containers/{uid}"), &alice.login).await.1["note"], "", "the refused body changed nothing");
    }

    async fn hostile_names_are_refused_or_stored_verbatim(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let path = format!("/api/containers/{uid}");
        for name in ["\u{0}", "a\u{1b}[31mred", "tab\there", &"n".repeat(300)] {
            let body = json!({"name": name}).to_string();
            assert_eq!(api.post(&path, &alice.login, &body).await.0, StatusCode::BAD_REQUEST, "{name:?}");
        }
        for name in ["'; DROP TABLE containers; --", "<script>alert(1)</script>", "ünïcødé 🚀", "../../etc/passwd"] {
            let body = json!({"name": name}).to_string();
            let (status, detail) = api.post(&path, &alice.login, &body).await;
            assert_eq!(status, StatusCode::OK, "{name}");
            assert_eq!(detail["name"], name);
            assert!(detail["hostname"].as_str().expect("hostname").chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        }
        assert_eq!(api.get("/api/containers", &alice.login).await.1.as_array().expect("list").len(), 1);
    }

    async fn unknown_paths_and_methods_are_json_errors(api) {
        let alice = api.customer("alice").await;
        let (status, body) = api.get("/api/nothing-here", &alice.login).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body, json!({"error": "Not found", "reason": "no such endpoint"}));
        let (status, body) = api.send(Method::PUT, "/api/me", Some(&alice.login), None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body, json!({"error": "Method not allowed"}));
        let (status, _) = api.send(Method::DELETE, "/api/containers", Some(&alice.login), None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }

    async fn query_strings_never_break_lists(api) {
        let alice = api.customer("alice").await;
        for query in ["?tags=%00", "?tags=,,,", "?tags=%ff%fe", "?tags=a&tags=b", "?unknown=1"] {
            let (status, _) = api.get(&format!("/api/containers{query}"), &alice.login).await;
            assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST, "{query}: {status}");
        }
    }
    async fn nul_bytes_never_reach_the_database_as_errors(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let (status, _) = api.post(&format!("/api/containers/{uid}"), &alice.login, r#"{"note": "a\u0000b"}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = api.post("/api/containers", &alice.login, r#"{"server": "a\u0000b", "name": "x", "memory": 1, "storage": 1}"#).await;
        assert!(status.is_client_error(), "{status}");
        let (status, _) = api.post("/v1/admin/customers/a%00b/password", &api.staff, "{}").await;
        assert!(status.is_client_error(), "{status}");
        let nul_user = support::Login { username: "a\u{0}b".into(), password: "whatever1".into() };
        assert_eq!(api.get("/api/me", &nul_user).await.0, StatusCode::UNAUTHORIZED);
    }
}

/// A stream of body chunks, so that reqwest sends no Content-Length.
fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    tokio_stream::iter(chunks)
}
