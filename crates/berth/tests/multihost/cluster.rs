//! Cluster domains across a legion: three servers, each running `berth router` with its
//! cluster address (`:1999`) and a uWSGI vassal subscribed for the domain as `cluster-domain`
//! subscribes (the local router's socket and its cluster socket); the legion address is put
//! on h1 by hand (keepalived moving it is `legion.rs`'s test). Requests to the legion
//! address reach every member's vassal; a dead vassal's share stops; a host outside the
//! legion can neither reach the cluster listener nor inject a subscription; and an
//! `ssl-cluster-domain` certificate reaches the Lord sealed, so HTTPS on the legion address
//! shows the customer's certificate.
//!
//! The vassals subscribe with the options shortcuts.ini generates, directly: `berth node`
//! and its containers are not in this test.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::hosts::{Host, Network, Proc};
use crate::legion::LogsOnPanic;

const LEGION_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const DOMAIN: &str = "cluster.example.com";
const SECURE: &str = "secure.example.com";
/// The legion's key (hex), as every member's members file holds it.
const KEY: &str = "5f1e7c0d2b9a48e6a3c17d04e9b2f6a85f1e7c0d2b9a48e6a3c17d04e9b2f6a8";

/// Answers `<APP_NAME>` to every request.
const APP: &str = r#"import os
def application(env, start_response):
    body = os.environ.get('APP_NAME', '?').encode()
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
"#;

/// Sends one uwsgi request for the host `argv[2]` to `argv[1]:1999`; prints the answer.
const UWSGI_CLIENT: &str = r#"import socket, struct, sys
def var(k, v):
    return struct.pack('<H', len(k)) + k + struct.pack('<H', len(v)) + v
body = b''.join(var(k, v) for k, v in [(b'REQUEST_METHOD', b'GET'), (b'PATH_INFO', b'/'),
    (b'QUERY_STRING', b''), (b'SERVER_PROTOCOL', b'HTTP/1.1'), (b'SERVER_NAME', b'x'),
    (b'SERVER_PORT', b'80'), (b'HTTP_HOST', sys.argv[2].encode())])
data = b''
try:
    s = socket.create_connection((sys.argv[1], 1999), timeout=2)
    s.sendall(struct.pack('<BHB', 0, len(body), 0) + body)
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except OSError:
    pass
sys.stdout.write(data.decode('latin1'))
"#;

/// The body of a 200 for `domain` at `address` over HTTP, if any within a second.
fn ask(client: &Host, address: Ipv4Addr, domain: &str) -> Option<String> {
    let host = format!("Host: {domain}");
    let url = format!("http://{address}/");
    let output = client.run("curl", &["-sf", "--max-time", "1", "-H", &host, &url]);
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Asks until every name of `expected` answered (or panics after `limit`); what answered.
fn wait_for_all(client: &Host, expected: &[&str], limit: Duration) -> BTreeSet<String> {
    let started = Instant::now();
    let mut seen = BTreeSet::new();
    while !expected.iter().all(|name| seen.contains(*name)) {
        assert!(
            started.elapsed() < limit,
            "the legion address should reach {expected:?} within {limit:?}; seen {seen:?}"
        );
        if let Some(answer) = ask(client, LEGION_ADDRESS, DOMAIN) {
            seen.insert(answer);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    seen
}

/// Runs `openssl` in `dir`; panics when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl {args:?}");
}

/// A self-signed certificate for `name` in `dir`: (`<file>.crt`, `<file>.key`).
fn certificate(dir: &Path, file: &str, name: &str) -> (PathBuf, PathBuf) {
    let (crt, key) = (format!("{file}.crt"), format!("{file}.key"));
    let subject = format!("/CN={name}");
    let san = format!("subjectAltName=DNS:{name}");
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &subject,
            "-addext", &san, "-keyout", &key, "-out", &crt,
        ],
    );
    (dir.join(crt), dir.join(key))
}

/// One legion member.
struct Member {
    host: Host,
    name: String,
    dir: PathBuf,
    vassal: Option<Proc>,
}

