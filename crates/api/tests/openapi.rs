//! `/api/openapi.json` describes the customer API: every operation it lists is answered by
//! a route, every path it lists refuses the methods it does not list, and an answer that
//! drifts from it fails the check every API test makes (`support/openapi.rs`).

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const METHODS: [&str; 3] = ["get", "post", "delete"];

/// The concrete path a test calls for a documented path template.
fn concrete(template: &str, uid: i64) -> String {
    template
        .replace("{uid}", &uid.to_string())
        .replace("{id}", "999999")
        .replace("{server}", "192.0.2.1")
        .replace("container.{metric}", "container.cpu")
        .replace("domain.{metric}", "domain.hits")
}

/// Asserts that `GET /api/openapi.json` lists `status` for `method` `template`.
fn documented(document: &Value, method: &str, template: &str, status: StatusCode) {
    let responses = &document["paths"][template][method]["responses"];
    assert!(
        responses.get(status.as_str()).is_some(),
        "{method} {template} answers {status}, which its description does not list"
    );
}

on_both_stores! {
    async fn refusals_the_tests_meet_are_documented(api) {
        let alice = api.customer("alice").await;
        let (_, document) = api.send(Method::GET, "/api/openapi.json", None, None).await;
        let (status, _) = api.get("/api/loopboxes?container=x", &alice.login).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        documented(&document, "get", "/loopboxes", status);
        let (status, _) = api.post("/api/me", &alice.login, r#"{"password": 5}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        documented(&document, "post", "/me", status);
        let big = vec![b' '; 70 * 1024];
        let (status, _) = api.send(Method::POST, "/api/tags", Some(&alice.login), Some(big)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        documented(&document, "post", "/tags", status);
        // Ten wrong passwords, then 429 for every operation with credentials.
        let wrong = support::Login { username: "alice".into(), password: "wrong".into() };
        let mut status = StatusCode::UNAUTHORIZED;
        for _ in 0..11 {
            status = api.get("/api/containers", &wrong).await.0;
        }
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        for (template, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                let public = operation["security"] == serde_json::json!([]);
                assert_eq!(
                    operation["responses"].get("429").is_some(),
                    !public,
                    "{method} {template}: 429 is listed exactly where credentials are taken"
                );
            }
        }
    }

    async fn an_answer_that_drifts_from_the_document_is_caught(api) {
        let alice = api.customer("alice").await;
        let (status, tag) = api.post("/api/tags", &alice.login, r#"{"name": "web"}"#).await;
        assert_eq!(status, StatusCode::CREATED);
        let path = format!("/api/tags/{}", tag["id"]);
        let (status, tag) = api.get(&path, &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        let check = |status: StatusCode, body: &Value| support::openapi::check(&Method::GET, &path, status, body);
        assert_eq!(check(status, &tag), Ok(()));
        // A field gained, a field lost, a field of another type.
        let mut gained = tag.clone();
        gained["color"] = json!("red");
        let error = check(status, &gained).expect_err("a field the schema does not list");
        assert!(error.contains("color"), "{error}");
        let mut lost = tag.clone();
        lost.as_object_mut().expect("object").remove("note");
        let error = check(status, &lost).expect_err("a required field missing");
        assert!(error.contains("note"), "{error}");
        let mut retyped = tag.clone();
        retyped["id"] = json!(tag["id"].to_string());
        check(status, &retyped).expect_err("an id that is a string");
        // A status the operation does not list, an error without the error body, an
        // undocumented path or method that is not refused.
        check(StatusCode::CONFLICT, &json!({"error": "Conflict"})).expect_err("GET /tags/{id} lists no 409");
        check(StatusCode::NOT_FOUND, &json!({"message": "Ok"})).expect_err("a 404 is an error body");
        support::openapi::check(&Method::GET, "/api/nothing", StatusCode::OK, &json!({}))
            .expect_err("an undocumented path answered 200");
        support::openapi::check(&Method::PUT, &path, StatusCode::OK, &tag)
            .expect_err("an undocumented method answered 200");
    }

    async fn the_document_is_public_openapi_3(api) {
        let (status, document) = api.send(Method::GET, "/api/openapi.json", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(document["servers"][0]["url"], "/api");
        let paths = document["paths"].as_object().expect("paths");
        assert!(paths.len() >= 20, "{}", paths.len());
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("path item") {
                assert!(operation["summary"].is_string(), "{method} {path}");
                assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
            }
        }
    }

    async fn every_documented_operation_is_routed(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let (_, document) = api.send(Method::GET, "/api/openapi.json", None, None).await;
        for (template, item) in document["paths"].as_object().expect("paths") {
            let path = format!("/api{}", concrete(template, uid));
            let item = item.as_object().expect("path item");
            for method in METHODS {
                let verb = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                // `send` checks the answer against the document, including that a method the
                // path does not list is refused with 405.
                let (status, body): (StatusCode, Value) =
                    api.send(verb, &path, Some(&alice.login), Some(b"{}".to_vec())).await;
                if item.contains_key(method) {
                    assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {body}");
                    assert!(
                        !(status == StatusCode::NOT_FOUND && body["reason"] == "no such endpoint"),
                        "{method} {path} is documented but not routed"
                    );
                } else {
                    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is routed but not documented: {body}");
                }
            }
        }
    }
}
