//! The failover address of a legion, held by real keepalived: three servers, each running
//! `berth node` (without containers: the node only follows its desired state, which holds
//! the legion) and `berth router` with a uWSGI vassal subscribed for the domain; a client
//! host asks for the domain on the legion address. The heaviest member holds the address;
//! when it dies, the next one answers.
//!
//! `cargo nextest run --workspace -E 'binary_id(berth::multihost)' --no-capture` prints the
//! failover gap (`bench/legion-failover` runs it and records the load).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::hosts::{Host, Network};
use crate::support::admin;

const LEGION_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const DOMAIN: &str = "legion.example.com";
const API_PORT: u16 = 8080;

/// Answers `<APP_NAME>` to every request.
const APP: &str = r#"import os
def application(env, start_response):
    body = os.environ.get('APP_NAME', '?').encode()
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
"#;

/// What `client` gets for the domain at `address` (the body of a 200), if anything within a
/// second. A connection is given up after 0.2 s (a veth answers in well under a millisecond),
/// which is the resolution of the failover gap measured with it.
fn ask(client: &Host, address: Ipv4Addr) -> Option<String> {
    let host = format!("Host: {DOMAIN}");
    let url = format!("http://{address}/");
    let output = client.run(
        "curl",
        &[
            "-sf",
            "--connect-timeout",
            "0.2",
            "--max-time",
            "1",
            "-H",
            &host,
            &url,
        ],
    );
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Waits until `client` gets `expected` from `address`, or panics after `limit`.
fn wait_for(client: &Host, address: Ipv4Addr, expected: &str, limit: Duration) {
    let started = Instant::now();
    loop {
        let answer = ask(client, address);
        if answer.as_deref() == Some(expected) {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{address} should answer {expected:?} within {limit:?}; last answer {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One legion member's processes and files.
struct Member {
    host: Host,
    name: String,
    dir: PathBuf,
}

impl Member {
    fn new(network: &Network, n: u8, root: &Path) -> Member {
        let name = format!("h{n}");
        let dir = root.join(&name);
        std::fs::create_dir_all(&dir).expect("member directory");
        Member {
            host: network.host(n),
            name,
            dir,
        }
    }

    fn log(&self, what: &str) -> PathBuf {
        self.dir.join(format!("{what}.log"))
    }

    /// A uWSGI vassal answering its host's name, subscribed for the domain to the local
    /// router every second, and that router on every address of the host (port 80).
    fn serve(&mut self, app: &Path) {
        let mut router = self.host.command(env!("CARGO_BIN_EXE_berth"));
        router
            .args(["router", "--http", "0.0.0.0:80"])
            .args(["--subscription-udp", "127.0.0.1:3022"])
            .arg("--state-dir")
            .arg(self.dir.join("router"));
        let log = self.log("router");
        self.host.spawn(router, &log);
        let mut vassal = self.host.command("uwsgi");
        vassal
            .args(["--master", "--processes", "1", "--socket", "127.0.0.1:3031"])
            .args(["--plugin", "python3", "--wsgi-file"])
            .arg(app)
            .args(["--env", &format!("APP_NAME={}", self.name)])
            .args(["--subscribe-to", &format!("127.0.0.1:3022:{DOMAIN}")])
            .args(["--subscribe-freq", "1", "--disable-logging"]);
        let log = self.log("uwsgi");
        self.host.spawn(vassal, &log);
    }

    /// `berth node` joining with `token`, without containers or their network; keepalived
    /// for the legion on `eth0`, its files in `legion/`.
    fn node(&mut self, token: &str) {
        let path = |what: &str| self.dir.join(what);
        let mut node = self.host.command(env!("CARGO_BIN_EXE_berth"));
        node.args(["node", "--api", &format!("http://192.0.2.254:{API_PORT}")])
            .args(["--token", token])
            .arg("--credential-file")
            .arg(path("credential"))
            .arg("--containers")
            .arg(path("containers"))
            .arg("--bundles")
            .arg(path("bundles"))
            .arg("--runc-root")
            .arg(path("runc"))
            .arg("--subscribe-dir")
            .arg(path("subscribe"))
            .args(["--no-network", "--legion-interface", "eth0"])
            .arg("--legion-dir")
            .arg(path("legion"));
        let log = self.log("node");
        self.host.spawn(node, &log);
    }
}

/// On a panic, prints the tail of every log under a directory (the hosts' programs').
pub(crate) struct LogsOnPanic(pub(crate) PathBuf);

impl Drop for LogsOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let mut logs: Vec<PathBuf> = walk(&self.0)
            .into_iter()
            .filter(|path| path.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            eprintln!("==> {} <==\n{}", log.display(), tail.join("\n"));
        }
    }
}

/// Every file under `dir`, at any depth.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_legion_address_moves_to_the_next_member_when_the_lord_dies() {
    // Not under /tmp, which containers mount over; reachable by others, as homes must be.
    let root = tempfile::Builder::new()
        .prefix("berth-multihost-")
        .tempdir_in("/var/tmp")
        .expect("test directory");
    std::fs::set_permissions(
        root.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let _logs = LogsOnPanic(root.path().to_owned());
    let data = root.path().join("berth-data");
    let app = root.path().join("app.py");
    std::fs::write(&app, APP).expect("app");

    let network = Network::new();
    let mut api = network.host(254);
    let client = network.host(200);
    let mut members: Vec<Member> = (1..=3)
        .map(|n| Member::new(&network, n, root.path()))
        .collect();

    let mut tokens = Vec::new();
    for member in &members {
        let address = member.host.address.to_string();
        let server = admin(
            &data,
            &[
                "server",
                "add",
                &member.name,
                "--address",
                &address,
                "--memory",
                "1024",
                "--storage",
                "10240",
            ],
        );
        tokens.push(
            server["join_token"]
                .as_str()
                .expect("join token")
                .to_owned(),
        );
    }
    let legion = admin(
        &data,
        &["legion", "create", "eu", "--address", "192.0.2.100"],
    );
    assert_eq!(legion["address"], "192.0.2.100");
    admin(&data, &["legion", "add", "eu", "h1", "--weight", "100"]);
    admin(&data, &["legion", "add", "eu", "h3", "--weight", "200"]);

    let mut server = api.command(env!("CARGO_BIN_EXE_berth"));
    server
        .args([
            "api",
            "--listen",
            &format!("192.0.2.254:{API_PORT}"),
            "--data",
        ])
        .arg(&data)
        .env_remove("BERTH_DATABASE_URL");
    api.spawn(server, &root.path().join("api.log"));
    // A node joins once at start (systemd restarts it when that fails): wait for the API.
    let started = Instant::now();
    let url = format!("http://192.0.2.254:{API_PORT}/");
    while !client
        .run("curl", &["-s", "-o", "/dev/null", "--max-time", "1", &url])
        .status
        .success()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the API should listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for (member, token) in members.iter_mut().zip(&tokens) {
        member.serve(&app);
        member.node(token);
    }

    // Every router serves the domain on its own address.
    for member in &members {
        wait_for(
            &client,
            member.host.address,
            &member.name,
            Duration::from_secs(30),
        );
    }
    // The heavier of the two members holds the legion address.
    wait_for(&client, LEGION_ADDRESS, "h3", Duration::from_secs(30));
    assert!(!members[0].host.holds(LEGION_ADDRESS));

    // h2 joins as the heaviest: every node reloads its keepalived and h2 takes the address.
    let legion = admin(&data, &["legion", "add", "eu", "h2", "--weight", "300"]);
    assert_eq!(legion["servers"].as_array().map(Vec::len), Some(3));
    wait_for(&client, LEGION_ADDRESS, "h2", Duration::from_secs(30));
    // Every member's node writes its router's cluster members file: the legion's key and
    // every member's cluster address.
    let file = members[0].dir.join("legion").join("cluster.json");
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.contains("192.0.2.2:1999") {
            let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(value["members"].as_array().map(Vec::len), Some(3));
            assert_eq!(value["key"].as_str().map(str::len), Some(64));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "h1's node should list h2 in {}: {text:?}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let listed = admin(&data, &["legion", "list"]);
    assert_eq!(listed[0]["name"], "eu");

    // The Lord dies: every process of h2 killed at once, its namespace gone; at a moment
    // that falls anywhere between two of its adverts (1 s apart).
    let phase = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.subsec_millis());
    std::thread::sleep(Duration::from_millis(u64::from(phase)));
    let crashed = Instant::now();
    members[1].host.crash();
    let answer = loop {
        if let Some(answer) = ask(&client, LEGION_ADDRESS) {
            break answer;
        }
        assert!(
            crashed.elapsed() < Duration::from_secs(60),
            "the legion address should answer again after its Lord died"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let gap = crashed.elapsed();
    println!("legion failover gap: {:.2} s", gap.as_secs_f64());
    assert_eq!(answer, "h3", "the next heaviest member took the address");
    assert!(members[2].host.holds(LEGION_ADDRESS));
    assert!(!members[0].host.holds(LEGION_ADDRESS));

    // Out of the legion, h3 lets the address go and h1 takes it.
    let removed = Instant::now();
    admin(&data, &["legion", "remove", "eu", "h3"]);
    wait_for(&client, LEGION_ADDRESS, "h1", Duration::from_secs(30));
    println!(
        "legion handover after `legion remove`: {:.2} s",
        removed.elapsed().as_secs_f64()
    );
    assert!(!members[2].host.holds(LEGION_ADDRESS));
}
