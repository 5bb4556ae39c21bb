//! `/api/news` for visitors and customers, and `/v1/admin/news` for staff.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::Login;

fn contents(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item["content"].as_str().expect("content"))
        .collect()
}

on_both_stores! {
    async fn visitors_see_public_news_and_customers_all(api) {
        let alice = api.customer("alice").await;
        api.store.add_news("first, public", true).await.expect("news");
        api.store.add_news("second, customers only", false).await.expect("news");
        let (status, public) = api.send(Method::GET, "/api/news", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(contents(&public), vec!["first, public"]);
        let date = public[0]["date"].as_i64().expect("date is a unix number");
        assert!(date > 1_600_000_000);
        assert_eq!(public[0].as_object().expect("object").len(), 2, "{public}");
        // A logged-out uwsgiit-console sends None:None; wrong credentials are no error here.
        for wrong in [
            Login { username: "None".into(), password: "None".into() },
            Login { username: "alice".into(), password: "wrong-password".into() },
            api.staff.clone(),
        ] {
            let (status, list) = api.get("/api/news/", &wrong).await;
            assert_eq!(status, StatusCode::OK, "{wrong:?}");
            assert_eq!(list, public, "{wrong:?}");
        }
        let (status, all) = api.get("/api/news", &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(contents(&all), vec!["second, customers only", "first, public"]);
    }

    async fn only_the_ten_newest_are_shown(api) {
        let alice = api.customer("alice").await;
        for n in 1..=12 {
            api.store.add_news(&format!("news {n}"), true).await.expect("news");
        }
        let (_, list) = api.get("/api/news", &alice.login).await;
        let expected: Vec<String> = (3..=12).rev().map(|n| format!("news {n}")).collect();
        assert_eq!(contents(&list), expected);
    }

    async fn staff_publish_news(api) {
        let alice = api.customer("alice").await;
        let (status, item) = api.post("/v1/admin/news", &api.staff, r#"{"content": "Maintenance on Sunday", "public": true}"#).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(item["content"], "Maintenance on Sunday");
        assert_eq!(item["public"], true);
        let (status, _) = api.post("/v1/admin/news", &api.staff, r#"{"content": "New prices"}"#).await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, listed) = api.get("/v1/admin/news", &api.staff).await;
        assert_eq!(contents(&listed), vec!["New prices", "Maintenance on Sunday"]);
        assert_eq!(listed[0]["public"], false);
        let (_, public) = api.send(Method::GET, "/api/news", None, None).await;
        assert_eq!(contents(&public), vec!["Maintenance on Sunday"]);
        for body in [r#"{}"#, r#"{"content": ""}"#, r#"{"content": "  "}"#, r#"{"content": 5}"#, r#"{"content": "x", "public": "maybe"}"#, r#"{"content": "a\u0000b"}"#] {
            assert_eq!(api.post("/v1/admin/news", &api.staff, body).await.0, StatusCode::BAD_REQUEST, "{body}");
        }
        assert_eq!(api.post("/v1/admin/news", &alice.login, r#"{"content": "spam", "public": true}"#).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get("/v1/admin/news", &alice.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.send(Method::GET, "/api/news", None, None).await.1, json!([{"content": "Maintenance on Sunday", "date": item["date"]}]));
    }
}
