//! Linked containers on two servers: each server runs `berth node` with container
//! networking, and real containers (runc, on the host's root as their distro). A on h1, B
//! and C on h2. Before A and B link each other, A cannot reach B; once both link, they talk
//! over `uwsgi0` through the tunnel between the servers; after B unlinks, they cannot. C,
//! which links A on its own, never reaches A.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::hosts::{Host, Network};
use crate::support::admin;

const API: &str = "http://192.0.2.254:8080";
const PASSWORD: &str = "links-secret-1";
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb2x6z0DsbQFQq0bnJkm2Y7E+DkUc9NMuOQYhW0F1yi alice@laptop";

/// alice changes container `uid` through the customer API (from the API's own host).
fn update(api: &Host, uid: i64, body: &serde_json::Value) {
    let url = format!("{API}/api/containers/{uid}");
    let login = format!("alice:{PASSWORD}");
    let body = body.to_string();
    let output = api.run(
        "curl",
        &[
            "-sS",
            "-f",
            "--max-time",
            "10",
            "-u",
            &login,
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            &body,
            &url,
        ],
    );
    assert!(
        output.status.success(),
        "POST {url} {body}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One server: its host, its files, and its containers' runc state directory.
struct Server {
    host: Host,
    dir: PathBuf,
    /// The cgroup its containers' cgroups are made under.
    cgroup_parent: String,
}

impl Server {
    /// `berth node` joining with `token`, with container networking in the host's namespace
    /// and a cgroup parent of its own.
    fn node(&mut self, token: &str) {
        let path = |what: &str| self.dir.join(what);
        std::fs::create_dir_all(path("subscribe")).expect("subscribe dir");
        // runc needs the machine's cgroup mounts.
        let mut node = self.host.command_keeping_sys(env!("CARGO_BIN_EXE_berth"));
        node.args(["node", "--api", API, "--token", token])
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
            .args(["--cgroup-parent", &self.cgroup_parent])
            .arg("--legion-dir")
            .arg(path("legion"));
        let log = self.dir.join("node.log");
        self.host.spawn(node, &log);
    }

    /// Runs `script` with sh in the container of `uid`, as its user: whether it succeeded.
    fn exec(&self, uid: i64, script: &str) -> bool {
        Command::new("runc")
            .arg("--root")
            .arg(self.dir.join("runc"))
            .args(["exec", "--user", &format!("{uid}:{uid}")])
            .arg(berth_node::container_id(uid as u32))
            .args(["sh", "-c", script])
            .output()
            .is_ok_and(|out| out.status.success())
    }

    /// Whether the container of `uid` gets an answer from `ip`'s port 7000 within 2 s.
    fn reaches(&self, uid: i64, ip: &str) -> bool {
        self.exec(
            uid,
            &format!(
                "python3 -c \"import urllib.request; \
                 urllib.request.urlopen('http://{ip}:7000/', timeout=2)\""
            ),
        )
    }

    /// Starts an HTTP server on the container's address, port 7000, once it runs.
    fn serve(&self, uid: i64, ip: &str) {
        let serve =
            format!("cd /tmp && nohup python3 -m http.server 7000 --bind {ip} >/dev/null 2>&1 &");
        wait_until(
            &format!("container {uid} to run"),
            Duration::from_secs(60),
            || self.exec(uid, &serve),
        );
        wait_until(
            &format!("container {uid} to serve"),
            Duration::from_secs(30),
            || self.reaches(uid, ip),
        );
    }
}

impl Drop for Server {
    /// The machine goes (its node first, so that it starts nothing again), then its
    /// containers, which live in namespaces of their own.
    fn drop(&mut self) {
        self.host.crash();
        let runc_root = self.dir.join("runc");
        let Ok(out) = Command::new("runc")
            .arg("--root")
            .arg(&runc_root)
            .args(["list", "-q"])
            .output()
        else {
            return;
        };
        for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("runc")
                .arg("--root")
                .arg(&runc_root)
                .args(["delete", "--force", id])
                .output();
        }
        // A node killed while it staged a distro leaves the distro's directories bound
        // (read-write) into its bundles: removing the test's files through them would
        // remove the distro's, here the machine's own /etc and /usr.
        if let Err(error) = berth_node::detach_mounts_below(&self.dir) {
            eprintln!("{error}");
        }
        // The cgroups in every hierarchy (v1) or the one (v2), empty now: the containers'
        // (which runc may leave behind in a hierarchy), then their parent.
        let hierarchies = std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten();
        let parents = hierarchies
            .map(|entry| entry.path().join(&self.cgroup_parent))
            .chain([Path::new("/sys/fs/cgroup").join(&self.cgroup_parent)]);
        for parent in parents {
            for child in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
                if child.path().is_dir() {
                    let _ = std::fs::remove_dir(child.path());
                }
            }
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// The test's directory: removed at the end only when nothing is mounted under it any more
/// (it is kept, and said so, otherwise), so that its removal never reaches through a bind
/// mount into the machine's files.
struct TestRoot(Option<tempfile::TempDir>);

impl TestRoot {
    fn path(&self) -> &Path {
        self.0
            .as_ref()
            .map_or(Path::new("/nonexistent"), |dir| dir.path())
    }
}

impl Drop for TestRoot {
    fn drop(&mut self) {
        let Some(dir) = self.0.take() else {
            return;
        };
        let dir = dir.keep();
        if let Err(error) = berth_node::remove_tree(&dir) {
            eprintln!("keeping {}: {error}", dir.display());
        }
    }
}

/// Calls `f` until it is true; panics after `limit`.
fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// On a panic, prints the tail of every `*.log` under a directory.
struct LogsOnPanic(PathBuf);

impl Drop for LogsOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for entry in std::fs::read_dir(&self.0).into_iter().flatten().flatten() {
            let dir = entry.path();
            for log in [dir.join("node.log"), dir.clone()] {
                if log.extension().is_some_and(|e| e == "log") && log.is_file() {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    let lines: Vec<&str> = text.lines().collect();
                    let tail = &lines[lines.len().saturating_sub(40)..];
                    eprintln!("==> {} <==\n{}", log.display(), tail.join("\n"));
                }
            }
        }
    }
}

#[test]
fn linked_containers_on_two_servers_talk_only_while_both_link() {
    let root = TestRoot(Some(
        tempfile::Builder::new()
            .prefix("berth-multihost-")
            .tempdir_in("/var/tmp")
            .expect("test directory"),
    ));
    std::fs::set_permissions(
        root.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let _logs = LogsOnPanic(root.path().to_owned());
    let data = root.path().join("berth-data");

    let network = Network::new();
    let mut api = network.host(254);
    let mut servers: Vec<Server> = (1..=2)
        .map(|n| {
            let dir = root.path().join(format!("h{n}"));
            std::fs::create_dir_all(&dir).expect("server directory");
            Server {
                host: network.host(n),
                dir,
                cgroup_parent: format!("berth-links-{}-h{n}", std::process::id()),
            }
        })
        .collect();

    let mut tokens = Vec::new();
    for (n, server) in servers.iter().enumerate() {
        let address = server.host.address.to_string();
        let name = format!("h{}", n + 1);
        let added = admin(
            &data,
            &[
                "server",
                "add",
                &name,
                "--address",
                &address,
                "--memory",
                "4096",
                "--storage",
                "10240",
            ],
        );
        tokens.push(added["join_token"].as_str().expect("join token").to_owned());
    }
    let distro = admin(&data, &["distro", "add", "host", "--path", "/"]);
    let distro = distro["id"].as_i64().expect("distro id");
    admin(
        &data,
        &["customer", "create", "alice", "--password", PASSWORD],
    );
    let create = |server: &str, name: &str| -> i64 {
        let made = admin(
            &data,
            &[
                "container",
                "create",
                "--customer",
                "alice",
                "--server",
                server,
                "--name",
                name,
                "--memory",
                "96",
                "--storage",
                "100",
            ],
        );
        made["uid"].as_i64().expect("uid")
    };
    let (a, b, c) = (create("h1", "a"), create("h2", "b"), create("h2", "c"));
    let ip = |uid: i64| {
        berth_model::container::ip_of(uid - berth_model::container::BASE_UID).to_string()
    };

    let mut server = api.command(env!("CARGO_BIN_EXE_berth"));
    server
        .args(["api", "--listen", "192.0.2.254:8080", "--data"])
        .arg(&data)
        .env_remove("BERTH_DATABASE_URL");
    api.spawn(server, &root.path().join("api.log"));
    wait_until("the API to listen", Duration::from_secs(30), || {
        api.run("curl", &["-s", "-o", "/dev/null", "--max-time", "1", API])
            .status
            .success()
    });
    for uid in [a, b, c] {
        update(
            &api,
            uid,
            &serde_json::json!({"distro": distro, "ssh_keys": [KEY]}),
        );
    }
    for (server, token) in servers.iter_mut().zip(&tokens) {
        server.node(token);
    }
    let (h1, h2) = (&servers[0], &servers[1]);
    // Whether `from`'s container reaches `to`'s, which is made to serve first (a container
    // update restarts the container, and its server with it).
    let talks = |from: (&Server, i64), to: (&Server, i64)| {
        to.0.serve(to.1, &ip(to.1));
        from.0.reaches(from.1, &ip(to.1))
    };

    // Before linking, and with A's link alone, A and B cannot reach each other.
    assert!(!talks((h1, a), (h2, b)), "A reached B before any link");
    update(&api, a, &serde_json::json!({"link": b}));
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !talks((h1, a), (h2, b)),
        "A reached B, which did not link A"
    );
    assert!(!talks((h2, b), (h1, a)), "B reached A without linking it");

    // Both link: they talk, both ways. C, linking A on its own, does not reach A.
    update(&api, b, &serde_json::json!({"link": a}));
    update(&api, c, &serde_json::json!({"link": a}));
    wait_until(
        "A to reach B once both linked",
        Duration::from_secs(60),
        || talks((h1, a), (h2, b)),
    );
    assert!(talks((h2, b), (h1, a)), "B reaches A");
    assert!(
        !talks((h2, c), (h1, a)),
        "C reached A, which did not link C"
    );
    assert!(
        !talks((h1, a), (h2, c)),
        "A reached C, which it did not link"
    );

    // B unlinks: they are parted again; C still never reaches A.
    update(&api, b, &serde_json::json!({"unlink": a}));
    wait_until(
        "A and B to be parted after the unlink",
        Duration::from_secs(60),
        || !talks((h1, a), (h2, b)),
    );
    assert!(!talks((h2, b), (h1, a)), "B reached A after unlinking");
    assert!(!talks((h2, c), (h1, a)), "C reached A");
}
