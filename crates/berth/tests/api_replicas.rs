//! Two `berth api` replicas on one PostgreSQL database, in the root namespace on loopback
//! ports (the test PostgreSQL listens there, out of reach of the multihost namespaces): a
//! customer writes in a loop spread over both, one replica is killed (SIGKILL) mid-loop, and
//! every write either replica acknowledged is there afterwards, read back through the
//! survivor; the loop goes on there; a node's watch of `/node/v1/state` follows whichever
//! replica answers and its revisions never go backwards. A `berth node` given both replicas
//! (`--api a,b`) keeps converging when the first is killed. Needs `BERTH_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432`), and root and runc for the node.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;

const PASSWORD: &str = "replicas-secret-1";
/// Writes before the first replica is killed, and at least as many after.
const BEFORE_KILL: usize = 15;
const AFTER_KILL: usize = 20;

/// A `berth api` process, killed when dropped.
struct Replica(Option<Child>);

impl Replica {
    fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// `berth admin --json …` on the shared database; its JSON answer.
fn admin(args_of_store: &[String], args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["admin", "--json"])
        .args(args_of_store)
        .args(args)
        .output()
        .expect("berth admin runs");
    assert!(
        output.status.success(),
        "berth admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("berth admin --json prints JSON")
}

/// Starts `berth api` on the shared database at a free port; waits until it answers.
fn replica(store: &[String], log: &std::path::Path) -> (Replica, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["api", "--listen", &format!("127.0.0.1:{port}")])
        .args(store)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).map_or_else(|_| Stdio::null(), Stdio::from))
        .spawn()
        .expect("berth api starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::new();
    let started = Instant::now();
    while http.get(format!("{base}/api/me")).send().is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "berth api should listen on {base}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (Replica(Some(child)), base)
}

/// Watches the node's desired state through whichever replica answers, until `stop`;
/// returns every revision seen, in order, and how many answers came after `killed`.
fn watch(
    bases: [String; 2],
    credential: String,
    stop: Arc<AtomicBool>,
    killed: Arc<AtomicBool>,
) -> (Vec<i64>, usize) {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client");
    let (mut revision, mut at, mut seen, mut after_kill) = (0_i64, 0_usize, Vec::new(), 0);
    while !stop.load(Ordering::SeqCst) {
        let answer = http
            .get(format!(
                "{}/node/v1/state?revision={revision}&wait=1",
                bases[at]
            ))
            .bearer_auth(&credential)
            .send()
            .ok()
            .filter(|response| response.status().is_success())
            .and_then(|response| response.json::<Value>().ok());
        match answer.and_then(|state| state["revision"].as_i64()) {
            Some(next) => {
                seen.push(next);
                revision = next;
                if killed.load(Ordering::SeqCst) {
                    after_kill += 1;
                }
            }
            // The replica does not answer: follow the other one.
            None => at = 1 - at,
        }
    }
    (seen, after_kill)
}

/// Adds server `n1` at `address` (4 GiB, 10 GiB); its join token.
fn add_server(store: &[String], address: &str) -> String {
    let server = admin(
        store,
        &[
            "server",
            "add",
            "n1",
            "--address",
            address,
            "--memory",
            "4096",
            "--storage",
            "10240",
        ],
    );
    server["join_token"]
        .as_str()
        .expect("join token")
        .to_owned()
}

