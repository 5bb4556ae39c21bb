//! Running `berth router` as a real process from integration tests, and sending it
//! subscriptions from a real process of another user.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The uid the hostile sender runs as.
pub const NOBODY: u32 = 65534;

/// A running `berth router`, killed when dropped.
pub struct RouterProc {
    child: Child,
    /// Its plain HTTP listener.
    pub http: String,
    /// Its UDP subscription server.
    pub udp: String,
    /// Its unix subscription socket.
    pub unix: PathBuf,
    /// Its stats listener.
    pub stats: String,
    /// Its stderr.
    pub log: PathBuf,
}

impl Drop for RouterProc {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}:\n{}", self.log.display(), self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory that other users may traverse (mode 0755).
pub fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    chmod(dir.path(), 0o755);
    dir
}

/// chmod.
pub fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
        .expect("chmod");
}

/// chown to nobody, without following a link.
pub fn give_to_nobody(path: &Path) {
    std::os::unix::fs::lchown(path, Some(NOBODY), Some(NOBODY)).expect("lchown");
}

impl RouterProc {
    /// Start `berth router` on loopback with its state and sockets under `dir`, one thread,
    /// a refusal summary every second, and `extra` flags. `log` names its stderr file.
    pub fn start(dir: &Path, log: &str, extra: &[&str]) -> RouterProc {
        let unix = dir.join("subscribe.sock");
        let log = dir.join(log);
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["router", "--http", "127.0.0.1:0", "--stats", "127.0.0.1:0"])
            .args(["--subscription-udp", "127.0.0.1:0", "--threads", "1"])
            .arg("--subscription-unix")
            .arg(&unix)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .args(["--refused-log-interval", "1"])
            .args(extra)
            .env(
                "BERTH_LOG",
                std::env::var("BERTH_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("berth router starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (mut http, mut udp, mut stats) = (None, None, None);
        while stats.is_none() {
            let mut line = String::new();
            if stdout.read_line(&mut line).expect("banner line") == 0 {
                panic!(
                    "berth router exited early: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            let addr = line.split(" on ").nth(1).map(|a| a.trim().to_owned());
            if line.contains(": http on") {
                http = addr;
            } else if line.contains("(udp) on") {
                udp = addr;
            } else if line.contains(": stats on") {
                stats = addr;
            }
        }
        RouterProc {
            child,
            http: http.expect("http address"),
            udp: udp.expect("udp address"),
            unix,
            stats: stats.expect("stats address"),
            log,
        }
    }

    /// SIGTERM and wait: a graceful stop.
    pub fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }

    /// SIGKILL and wait: a crash.
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The JSON stats.
    pub fn stats(&self) -> serde_json::Value {
        client()
            .get(format!("http://{}/stats.json", self.stats))
            .send()
            .expect("stats answer")
            .json()
            .expect("JSON stats")
    }

    /// The domain `key` in the stats, if subscribed.
    pub fn domain(&self, key: &str) -> Option<serde_json::Value> {
        self.stats()["subscriptions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["key"] == key)
            .cloned()
    }

    /// How many nodes `key` has.
    pub fn nodes(&self, key: &str) -> usize {
        self.domain(key)
            .and_then(|d| d["nodes"].as_array().map(Vec::len))
            .unwrap_or(0)
    }

    /// GET / with `Host: host`: (status, body).
    pub fn get(&self, host: &str) -> (u16, String) {
        let resp = client()
            .get(format!("http://{}/", self.http))
            .header("Host", host)
            .send()
            .expect("router answers");
        (resp.status().as_u16(), resp.text().unwrap_or_default())
    }

    /// The router's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A blocking HTTP client without pooling.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Poll `check` every 20 ms until it returns `Some`, or panic after `limit`.
pub fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Send `packets` to the unix socket `socket` from a python3 process running as nobody
/// (so the kernel attests uid 65534), `pause_ms` apart; waits for it to finish.
pub fn send_as_nobody(socket: &Path, packets: &[Vec<u8>], pause_ms: u64) {
    let script = "import socket, sys, time\n\
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
        for line in sys.stdin:\n\
        \x20   s.sendto(bytes.fromhex(line.strip()), sys.argv[1])\n\
        \x20   time.sleep(float(sys.argv[2]) / 1000)\n";
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(socket)
        .arg(pause_ms.to_string())
        .uid(NOBODY)
        .gid(NOBODY)
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().expect("stdin");
    for p in packets {
        let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(stdin, "{hex}").expect("write packet");
    }
    drop(stdin);
    assert!(
        child.wait().expect("python3 ends").success(),
        "sender failed"
    );
}

/// A plain HTTP backend on loopback answering `200 ok` to every request; serves for the
/// life of the test process.
pub fn http_backend() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = (&stream).write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
    addr
}

/// An RSA key made by openssl, its public half as `keys/<domain>.pem` (the sign-check dir).
pub fn signing_key(dir: &Path, domain: &str) -> berth_wire::SigningKey {
    std::fs::create_dir_all(dir.join("keys")).expect("mkdir");
    let run = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs")
            .status
            .success();
        assert!(ok, "openssl {args:?}");
    };
    run(&["genrsa", "-out", "owner.pem", "2048"]);
    let public = format!("keys/{domain}.pem");
    run(&["rsa", "-pubout", "-in", "owner.pem", "-out", &public]);
    let pem = std::fs::read_to_string(dir.join("owner.pem")).expect("key");
    berth_wire::SigningKey::from_pem(&pem).expect("signing key")
}
