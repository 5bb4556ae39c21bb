//! `/api/alarms`: raising (by credentials or alarm key), the ring, filters, ranges, reading,
//! deleting, and isolation between customers.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{Login, TestApi};

/// POSTs `body` to `/api/alarms/raise/<uid>?<query>` as `login` (or without credentials).
async fn raise(
    api: &TestApi,
    login: Option<&Login>,
    uid: i64,
    query: &str,
    body: &str,
) -> (StatusCode, Value) {
    let path = format!("/api/alarms/raise/{uid}?{query}");
    api.send(Method::POST, &path, login, Some(body.as_bytes().to_vec()))
        .await
}

/// The `unix` of each alarm `GET /api/alarms?<query>` lists, in its order.
async fn listed(api: &TestApi, login: &Login, query: &str) -> Vec<i64> {
    let (status, list) = api.get(&format!("/api/alarms?{query}"), login).await;
    assert_eq!(status, StatusCode::OK, "{query}: {list}");
    list.as_array()
        .expect("a list")
        .iter()
        .map(|alarm| alarm["unix"].as_i64().expect("unix"))
        .collect()
}

/// Raises alarms with `unix` 1 to `count` on `uid`.
async fn raise_numbered(api: &TestApi, login: &Login, uid: i64, count: i64) {
    for unix in 1..=count {
        let (status, _) = raise(api, Some(login), uid, &format!("unix={unix}"), "x").await;
        assert_eq!(status, StatusCode::CREATED);
    }
}