fn run(store: Vec<String>, dir: std::path::PathBuf) {
    admin(
        &store,
        &["customer", "create", "alice", "--password", PASSWORD],
    );
    let token = add_server(&store, "192.0.2.1");
    let made = admin(
        &store,
        &[
            "container",
            "create",
            "--customer",
            "alice",
            "--server",
            "n1",
            "--name",
            "web",
            "--memory",
            "96",
            "--storage",
            "100",
        ],
    );
    let uid = made["uid"].as_i64().expect("uid");

    let (first, a) = replica(&store, &dir.join("a.log"));
    let (second, b) = replica(&store, &dir.join("b.log"));
    let _second = second;
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client");
    let joined: Value = http
        .post(format!("{a}/node/v1/join"))
        .json(&serde_json::json!({"token": token}))
        .send()
        .expect("join")
        .json()
        .expect("join JSON");
    let credential = joined["credential"]
        .as_str()
        .expect("a node credential")
        .to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (bases, stop, killed) = ([a.clone(), b.clone()], stop.clone(), killed.clone());
        std::thread::spawn(move || watch(bases, credential, stop, killed))
    };

    // The killer strikes while the writer is busy, not between two of its requests.
    let written = Arc::new(AtomicUsize::new(0));
    let first = Arc::new(Mutex::new(first));
    let killer = {
        let (written, first, killed) = (written.clone(), first.clone(), killed.clone());
        std::thread::spawn(move || {
            while written.load(Ordering::SeqCst) < BEFORE_KILL {
                std::thread::sleep(Duration::from_millis(5));
            }
            first.lock().expect("replica lock").kill();
            killed.store(true, Ordering::SeqCst);
        })
    };

    let bases = [a.clone(), b.clone()];
    let mut acknowledged = BTreeSet::new();
    let mut last_tags = None;
    let (mut on_survivor, mut down) = (0, [false, false]);
    let started = Instant::now();
    let mut i = 0;
    while on_survivor < AFTER_KILL {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the write loop should go on on the survivor; {on_survivor} writes there"
        );
        let name = format!("t{i}");
        let at = if down[i % 2] { 1 - i % 2 } else { i % 2 };
        i += 1;
        let created = http
            .post(format!("{}/api/tags", bases[at]))
            .basic_auth("alice", Some(PASSWORD))
            .json(&serde_json::json!({"name": name}))
            .send();
        let tagged = created
            .as_ref()
            .ok()
            .filter(|r| r.status().is_success())
            .and_then(|_| {
                http.post(format!("{}/api/containers/{uid}", bases[at]))
                    .basic_auth("alice", Some(PASSWORD))
                    .json(&serde_json::json!({"tags": [name]}))
                    .send()
                    .ok()
            });
        match (created, tagged) {
            (Ok(created), Some(tagged)) if tagged.status().is_success() => {
                assert_eq!(created.status(), 201, "tag {name}");
                acknowledged.insert(name.clone());
                last_tags = Some(name);
                written.fetch_add(1, Ordering::SeqCst);
                if killed.load(Ordering::SeqCst) && at == 1 {
                    on_survivor += 1;
                }
            }
            (Ok(created), _) if created.status().is_success() => {
                acknowledged.insert(name);
                down[at] = true;
            }
            (Ok(created), _) => panic!("tag {name}: {}", created.status()),
            (Err(_), _) => down[at] = true,
        }
        assert!(!down[1], "the surviving replica must keep answering");
    }
    killer.join().expect("killer");
    stop.store(true, Ordering::SeqCst);
    let (revisions, watched_after_kill) = watcher.join().expect("watcher");

    // Everything acknowledged is there, read back through the survivor.
    let tags: Value = http
        .get(format!("{b}/api/tags"))
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .expect("tags")
        .json()
        .expect("tags JSON");
    let present: BTreeSet<String> = tags
        .as_array()
        .expect("a list of tags")
        .iter()
        .filter_map(|tag| tag["name"].as_str().map(str::to_owned))
        .collect();
    let lost: Vec<_> = acknowledged.difference(&present).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    let container: Value = http
        .get(format!("{b}/api/containers/{uid}"))
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .expect("container")
        .json()
        .expect("container JSON");
    assert_eq!(
        container["tags"],
        serde_json::json!([last_tags.expect("a write")]),
        "the last acknowledged update wins"
    );

    assert!(
        revisions.windows(2).all(|pair| pair[0] <= pair[1]),
        "revisions went backwards: {revisions:?}"
    );
    assert!(
        watched_after_kill > 0,
        "the watch should continue on the survivor"
    );
    assert!(
        revisions.last() > revisions.first(),
        "the watch should see the writes: {revisions:?}"
    );
}

