//! Authentication: Basic, uwsgi.it's hex headers, 401s, CORS, and the credential cache
//! giving way at once to a password change.

mod support;

use reqwest::{Method, StatusCode};
use support::Login;

on_both_stores! {
    async fn basic_auth_opens_the_api(api) {
        let alice = api.customer("alice").await;
        let (status, me) = api.get("/api/me", &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["uuid"], alice.uuid.as_str());
    }

    async fn hex_headers_open_the_api(api) {
        let alice = api.customer("alice").await;
        let response = api
            .http
            .get(format!("{}/api/me", api.base))
            .header("X-uwsgi-it-username", hex::encode("alice"))
            .header("X-uwsgi-it-password", hex::encode(&alice.login.password))
            .send()
            .await
            .expect("request");
        let status = response.status();
        assert_eq!(status, StatusCode::OK);
        let me: serde_json::Value = response.json().await.expect("json");
        support::openapi::assert_documented(&Method::GET, "/api/me", status, &me);
        assert_eq!(me["uuid"], alice.uuid.as_str());
    }

    async fn wrong_or_missing_credentials_get_401_json_with_a_challenge(api) {
        let alice = api.customer("alice").await;
        let wrong = Login { username: "alice".into(), password: "not-the-password".into() };
        let nobody = Login { username: "nobody".into(), password: "whatever1".into() };
        for login in [Some(&wrong), Some(&nobody), None] {
            let mut request = api.http.get(format!("{}/api/containers", api.base));
            if let Some(login) = login {
                request = request.basic_auth(&login.username, Some(&login.password));
            }
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                response.headers()["www-authenticate"],
                "Basic realm=\"uwsgi.it api\""
            );
            assert_eq!(response.headers()["access-control-allow-origin"], "*");
            let body: serde_json::Value = response.json().await.expect("json");
            support::openapi::assert_documented(&Method::GET, "/api/containers", StatusCode::UNAUTHORIZED, &body);
            assert_eq!(body, serde_json::json!({"error": "Unauthorized"}));
        }
        let _ = alice;
    }

    async fn malformed_authorization_headers_are_401(api) {
        for header in ["Basic !!!notbase64", "Bearer abc", "Basic", "Basic YWxpY2U="] {
            let response = api
                .http
                .get(format!("{}/api/me", api.base))
                .header("Authorization", header)
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header}");
        }
    }

    async fn a_password_change_takes_effect_at_once(api) {
        let alice = api.customer("alice").await;
        // Warm the credential cache, then change the password.
        assert_eq!(api.get("/api/me", &alice.login).await.0, StatusCode::OK);
        let (status, _) = api
            .post("/api/me", &alice.login, r#"{"password": "a brand new password"}"#)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(api.get("/api/me", &alice.login).await.0, StatusCode::UNAUTHORIZED);
        let renewed = Login { username: "alice".into(), password: "a brand new password".into() };
        assert_eq!(api.get("/api/me", &renewed).await.0, StatusCode::OK);
        // A staff reset through the store also locks the old password out at once.
        api.store.set_password("alice", "reset by staff 1").await.expect("reset");
        assert_eq!(api.get("/api/me", &renewed).await.0, StatusCode::UNAUTHORIZED);
    }

    async fn writes_of_another_process_take_effect_at_once(api) {
        // `berth admin` writes to the same database from another process: its own store,
        // which the API's caches know nothing about.
        let admin = berth_store::Store::connect(&api.url).await.expect("second store");
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        // Warm every cache: credentials, the rendered /me and the rendered list.
        for _ in 0..3 {
            assert_eq!(api.get("/api/me", &alice.login).await.0, StatusCode::OK);
            assert_eq!(api.get("/api/containers", &alice.login).await.0, StatusCode::OK);
        }
        let more = admin
            .create_container(alice.id, api.server_id, "more", 128, 1024, None)
            .await
            .expect("container")
            .summary
            .uid;
        let (_, me) = api.get("/api/me", &alice.login).await;
        assert_eq!(me["containers"], serde_json::json!([uid, more]));
        let (_, list) = api.get("/api/containers", &alice.login).await;
        assert_eq!(list.as_array().map(Vec::len), Some(2));
        admin.set_password("alice", "changed elsewhere 1").await.expect("passwd");
        assert_eq!(api.get("/api/me", &alice.login).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(api.get("/api/containers", &alice.login).await.0, StatusCode::UNAUTHORIZED);
        let renewed = Login { username: "alice".into(), password: "changed elsewhere 1".into() };
        assert_eq!(api.get("/api/me", &renewed).await.0, StatusCode::OK);
        admin.close().await;
    }

    async fn cached_answers_never_cross_customers(api) {
        let alice = api.customer("alice").await;
        let bob = api.customer("bob").await;
        let alices = api.container(&alice, "web").await;
        let bobs = api.container(&bob, "web").await;
        // Interleaved at one revision, each customer gets only its own answers.
        for _ in 0..3 {
            let (_, me) = api.get("/api/me", &alice.login).await;
            assert_eq!((me["uuid"].clone(), me["containers"].clone()), (alice.uuid.as_str().into(), serde_json::json!([alices])));
            let (_, me) = api.get("/api/me", &bob.login).await;
            assert_eq!((me["uuid"].clone(), me["containers"].clone()), (bob.uuid.as_str().into(), serde_json::json!([bobs])));
        }
        // A right username with another customer's password is still refused.
        let mixed = Login { username: "alice".into(), password: bob.login.password.clone() };
        assert_eq!(api.get("/api/me", &mixed).await.0, StatusCode::UNAUTHORIZED);
    }

    async fn staff_users_are_not_customers(api) {
        let (status, body) = api.get("/api/me", &api.staff).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"], "Forbidden");
    }

    async fn preflight_needs_no_credentials(api) {
        let response = api
            .http
            .request(Method::OPTIONS, format!("{}/api/containers/30001", api.base))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert!(headers["access-control-allow-headers"]
            .to_str()
            .expect("ascii")
            .contains("X-uwsgi-it-username"));
        assert_eq!(headers["access-control-allow-methods"], "GET,POST,DELETE,OPTIONS");
    }

    async fn curl_gets_a_trailing_newline(api) {
        let alice = api.customer("alice").await;
        let response = api
            .http
            .get(format!("{}/api/me", api.base))
            .basic_auth("alice", Some(&alice.login.password))
            .header("User-Agent", "curl/8.5.0")
            .send()
            .await
            .expect("request");
        let text = response.text().await.expect("text");
        assert!(text.ends_with("}\n"), "{text:?}");
    }
}
