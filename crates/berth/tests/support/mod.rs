//! Running `berth up` from integration tests.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
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

/// Starts `berth up` on free ports without containers (`--no-node`), with `extra`
/// arguments, and returns it with the lines of its banner.
pub fn start(data: &std::path::Path, extra: &[&str]) -> (Running, Vec<String>) {
    let mut args = vec!["--no-node"];
    args.extend_from_slice(extra);
    spawn(data, &args)
}

/// Starts `berth up` on free ports with its node (as root), the homes, bundles, runc state
/// and cgroup parent kept apart from any other test's under `machine` (not under /tmp,
/// which containers mount over).
pub fn start_with_node(
    data: &std::path::Path,
    machine: &std::path::Path,
    cgroup_parent: &str,
    extra: &[&str],
) -> (Running, Vec<String>) {
    let containers = machine.join("containers");
    let bundles = machine.join("bundles");
    let runc_root = machine.join("runc");
    let mut args = vec![
        "--containers",
        containers.to_str().expect("UTF-8 path"),
        "--bundles",
        bundles.to_str().expect("UTF-8 path"),
        "--runc-root",
        runc_root.to_str().expect("UTF-8 path"),
        "--cgroup-parent",
        cgroup_parent,
    ];
    args.extend_from_slice(extra);
    spawn(data, &args)
}

/// Where `berth up`'s log (its stderr) goes: `<data>.log`, beside the data directory.
pub fn log_path(data: &std::path::Path) -> std::path::PathBuf {
    data.with_extension("log")
}

fn log_file(data: &std::path::Path) -> Stdio {
    if let Some(parent) = data.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::File::create(log_path(data))
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null())
}

fn spawn(data: &std::path::Path, extra: &[&str]) -> (Running, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["up", "--data"])
        .arg(data)
        .args([
            "--api",
            "127.0.0.1:0",
            "--router-http",
            "127.0.0.1:0",
            "--router-https",
            "127.0.0.1:0",
            "--router-stats",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env_remove("BERTH_DATABASE_URL")
        .env_remove("BERTH_DNS_SERVER")
        .stdout(Stdio::piped())
        .stderr(log_file(data))
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

/// A child process killed when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A UDP port free on loopback right now, below the kernel's ephemeral range (32768 and
/// up): a port the kernel hands out for `bind(0)` could be taken by another test's socket
/// before dnsmasq binds it, and dnsmasq then fails with "Address already in use".
pub fn free_udp_port() -> u16 {
    let start = 20_000 + (std::process::id() % 10_000) as u16;
    (0..10_000u16)
        .map(|offset| 20_000 + (start - 20_000 + offset) % 10_000)
        .find(|port| UdpSocket::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free UDP port between 20000 and 30000")
}

/// dnsmasq on loopback, forwarding nowhere, serving the `(name, text)` TXT records; other
/// names under the test zones (`example.org`, `example`, `org`) answer NXDOMAIN, as a real
/// zone's would.
pub fn dns_server(port: u16, records: &[(&str, &str)]) -> Killed {
    let mut command = Command::new("dnsmasq");
    command
        .args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--user=root",
            "--local=/example.org/",
            "--local=/example/",
            "--local=/org/",
        ])
        .arg(format!("--port={port}"));
    for (name, text) in records {
        command.arg(format!("--txt-record={name},{text}"));
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("dnsmasq starts (Debian package dnsmasq-base)");
    Killed(child)
}
