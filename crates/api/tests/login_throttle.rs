//! Password guessing against a real API on loopback: each client speaks from its own
//! loopback address (127.0.0.x), as guessers and users on different machines would.
//! A guessing loop is refused with 429 and `Retry-After` after the threshold, while the
//! user it guesses logs in from elsewhere; a success clears the counts; wrong node join
//! tokens are limited the same way.

mod support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::TestApi;

/// The failures an address or username may make by default.
const THRESHOLD: usize = 10;

/// A client that connects from `address`.
fn client_from(address: &str) -> reqwest::Client {
    let address: IpAddr = address.parse().expect("address");
    reqwest::Client::builder()
        .local_address(address)
        .build()
        .expect("client")
}

/// `GET /api/me` as `username`/`password`: the status, `Retry-After` and the JSON body.
async fn me(
    api: &TestApi,
    client: &reqwest::Client,
    username: &str,
    password: &str,
) -> (StatusCode, Option<u64>, Value) {
    let response = client
        .get(format!("{}/api/me", api.base))
        .basic_auth(username, Some(password))
        .send()
        .await
        .expect("request");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok());
    let body = response.json().await.expect("JSON body");
    support::openapi::assert_documented(&reqwest::Method::GET, "/api/me", status, &body);
    (status, retry_after, body)
}

on_both_stores! {
    async fn a_guessing_loop_is_refused_while_the_user_logs_in_from_elsewhere(api) {
        let alice = api.customer("alice").await;
        let guesser = client_from("127.0.0.2");
        let mut statuses = Vec::new();
        let mut refusal = None;
        for attempt in 0..3 * THRESHOLD {
            let (status, retry_after, body) = me(&api, &guesser, "alice", &format!("guess-{attempt}")).await;
            statuses.push(status);
            if status == StatusCode::TOO_MANY_REQUESTS && refusal.is_none() {
                refusal = Some((attempt, retry_after, body));
            }
        }
        let (first_refused, retry_after, body) = refusal.expect("the loop was refused");
        assert_eq!(first_refused, THRESHOLD, "{statuses:?}");
        assert!(statuses[..THRESHOLD].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
        assert!(statuses[THRESHOLD..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
        assert!(retry_after.is_some_and(|seconds| seconds >= 1), "Retry-After: {retry_after:?}");
        assert_eq!(body["error"], "Too Many Requests");
        assert!(body["reason"].as_str().is_some_and(|r| r.contains("failed logins")), "{body}");
        // Even the right password is refused from the guesser's address now.
        let (status, _, _) = me(&api, &guesser, "alice", &alice.login.password).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

        // Sixteen guessers from other addresses keep going while alice logs in from hers.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut guessers = Vec::new();
        for n in 0..16 {
            let client = client_from(&format!("127.0.1.{}", n + 1));
            let (base, stop) = (api.base.clone(), stop.clone());
            guessers.push(tokio::spawn(async move {
                let mut refused = 0;
                let mut attempt = 0;
                // Each guesser keeps going until alice is done and it has met the limit
                // itself, however slowly the machine verifies passwords.
                while (refused == 0 || !stop.load(std::sync::atomic::Ordering::Relaxed))
                    && attempt < 200
                {
                    attempt += 1;
                    let response = client.get(format!("{base}/api/me"))
                        .basic_auth("alice", Some(format!("wrong-{n}-{attempt}")))
                        .send().await.expect("request");
                    if response.status() == StatusCode::TOO_MANY_REQUESTS {
                        refused += 1;
                    }
                }
                refused
            }));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let (status, _, body) = me(&api, &client_from("127.0.0.3"), "alice", &alice.login.password).await;
        let took = started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut refused = 0;
        for guesser in guessers {
            let theirs = guesser.await.expect("guesser");
            assert!(theirs > 0, "a guesser was never refused in 200 attempts");
            refused += theirs;
        }
        eprintln!("alice logged in during 16 guessers in {took:?}; the guessers got {refused} 429s");
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(refused > 0, "the guessers were never refused");
    }

    async fn a_success_clears_the_counts(api) {
        let bob = api.customer("bob").await;
        let client = client_from("127.0.0.5");
        for attempt in 0..THRESHOLD - 1 {
            let (status, _, _) = me(&api, &client, "bob", &format!("typo-{attempt}")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, _, body) = me(&api, &client, "bob", &bob.login.password).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // A whole new allowance of failures.
        for attempt in 0..THRESHOLD {
            let (status, _, _) = me(&api, &client, "bob", &format!("again-{attempt}")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt} after the success");
        }
        let (status, retry_after, _) = me(&api, &client, "bob", "one-too-many").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(retry_after.is_some());
        // Bob's right password, remembered from his login, still works from there.
        let (status, _, _) = me(&api, &client, "bob", &bob.login.password).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn wrong_join_tokens_are_limited_per_address(api) {
        let guesser = client_from("127.0.0.6");
        let join = |client: &reqwest::Client, token: String| {
            let request = client
                .post(format!("{}/node/v1/join", api.base))
                .body(json!({"token": token}).to_string());
            async move {
                let response = request.send().await.expect("request");
                let retry_after = response.headers().get("retry-after").is_some();
                (response.status(), retry_after, response.json::<Value>().await.expect("JSON"))
            }
        };
        for attempt in 0..THRESHOLD {
            let (status, _, _) = join(&guesser, format!("berth-join-guess{attempt:02}")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        }
        let token = api.store.issue_join_token(api.server_id).await.expect("token");
        let (status, retry_after, body) = join(&guesser, token.clone()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(retry_after);
        // The server joining from its own address is not held back by the guesser.
        let (status, _, body) = join(&client_from("127.0.0.7"), token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["credential"].is_string());
    }
}
