//! `berth node` against `berth up`: with the credential `berth up` gave its own machine, the
//! node follows the desired state, starts the demo container under runc once it is runnable
//! (a distro and an ssh key set through the customer API) and reports it running; with
//! `--ssh`, the customer logs into it with that key. Needs root, runc and the OpenSSH
//! client, as the node and its tests do.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The node process; on drop it is killed and its runc containers deleted.
struct Node {
    child: Child,
    runc_root: std::path::PathBuf,
    id: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("runc")
            .arg("--root")
            .arg(&self.runc_root)
            .args(["delete", "--force", &self.id])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn berth_node_runs_the_demo_container_once_it_is_runnable() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("berth-data");
    let (_berth, banner) = support::start(&data, &[]);
    let base = support::api_base(&banner);
    let credentials = support::credentials(&data);
    let user = credentials["customer_username"].as_str().expect("user");
    let password = credentials["customer_password"].as_str().expect("password");
    let staff = credentials["staff_username"].as_str().expect("staff");
    let staff_password = credentials["staff_password"]
        .as_str()
        .expect("staff password");
    let uid = credentials["container_uid"].as_integer().expect("uid");

    let machine = tempfile::Builder::new()
        .prefix("berth-node-e2e")
        .tempdir_in("/var/tmp")
        .expect("node directory");
    // The customers reach their homes through it.
    std::fs::set_permissions(machine.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let runc_root = machine.path().join("runc");
    let key = machine.path().join("id_ed25519");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "demo@laptop", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(keygen.success());
    let public_key = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
    let ssh_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    let node = Node {
        child: Command::new(env!("CARGO_BIN_EXE_berth"))
            // The node network test owns this machine's container network meanwhile.
            .args(["node", "--no-network", "--api", &base, "--credential-file"])
            .arg(data.join("node-credential"))
            .arg("--containers")
            .arg(machine.path().join("containers"))
            .arg("--bundles")
            .arg(machine.path().join("bundles"))
            .arg("--runc-root")
            .arg(&runc_root)
            .arg("--subscribe-dir")
            .arg(data.join("subscribe"))
            .args(["--ssh", &format!("127.0.0.1:{ssh_port}"), "--ssh-host-key"])
            .arg(machine.path().join("ssh_host_ed25519_key"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("berth node starts"),
        runc_root,
        id: berth_node::container_id(u32::try_from(uid).expect("uid")),
    };

    let distro = support::admin(&data, &["distro", "add", "host", "--path", "/"]);
    let http = reqwest::Client::new();
    let body =
        serde_json::json!({"distro": distro["id"], "ssh_keys": [public_key.trim()]}).to_string();
    let response = http
        .post(format!("{base}/api/containers/{uid}"))
        .basic_auth(user, Some(password))
        .body(body)
        .send()
        .await
        .expect("update");
    assert_eq!(response.status(), 200);

    let started = Instant::now();
    let status = loop {
        let detail: Value = http
            .get(format!("{base}/v1/admin/containers/{uid}"))
            .basic_auth(staff, Some(staff_password))
            .send()
            .await
            .expect("staff view")
            .json()
            .await
            .expect("JSON");
        if detail["status"]["state"] == "running" || started.elapsed() > Duration::from_secs(30) {
            break detail["status"].clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status["state"], "running", "reported: {status}");
    let state = Command::new("runc")
        .arg("--root")
        .arg(&node.runc_root)
        .args(["state", &node.id])
        .output()
        .expect("runc state");
    let state: Value = serde_json::from_slice(&state.stdout).expect("runc state JSON");
    assert_eq!(state["status"], "running");
    assert!(machine
        .path()
        .join(format!("containers/{uid}/vassals"))
        .is_dir());

    // The customer logs in with the key set through the API.
    let login = Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
        ])
        .args([
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-i",
        ])
        .arg(&key)
        .args(["-p", &ssh_port, &format!("{uid}@127.0.0.1"), "id -u; pwd"])
        .output()
        .expect("ssh runs");
    assert!(login.status.success(), "{login:?}");
    assert_eq!(
        String::from_utf8_lossy(&login.stdout),
        format!(
            "{uid}\n{}\n",
            machine.path().join(format!("containers/{uid}")).display()
        )
    );
    drop(node);
}
