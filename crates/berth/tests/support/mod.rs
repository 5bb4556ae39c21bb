//! Running `berth up` from integration tests.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `berth up`, killed when dropped. Its stdout is closed after the banner, as
/// when piped into `head`: berth must keep serving.
pub struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `berth up` on free ports, with `extra` arguments, and returns it with the lines of
/// its banner.
pub fn start(data: &std::path::Path, extra: &[&str]) -> (Running, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["up", "--data"])
        .arg(data)
        .args([
            "--api",
            "127.0.0.1:0",
            "--router-http",
            "127.0.0.1:0",
            "--router-stats",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env_remove("BERTH_DATABASE_URL")
        .env_remove("BERTH_DNS_SERVER")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("berth up starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("banner line") == 0 {
            panic!("berth up exited early: {lines:#?}");
        }
        let done = line.starts_with("Router:");
        lines.push(line.trim_end().to_owned());
        if done {
            break;
        }
    }
    drop(stdout);
    (Running(child), lines)
}

/// The API base URL (`http://host:port`) a banner's curl commands call.
pub fn api_base(banner: &[String]) -> String {
    let url = banner
        .iter()
        .filter_map(|line| line.split_whitespace().last())
        .find(|word| word.starts_with("http://") && word.ends_with("/api/me"))
        .expect("a curl command for /api/me in the banner");
    url.trim_end_matches("/api/me").to_owned()
}

/// Runs `berth admin … --json` on the data directory and returns its JSON answer.
pub fn admin(data: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["admin", "--json", "--data"])
        .arg(data)
        .args(args)
        .env_remove("BERTH_DATABASE_URL")
        .output()
        .expect("berth admin runs");
    assert!(
        output.status.success(),
        "berth admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("berth admin --json prints JSON")
}

/// The accounts `berth up` saved in the data directory on first start.
pub fn credentials(data: &std::path::Path) -> toml::Table {
    toml::from_str(
        &std::fs::read_to_string(data.join("credentials.toml")).expect("credentials file"),
    )
    .expect("credentials TOML")
}