impl Member {
    /// `berth router` with its cluster address and the legion's members file, and a vassal
    /// for the domain subscribed as `cluster-domain` does.
    fn start(
        network: &Network,
        n: u8,
        root: &Path,
        app: &Path,
        tls: &(PathBuf, PathBuf),
    ) -> Member {
        let name = format!("h{n}");
        let dir = root.join(&name);
        std::fs::create_dir_all(&dir).expect("member directory");
        let members: Vec<String> = (1..=3).map(|m| format!("\"192.0.2.{m}:1999\"")).collect();
        std::fs::write(
            dir.join("peers.json"),
            format!(r#"{{"key": "{KEY}", "members": [{}]}}"#, members.join(", ")),
        )
        .expect("members file");
        let mut member = Member {
            host: network.host(n),
            name,
            dir,
            vassal: None,
        };
        let mut router = member.host.command(env!("CARGO_BIN_EXE_berth"));
        router
            .args(["router", "--http", "0.0.0.0:80", "--https", "0.0.0.0:443"])
            .arg("--cert")
            .arg(&tls.0)
            .arg("--key")
            .arg(&tls.1)
            .args(["--subscription-udp", "127.0.0.1:3022"])
            .args(["--cluster-subscription-udp", "127.0.0.1:3023"])
            .arg("--cluster-subscription-unix")
            .arg(member.dir.join("fastrouter"))
            .args(["--cluster-listen", &format!("{}:1999", member.host.address)])
            .arg("--cluster-peers")
            .arg(member.dir.join("peers.json"))
            .args(["--subscription-tolerance", "3", "--threads", "1"])
            .arg("--state-dir")
            .arg(member.dir.join("router"));
        let log = member.dir.join("router.log");
        member.host.spawn(router, &log);
        let mut vassal = member.host.command("uwsgi");
        vassal
            .args(["--master", "--processes", "1", "--socket", "127.0.0.1:3031"])
            .args(["--plugin", "python3", "--wsgi-file"])
            .arg(app)
            .args(["--env", &format!("APP_NAME={}", member.name)])
            .args(["--subscribe-to", &format!("127.0.0.1:3022:{DOMAIN}")])
            .args(["--subscribe-to", &format!("127.0.0.1:3023:{DOMAIN}")])
            .args(["--subscribe-freq", "1", "--disable-logging"]);
        let log = member.dir.join("uwsgi.log");
        member.vassal = Some(member.host.spawn(vassal, &log));
        member
    }
}

#[test]
fn a_cluster_domain_is_balanced_across_the_legion_members() {
    let root = tempfile::Builder::new()
        .prefix("berth-cluster-")
        .tempdir_in("/var/tmp")
        .expect("test directory");
    let _logs = LogsOnPanic(root.path().to_owned());
    let app = root.path().join("app.py");
    std::fs::write(&app, APP).expect("app");
    let uwsgi_client = root.path().join("uwsgi_client.py");
    std::fs::write(&uwsgi_client, UWSGI_CLIENT).expect("client script");
    let default_tls = certificate(root.path(), "default", "default.invalid");
    let (customer_crt, customer_key) = certificate(root.path(), "customer", SECURE);

    let network = Network::new();
    let mut client = network.host(200);
    let mut members: Vec<Member> = (1..=3)
        .map(|n| Member::start(&network, n, root.path(), &app, &default_tls))
        .collect();
    // The Lord of the legion holds its address.
    let added = members[0].host.run(
        "ip",
        &[
            "addr",
            "add",
            &format!("{LEGION_ADDRESS}/24"),
            "dev",
            "eth0",
        ],
    );
    assert!(added.status.success());

    // Every member's vassal answers on the legion address.
    wait_for_all(&client, &["h1", "h2", "h3"], Duration::from_secs(30));

    // The cluster listener serves members only: h2 gets h1's vassal, the client nothing.
    let script = uwsgi_client.to_string_lossy().into_owned();
    let from_member = members[1]
        .host
        .run("python3", &[&script, "192.0.2.1", DOMAIN]);
    let answer = String::from_utf8_lossy(&from_member.stdout).into_owned();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "member answer: {answer:?}"
    );
    assert!(answer.ends_with("h1"), "member answer: {answer:?}");
    let from_outside = client.run("python3", &[&script, "192.0.2.1", DOMAIN]);
    assert_eq!(String::from_utf8_lossy(&from_outside.stdout), "");

    // A host outside the legion subscribes its own vassal to h1's cluster address: the
    // datagrams are not sealed with the legion's key, so it never gets a request.
    let mut intruder = client.command("uwsgi");
    intruder
        .args([
            "--master",
            "--processes",
            "1",
            "--socket",
            "192.0.2.200:3031",
        ])
        .args(["--plugin", "python3", "--wsgi-file"])
        .arg(&app)
        .args(["--env", "APP_NAME=intruder"])
        .args(["--subscribe-to", &format!("192.0.2.1:1999:{DOMAIN}")])
        .args(["--subscribe-freq", "1", "--disable-logging"]);
    client.spawn(intruder, &root.path().join("intruder.log"));
    std::thread::sleep(Duration::from_secs(3));
    for _ in 0..30 {
        let answer = ask(&client, LEGION_ADDRESS, DOMAIN);
        assert_ne!(answer.as_deref(), Some("intruder"));
    }

    // ssl-cluster-domain on h2 only: its key and certificate reach the Lord sealed, and
    // HTTPS on the legion address shows the customer's certificate.
    let mut secure = members[1].host.command("uwsgi");
    let subscription = format!(
        "server={},key={SECURE},addr=127.0.0.1:3032,sni_key={},sni_crt={}",
        members[1].dir.join("fastrouter").display(),
        customer_key.display(),
        customer_crt.display()
    );
    secure
        .args(["--master", "--processes", "1", "--socket", "127.0.0.1:3032"])
        .args(["--plugin", "python3", "--wsgi-file"])
        .arg(&app)
        .args(["--env", "APP_NAME=h2-secure"])
        .args(["--subscribe2", &subscription])
        .args(["--subscribe-freq", "1", "--disable-logging"]);
    let log = members[1].dir.join("secure.log");
    members[1].host.spawn(secure, &log);
    let resolve = format!("{SECURE}:443:{LEGION_ADDRESS}");
    let url = format!("https://{SECURE}/");
    let cacert = customer_crt.to_string_lossy().into_owned();
    let started = Instant::now();
    loop {
        let output = client.run(
            "curl",
            &[
                "-sf",
                "--max-time",
                "1",
                "--resolve",
                &resolve,
                "--cacert",
                &cacert,
                &url,
            ],
        );
        if output.status.success() {
            assert_eq!(String::from_utf8_lossy(&output.stdout), "h2-secure");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "HTTPS on the legion address should show the customer's certificate"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // h3's vassal dies: its share stops (once its subscription expires, 3 s here).
    let vassal = members[2].vassal.expect("h3's vassal");
    members[2].host.kill(vassal);
    let killed = Instant::now();
    let mut clean = 0;
    while clean < 20 {
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "h3's share should stop after its vassal died"
        );
        match ask(&client, LEGION_ADDRESS, DOMAIN).as_deref() {
            Some("h1") | Some("h2") => clean += 1,
            _ => clean = 0,
        }
    }
}
