//! `/api/me`: the account, its containers and owned servers, and profile changes.

mod support;

use reqwest::StatusCode;

on_both_stores! {
    async fn me_shows_the_account_and_its_holdings(api) {
        let alice = api.customer("alice").await;
        let uid = api.container(&alice, "web").await;
        api.owned_server(&alice, "198.51.100.7", 1024).await;
        let (status, me) = api.get("/api/me", &alice.login).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["email"], "alice@example.com");
        assert_eq!(me["company"], serde_json::Value::Null);
        assert_eq!(me["vat"], serde_json::Value::Null);
        assert_eq!(me["uuid"], alice.uuid.as_str());
        assert_eq!(me["containers"], serde_json::json!([uid]));
        assert_eq!(me["servers"], serde_json::json!(["198.51.100.7"]));
        // Both spellings answer, neither redirects.
        assert_eq!(api.get("/api/me/", &alice.login).await.1, me);
    }

    async fn me_changes_company_vat_and_email(api) {
        let alice = api.customer("alice").await;
        let (status, me) = api
            .post(
                "/api/me",
                &alice.login,
                r#"{"company": "Alice Ltd", "vat": "IT01234567890", "email": "ops@alice.example", "uuid": "ignored"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["company"], "Alice Ltd");
        assert_eq!(me["vat"], "IT01234567890");
        assert_eq!(me["email"], "ops@alice.example");
        assert_eq!(me["uuid"], alice.uuid.as_str());
        assert_eq!(api.get("/api/me", &alice.login).await.1, me);
    }

    async fn an_empty_password_leaves_the_password_alone(api) {
        let alice = api.customer("alice").await;
        let (status, _) = api.post("/api/me", &alice.login, r#"{"password": ""}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(api.get("/api/me", &alice.login).await.0, StatusCode::OK);
    }

    async fn bad_profile_values_are_400_and_change_nothing(api) {
        let alice = api.customer("alice").await;
        for body in [
            r#"{"company": "Fine", "email": "not-an-address"}"#,
            r#"{"company": 42}"#,
            r#"{"password": "short"}"#,
            r#"{"password": null}"#,
            r#"{"password": 12345678901}"#,
            r#"{"password": ["a-long-enough-password"]}"#,
            r#"{"password": {"new": "a-long-enough-password"}}"#,
            r#"{"password": true}"#,
            r#"{"vat": "<script>"}"#,
            r#"{"company": "a\u0000b"}"#,
        ] {
            let (status, error) = api.post("/api/me", &alice.login, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(error["error"], "Bad Request");
            assert!(error["reason"].is_string());
        }
        let (_, me) = api.get("/api/me", &alice.login).await;
        assert_eq!(me["company"], serde_json::Value::Null);
        assert_eq!(me["email"], "alice@example.com");
    }
}