/// The node process; on drop it is killed, its runc containers deleted and their cgroups
/// (empty by then) removed.
struct Node {
    child: Child,
    runc_root: std::path::PathBuf,
    ids: Vec<String>,
    cgroup_parent: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for id in &self.ids {
            let _ = Command::new("runc")
                .arg("--root")
                .arg(&self.runc_root)
                .args(["delete", "--force", id])
                .status();
        }
        let hierarchies = std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join(&self.cgroup_parent))
            .chain([Path::new("/sys/fs/cgroup").join(&self.cgroup_parent)]);
        for parent in hierarchies {
            for child in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
                let _ = std::fs::remove_dir(child.path());
            }
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// Makes container `uid` runnable through the API at `base` and waits until the node
/// reports it running there.
fn runnable_and_running(base: &str, uid: i64, distro: i64) {
    let http = reqwest::blocking::Client::new();
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl demo@laptop";
    let response = http
        .post(format!("{base}/api/containers/{uid}"))
        .basic_auth("alice", Some(PASSWORD))
        .json(&serde_json::json!({"distro": distro, "ssh_keys": [key]}))
        .send()
        .expect("update");
    assert_eq!(response.status(), 200, "{:?}", response.text());
    let started = Instant::now();
    let status = loop {
        let detail: Value = http
            .get(format!("{base}/v1/admin/containers/{uid}"))
            .basic_auth("boss", Some(PASSWORD))
            .send()
            .expect("staff view")
            .json()
            .expect("JSON");
        if detail["status"]["state"] == "running" || started.elapsed() > Duration::from_secs(30) {
            break detail["status"].clone();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status["state"], "running", "container {uid}: {status}");
}

/// A node given both replicas runs a container, then, with the first replica killed, runs
/// the next one made runnable through the second.
fn node_follows(store: Vec<String>, dir: std::path::PathBuf) {
    admin(
        &store,
        &["customer", "create", "alice", "--password", PASSWORD],
    );
    admin(&store, &["staff", "create", "boss", "--password", PASSWORD]);
    let token = add_server(&store, "127.0.0.1");
    let distro = admin(&store, &["distro", "add", "host", "--path", "/"]);
    let distro = distro["id"].as_i64().expect("distro id");
    let create = |name: &str| -> i64 {
        let made = admin(
            &store,
            &[
                "container",
                "create",
                "--customer",
                "alice",
                "--server",
                "n1",
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
    let (one, two) = (create("one"), create("two"));
    let cgroup_parent = format!("berth-replicas-{}", std::process::id());

    let (mut first, a) = replica(&store, &dir.join("a.log"));
    let (_second, b) = replica(&store, &dir.join("b.log"));
    let runc_root = dir.join("runc");
    let id = |uid: i64| berth_node::container_id(u32::try_from(uid).expect("uid"));
    let _node = Node {
        child: Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["node", "--no-network", "--api", &format!("{a},{b}")])
            .args(["--token", &token, "--credential-file"])
            .arg(dir.join("credential"))
            .arg("--containers")
            .arg(dir.join("containers"))
            .arg("--bundles")
            .arg(dir.join("bundles"))
            .arg("--runc-root")
            .arg(&runc_root)
            .arg("--subscribe-dir")
            .arg(dir.join("subscribe"))
            .arg("--legion-dir")
            .arg(dir.join("legion"))
            .args(["--cgroup-parent", &cgroup_parent])
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(dir.join("node.log"))
                    .map_or_else(|_| Stdio::null(), Stdio::from),
            )
            .spawn()
            .expect("berth node starts"),
        runc_root,
        ids: vec![id(one), id(two)],
        cgroup_parent,
    };

    runnable_and_running(&a, one, distro);
    first.kill();
    runnable_and_running(&b, two, distro);
}

/// Runs `body` on a fresh PostgreSQL database (the store flags of `berth`) and a
/// temporary directory, then drops the database; shows the replicas' logs on failure.
async fn on_fresh_database(body: fn(Vec<String>, std::path::PathBuf)) {
    sqlx::any::install_default_drivers();
    let server = std::env::var("BERTH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let name = format!("berth_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::AnyConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL is reachable (BERTH_TEST_POSTGRES)");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let dir = tempfile::Builder::new()
        .prefix("berth-replicas")
        .tempdir_in("/var/tmp")
        .expect("temporary directory");
    // The customers reach their homes through it.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let store = vec![
        "--data".to_owned(),
        dir.path().join("data").display().to_string(),
        "--database-url".to_owned(),
        format!("{server}/{name}"),
    ];
    let logs = dir.path().to_owned();
    let outcome = tokio::task::spawn_blocking(move || body(store, logs)).await;
    if outcome.is_err() {
        for log in ["a.log", "b.log", "node.log"] {
            let text = std::fs::read_to_string(dir.path().join(log)).unwrap_or_default();
            eprintln!("--- {log}\n{text}");
        }
    }
    // Removing the directory must never reach through a mount a killed node left behind.
    let kept = dir.keep();
    if let Err(error) = berth_node::remove_tree(&kept) {
        eprintln!("keeping {}: {error}", kept.display());
    }
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .expect("drop database");
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_write_loses_no_acknowledged_write() {
    on_fresh_database(run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_given_two_replicas_keeps_converging_when_the_first_dies() {
    on_fresh_database(node_follows).await;
}
