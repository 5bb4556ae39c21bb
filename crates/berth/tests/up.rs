//! `berth up`: the platform in one command; the curl commands it prints answer, and a
//! restart reuses the same accounts.

mod support;

use support::start;

/// Runs one printed `curl -u U:P [-X POST -d 'BODY'] URL` line with reqwest.
async fn run_curl(line: &str) -> (u16, serde_json::Value) {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[0], "curl", "{line}");
    let (user, password) = words[2].split_once(':').expect("user:password");
    let url = *words.last().expect("url");
    let client = reqwest::Client::new();
    let request = if let Some(start) = line.find("-d '") {
        let body =
            &line[start + 4..line[start + 4..].find('\'').expect("closing quote") + start + 4];
        client.post(url).body(body.to_owned())
    } else {
        client.get(url)
    };
    let response = request
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

#[tokio::test]
async fn the_printed_commands_work_and_restarts_reuse_the_accounts() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("berth-data");
    let (first, banner) = start(&data, &[]);
    let curls: Vec<String> = banner
        .iter()
        .map(|line| line.trim().to_owned())
        .filter(|line| line.starts_with("curl "))
        .collect();
    assert!(curls.len() >= 5, "{banner:#?}");
    for curl in &curls {
        let (status, body) = run_curl(curl).await;
        assert!(
            (200..300).contains(&status),
            "{curl} answered {status}: {body}"
        );
    }
    let router_line = banner
        .iter()
        .find(|line| line.starts_with("Router:"))
        .expect("router line");
    let router_http = router_line
        .trim_start_matches("Router: HTTP on ")
        .split(',')
        .next()
        .expect("router address");
    let unknown = reqwest::Client::new()
        .get(format!("http://{router_http}/"))
        .header("Host", "nobody.example")
        .send()
        .await
        .expect("the router answers");
    assert_eq!(
        unknown.status().as_u16(),
        404,
        "an unknown host gets the router's 404"
    );
    let (_, me) = run_curl(&curls[0]).await;
    assert_eq!(me["containers"].as_array().expect("containers").len(), 1);
    let node_credential = std::fs::read_to_string(data.join("node-credential"))
        .expect("this machine's node credential");
    drop(first);

    let (_second, again) = start(&data, &[]);
    let credentials = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|line| line.starts_with("  staff ") || line.starts_with("  customer "))
            .cloned()
            .collect()
    };
    assert_eq!(credentials(&banner), credentials(&again));
    let curl = again
        .iter()
        .map(|line| line.trim())
        .find(|line| line.starts_with("curl ") && line.ends_with("/api/me"))
        .expect("a /api/me command");
    let (status, me) = run_curl(curl).await;
    assert_eq!(status, 200);
    assert_eq!(
        me["containers"].as_array().expect("containers").len(),
        1,
        "no duplicate demo container"
    );
    let mode = std::fs::metadata(data.join("credentials.toml")).expect("credentials file");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    let mode = std::fs::metadata(data.join("node-credential")).expect("node credential");
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::read_to_string(data.join("node-credential")).expect("node credential"),
        node_credential,
        "a restart keeps the credential"
    );
    let base = curl
        .split_whitespace()
        .last()
        .expect("url")
        .trim_end_matches("/api/me");
    let state = reqwest::Client::new()
        .get(format!("{base}/node/v1/state?wait=0"))
        .bearer_auth(node_credential.trim())
        .send()
        .await
        .expect("request");
    assert_eq!(state.status().as_u16(), 200);
    let state: serde_json::Value = state.json().await.expect("JSON");
    assert_eq!(state["server"]["address"], "127.0.0.1");
}

/// `--dns-server` reaches the API: a domain proof asks that server (here one that never
/// answers) and the 403 says so.
#[tokio::test]
async fn domain_proofs_ask_the_dns_server_given_on_the_command_line() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
    let dns_server = silent.local_addr().expect("address").to_string();
    let dir = tempfile::tempdir().expect("temporary directory");
    let (_running, banner) = start(&dir.path().join("data"), &["--dns-server", &dns_server]);
    let me = banner
        .iter()
        .map(|line| line.trim())
        .find(|line| line.starts_with("curl ") && line.ends_with("/api/me"))
        .expect("a /api/me command");
    let words: Vec<&str> = me.split_whitespace().collect();
    let (user, password) = words[2].split_once(':').expect("user:password");
    let base = words[3].trim_end_matches("/api/me");
    let response = reqwest::Client::new()
        .post(format!("{base}/api/domains"))
        .basic_auth(user, Some(password))
        .body(r#"{"name": "example.com"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 403);
    let error: serde_json::Value = response.json().await.expect("JSON");
    let reason = error["reason"].as_str().expect("reason");
    assert!(
        reason.contains("timed out") && reason.contains(&dns_server),
        "{reason}"
    );
}