on_both_stores! {
    async fn an_alarm_is_raised_read_and_deleted(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        // uwsgiit-py sends json.dumps(msg): the quotes are part of the message.
        let query = "class=db&color=ff0000&vassal=app.ini&line=42&func=main&filename=app.py&level=3&unix=1000";
        let (status, created) = raise(&api, Some(&alice.login), uid, query, "\"hello \\\"world\\\"\"").await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["message"], "Created");
        let id = created["id"].as_i64().expect("id");
        let expected = json!({
            "id": id, "container": uid, "level": 3, "color": "#ff0000", "class": "db",
            "vassal": "app.ini", "line": 42, "filename": "app.py", "func": "main", "unix": 1000,
            "msg": "\"hello \\\"world\\\"\"",
        });
        assert_eq!(api.get("/api/alarms", &alice.login).await.1, json!([expected]));
        assert_eq!(api.get("/api/alarms/", &alice.login).await.1, json!([expected]));
        assert_eq!(api.get(&format!("/api/alarms/{id}"), &alice.login).await.1, expected);
        let (status, ok) = api.delete(&format!("/api/alarms/{id}"), &alice.login).await;
        assert_eq!((status, ok), (StatusCode::OK, json!({"message": "Ok"})));
        assert_eq!(api.get("/api/alarms", &alice.login).await.1, json!([]));
        assert_eq!(api.get(&format!("/api/alarms/{id}"), &alice.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.delete(&format!("/api/alarms/{id}"), &alice.login).await.0, StatusCode::FORBIDDEN);
    }

    async fn defaults_aliases_and_raw_bodies(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        assert_eq!(api.post(&format!("/api/alarms/trigger/{uid}"), &alice.login, "plain text, no JSON").await.0, StatusCode::CREATED);
        let (_, list) = api.get("/api/alarms", &alice.login).await;
        let alarm = &list[0];
        assert_eq!(alarm["level"], 1);
        assert_eq!(alarm["color"], "#ffffff");
        assert_eq!(alarm["class"], Value::Null);
        assert_eq!(alarm["line"], Value::Null);
        assert_eq!(alarm["msg"], "plain text, no JSON");
        assert!(alarm["unix"].as_i64().expect("unix") >= before);
        // Any Content-Type, and blank query fields count as absent.
        let response = api
            .http
            .post(format!("{}/api/alarms/raise/{uid}?class=&level=&line=&color=", api.base))
            .basic_auth("alice", Some(&alice.login.password))
            .header("content-type", "application/json")
            .body("{\"not\": \"parsed\"}\nline two")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::CREATED);
        let (_, list) = api.get("/api/alarms", &alice.login).await;
        let messages: Vec<&str> = list.as_array().expect("list").iter().map(|a| a["msg"].as_str().expect("msg")).collect();
        assert!(messages.contains(&"{\"not\": \"parsed\"}\nline two"), "{messages:?}");
        // Raising is POST only.
        let (status, error) = api.get(&format!("/api/alarms/raise/{uid}"), &alice.login).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(error["error"], "Method not allowed");
    }

    async fn bad_alarms_are_refused_and_not_stored(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        for (query, expected) in [
            ("level=0", StatusCode::FORBIDDEN),
            ("level=-3", StatusCode::FORBIDDEN),
            ("level=5", StatusCode::BAD_REQUEST),
            ("level=high", StatusCode::BAD_REQUEST),
            ("line=ten", StatusCode::BAD_REQUEST),
            ("unix=yesterday", StatusCode::BAD_REQUEST),
            ("unix=-1", StatusCode::BAD_REQUEST),
            ("color=red", StatusCode::BAD_REQUEST),
            ("color=%23ff00", StatusCode::BAD_REQUEST),
            ("class=a%0Ab", StatusCode::BAD_REQUEST),
            ("level=1&level=2", StatusCode::BAD_REQUEST),
        ] {
            let (status, error) = raise(&api, Some(&alice.login), uid, query, "x").await;
            assert_eq!(status, expected, "{query}: {error}");
            assert!(error["error"].is_string());
        }
        let not_utf8 = api.send(Method::POST, &format!("/api/alarms/raise/{uid}"), Some(&alice.login), Some(vec![0xff, 0xfe, b'x'])).await;
        assert_eq!(not_utf8.0, StatusCode::BAD_REQUEST);
        assert_eq!(raise(&api, Some(&alice.login), uid, "", "a\0b").await.0, StatusCode::BAD_REQUEST);
        let huge = "x".repeat(70 * 1024);
        assert_eq!(raise(&api, Some(&alice.login), uid, "", &huge).await.0, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(api.get("/api/alarms", &alice.login).await.1, json!([]));
        // The `#` is optional and hex digits are stored in lower case.
        assert_eq!(raise(&api, Some(&alice.login), uid, "color=%2300FF00", "x").await.0, StatusCode::CREATED);
        assert_eq!(api.get("/api/alarms", &alice.login).await.1[0]["color"], "#00ff00");
    }

    async fn the_ring_keeps_the_newest(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        let other = api.container(&alice, "db").await;
        api.store.set_max_alarms(uid, 3).await.expect("ring size");
        assert!(api.store.set_max_alarms(uid, 0).await.is_err());
        raise_numbered(&api, &alice.login, other, 2).await;
        // Raised out of order: the ring drops the oldest by unix, not the first raised.
        for unix in [5, 1, 4, 2, 3] {
            raise(&api, Some(&alice.login), uid, &format!("unix={unix}"), "x").await;
        }
        assert_eq!(listed(&api, &alice.login, &format!("container={uid}")).await, vec![5, 4, 3]);
        assert_eq!(listed(&api, &alice.login, &format!("container={other}")).await, vec![2, 1]);
        // A smaller ring takes effect on the next raise.
        api.store.set_max_alarms(uid, 2).await.expect("ring size");
        raise(&api, Some(&alice.login), uid, "unix=6", "x").await;
        assert_eq!(listed(&api, &alice.login, &format!("container={uid}")).await, vec![6, 5]);
    }

    async fn concurrent_raises_never_overflow_the_ring(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        api.store.set_max_alarms(uid, 5).await.expect("ring size");
        let mut raises = Vec::new();
        for unix in 0..20 {
            let (http, base, password) = (api.http.clone(), api.base.clone(), alice.login.password.clone());
            raises.push(tokio::spawn(async move {
                http.post(format!("{base}/api/alarms/raise/{uid}?unix={unix}"))
                    .basic_auth("alice", Some(password))
                    .body("x")
                    .send()
                    .await
                    .expect("request")
                    .status()
            }));
        }
        for raised in raises {
            assert_eq!(raised.await.expect("task"), StatusCode::CREATED);
        }
        // Which five survive depends on arrival order (a late low `unix` evicts the oldest at
        // that moment), but never more than five.
        let (_, page) = api.get("/api/alarms?with_total", &alice.login).await;
        assert_eq!(page["total"], 5, "{page}");
        assert_eq!(listed(&api, &alice.login, "").await.len(), 5);
    }

    async fn every_filter_matches_exactly(api) {
        let alice = api.customer("alice").await;
        let web = api.container(&alice, "web").await;
        let db = api.container(&alice, "db").await;
        for (uid, query) in [
            (web, "unix=1&vassal=a.ini&class=x&color=ff0000&level=2&line=10&filename=a.py&func=f"),
            (web, "unix=2&vassal=b.ini&class=y&color=00ff00&level=3&line=20&filename=b.py&func=g"),
            (db, "unix=3&vassal=a.ini&class=y&color=ff0000&level=4&line=10&filename=a.py&func=g"),
        ] {
            assert_eq!(raise(&api, Some(&alice.login), uid, query, "x").await.0, StatusCode::CREATED);
        }
        for (query, expected) in [
            (format!("container={web}"), vec![2, 1]),
            (format!("container={db}"), vec![3]),
            ("vassal=a.ini".to_owned(), vec![3, 1]),
            ("class=y".to_owned(), vec![3, 2]),
            ("color=%23ff0000".to_owned(), vec![3, 1]),
            ("color=FF0000".to_owned(), vec![3, 1]),
            ("level=3".to_owned(), vec![2]),
            ("line=10".to_owned(), vec![3, 1]),
            ("filename=b.py".to_owned(), vec![2]),
            ("func=g".to_owned(), vec![3, 2]),
            (format!("container={web}&class=y&func=g"), vec![2]),
            ("vassal=a".to_owned(), vec![]),
            // uwsgiit-console sends every blank form field.
            ("vassal=&class=y&color=&level=&line=&filename=&func=&container=".to_owned(), vec![3, 2]),
        ] {
            assert_eq!(listed(&api, &alice.login, &query).await, expected, "{query}");
        }
        for query in ["level=high", "line=x", "container=web", "color=red"] {
            let (status, error) = api.get(&format!("/api/alarms?{query}"), &alice.login).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {error}");
        }
    }

    async fn ranges_slice_newest_first_or_oldest_first(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        raise_numbered(&api, &alice.login, uid, 12).await;
        for (range, expected) in [
            ("3", vec![12, 11, 10]),
            ("0", vec![]),
            ("2-5", vec![10, 9, 8]),
            // A > B: oldest first, skipping the oldest B.
            ("6-3", vec![4, 5, 6]),
            // Bounds compare as numbers (upstream compared "10" < "9" as strings).
            ("10-9", vec![10]),
            ("2-12", vec![10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
            ("11-13", vec![1]),
            ("50", (1..=12).rev().collect()),
        ] {
            assert_eq!(listed(&api, &alice.login, &format!("range={range}")).await, expected, "range={range}");
        }
        for range in ["6-a", "6-", "a", "", "-3", "1-2-3", "3.5", "99999999999999999999"] {
            let (status, error) = api.get(&format!("/api/alarms?range={range}"), &alice.login).await;
            assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE, "range={range}: {error}");
            assert_eq!(error["error"], "Requested Range Not Satisfiable");
        }
        let (status, page) = api.get("/api/alarms?with_total&range=2", &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["total"], 12);
        assert_eq!(page["alarms"].as_array().expect("alarms").len(), 2);
        assert_eq!(page["alarms"][0]["unix"], 12);
        let (_, page) = api.get("/api/alarms?with_total=1&range=6-3&unix=", &alice.login).await;
        assert_eq!(page["total"], 12);
        assert_eq!(page["alarms"][0]["unix"], 4);
        let (_, page) = api.get(&format!("/api/alarms?with_total&container={uid}&line=5"), &alice.login).await;
        assert_eq!(page, json!({"total": 0, "alarms": []}));
    }

    async fn alarm_keys_raise_without_credentials(api) {
        let alice = api.customer("alice").await;
        let web = api.container(&alice, "web").await;
        let db = api.container(&alice, "db").await;
        // No key yet: nothing opens the door.
        assert_eq!(raise(&api, None, web, "key=anything", "x").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(raise(&api, None, web, "", "x").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(raise(&api, None, web, "key=", "x").await.0, StatusCode::UNAUTHORIZED);
        let (status, answer) = api.get(&format!("/api/alarm_key/{web}"), &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["message"], "Ok");
        let key = answer["alarm_key"].as_str().expect("alarm_key").to_owned();
        assert_eq!(key.len(), 36);
        let (status, created) = raise(&api, None, web, &format!("key={key}&class=cron"), "backup failed").await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (_, list) = api.get("/api/alarms", &alice.login).await;
        assert_eq!(list[0]["class"], "cron");
        assert_eq!(list[0]["container"], web);
        // Wrong key, or the key of another container.
        let (status, error) = raise(&api, None, web, "key=00000000-0000-0000-0000-000000000000", "x").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error["error"], "Unauthorized");
        assert_eq!(raise(&api, None, db, &format!("key={key}"), "x").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(raise(&api, None, 99_999, &format!("key={key}"), "x").await.0, StatusCode::UNAUTHORIZED);
        // Credentials, when sent, are what counts: wrong ones fail even with a good key.
        let wrong = Login { username: "alice".into(), password: "wrong-password".into() };
        assert_eq!(raise(&api, Some(&wrong), web, &format!("key={key}"), "x").await.0, StatusCode::UNAUTHORIZED);
        // Any method regenerates; the old key stops working.
        let (status, answer) = api.post(&format!("/api/alarm_key/{web}"), &alice.login, "").await;
        assert_eq!(status, StatusCode::OK);
        let new_key = answer["alarm_key"].as_str().expect("alarm_key").to_owned();
        assert_ne!(new_key, key);
        assert_eq!(raise(&api, None, web, &format!("key={key}"), "x").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(raise(&api, None, web, &format!("key={new_key}"), "x").await.0, StatusCode::CREATED);
        // The key still cannot raise a level-0 alarm.
        assert_eq!(raise(&api, None, web, &format!("key={new_key}&level=0"), "x").await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get("/api/alarms", &alice.login).await.1.as_array().expect("list").len(), 2);
    }

    async fn another_customers_alarms_are_403(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let uid = api.container(&alice, "web").await;
        let bobs = api.container(&bob, "b").await;
        let (_, created) = raise(&api, Some(&alice.login), uid, "", "secret").await;
        let path = format!("/api/alarms/{}", created["id"]);
        assert_eq!(api.get(&path, &bob.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.delete(&path, &bob.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(raise(&api, Some(&bob.login), uid, "", "spoofed").await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get(&format!("/api/alarm_key/{uid}"), &bob.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get(&format!("/api/alarms?container={uid}"), &bob.login).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api.get("/api/alarms", &bob.login).await.1, json!([]));
        assert_eq!(api.get("/api/alarms?with_total", &bob.login).await.1, json!({"total": 0, "alarms": []}));
        // Bob's own key does not open Alice's container.
        let (_, answer) = api.get(&format!("/api/alarm_key/{bobs}"), &bob.login).await;
        let bobs_key = answer["alarm_key"].as_str().expect("alarm_key").to_owned();
        assert_eq!(raise(&api, None, uid, &format!("key={bobs_key}"), "x").await.0, StatusCode::UNAUTHORIZED);
        let (_, list) = api.get("/api/alarms", &alice.login).await;
        assert_eq!(list.as_array().expect("list").len(), 1);
        assert_eq!(list[0]["msg"], "secret");
        for path in ["/api/alarms/raise/x", "/api/alarm_key/x", "/api/alarms/raise/30000"] {
            assert_eq!(api.post(path, &alice.login, "x").await.0, StatusCode::FORBIDDEN, "{path}");
        }
        assert_eq!(api.get("/api/alarms/x", &alice.login).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api.send(Method::GET, "/api/alarms", None, None).await.0, StatusCode::UNAUTHORIZED);
    }

    async fn system_alarms_come_from_the_store(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        api.store.set_max_alarms(uid, 2).await.expect("ring size");
        let alarm = api.store.raise_system_alarm(uid, 100, "quota over 90%").await.expect("system alarm");
        assert_eq!(alarm.details.level, 0);
        assert_eq!(alarm.container, uid);
        raise(&api, Some(&alice.login), uid, "unix=200", "user").await;
        api.store.raise_system_alarm(uid, 300, "OOM").await.expect("system alarm");
        let (_, list) = api.get("/api/alarms", &alice.login).await;
        assert_eq!(list.as_array().expect("list").len(), 2, "the ring holds system alarms too");
        assert_eq!(list[0]["msg"], "OOM");
        assert_eq!(list[0]["level"], 0);
        assert_eq!(list[0]["color"], "#ffffff");
        assert_eq!(listed(&api, &alice.login, "level=0").await, vec![300]);
        assert!(api.store.raise_system_alarm(uid, 1, "a\0b").await.is_err());
        assert!(api.store.raise_system_alarm(99_999, 1, "nobody").await.is_err());
    }
}
