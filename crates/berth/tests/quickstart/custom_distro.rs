//! Custom distros, as uwsgi.it had them (spec/uwsgi-it.md, CustomDistros.md): the customer
//! builds a root file system in `distros/` of a container that keeps custom distros, registers
//! it, and boots another of their containers from it, with the platform's files there too.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::machine::{built_distro, free_tcp_port, ssh_key, wait_for, Customer, Machine};
use crate::sections::Tour;
use crate::support;

#[test]
fn a_custom_distro_built_in_a_storage_container_boots_another_container() {
    let machine = Machine::new("custom");
    let data = machine.path().join("berth-data");
    let ssh_port = free_tcp_port();
    let ssh = format!("127.0.0.1:{ssh_port}");
    // Beside berth up's container network: in the container-network group.
    let (_berth, banner) = support::start_with_node(
        &data,
        machine.path(),
        &machine.cgroup_parent,
        &["--ssh", &ssh],
    );
    let credentials = support::credentials(&data);
    let user = credentials["customer_username"].as_str().expect("user");
    let password = credentials["customer_password"].as_str().expect("password");
    let uid = credentials["container_uid"].as_integer().expect("uid");
    let tour = Tour::new(support::api_base(&banner), user, password);
    let distro_path = built_distro();
    let distro = support::admin(
        &data,
        &[
            "distro",
            "add",
            "Debian 12 (bookworm)",
            "--path",
            distro_path.to_str().expect("UTF-8 path"),
        ],
    );
    let servers = support::admin(&data, &["server", "list"]);
    let server = servers[0]["name"].as_str().expect("this machine's server");
    let created = support::admin(
        &data,
        &[
            "container",
            "create",
            "--customer",
            user,
            "--server",
            server,
            "--name",
            "storage",
            "--memory",
            "128",
            "--storage",
            "2048",
        ],
    );
    let storage_uid = created["uid"].as_i64().expect("uid");
    let key = machine.path().join("id_ed25519");
    let public_key = ssh_key(&key, "ed25519");

    // The storage container keeps custom distros: its home gets distros/.
    tour.post(
        &format!("containers/{storage_uid}"),
        json!({"distro": distro["id"], "ssh_keys": [public_key], "custom_distros_storage": true}),
    );
    let storage = Customer {
        uid: storage_uid,
        key: key.clone(),
        ssh_port,
    };
    storage.wait_for_ssh();
    // The customer builds their root file system there, from the distro they run (files
    // they may not read stay behind, as for any copy of theirs).
    storage.run(
        "cd distros && mkdir bookworm && \
         (cp -a /usr /etc /bin /sbin /lib /lib64 /opt bookworm/ 2>/dev/null; true) && \
         test -x bookworm/usr/bin/uwsgi && echo 'my own bookworm' > bookworm/etc/custom-release",
    );
    let registered = tour.json(
        Method::POST,
        &format!("custom_distros/{storage_uid}"),
        Some(json!({"name": "my bookworm", "path": "bookworm", "note": "cp -a"})),
        201,
    );
    let custom = registered["id"].as_i64().expect("id");
    // A path leaving distros/ is refused.
    let (status, body) = tour.call(
        Method::POST,
        &format!("custom_distros/{storage_uid}"),
        Some(json!({"name": "escape", "path": "../.ssh"})),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        tour.get(&format!("custom_distros/{uid}")),
        json!([{"id": custom, "name": "my bookworm"}])
    );

    // The other container boots it.
    let detail = tour.post(
        &format!("containers/{uid}"),
        json!({"distro": distro["id"], "ssh_keys": [public_key], "custom_distro": custom}),
    );
    assert_eq!(detail["custom_distro_name"], "my bookworm");
    let customer = Customer { uid, key, ssh_port };
    let release = wait_for(
        "the container on its custom distro",
        Duration::from_secs(60),
        || {
            let output = customer.ssh("cat /etc/custom-release", b"");
            output
                .status
                .success()
                .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
        },
    );
    assert_eq!(release, "my own bookworm\n");
    // The Emperor runs from it, with the platform's files beside the customer's.
    let log = wait_for("the Emperor's log", Duration::from_secs(30), || {
        let log = customer.run("cat logs/emperor.log");
        log.contains("*** Starting uWSGI").then_some(log)
    });
    assert!(!log.contains("[DANGER]"), "{log}");
    assert_eq!(
        customer.run("cat /opt/unbit/uwsgi/shortcuts.ini"),
        berth_node::SHORTCUTS_INI
    );
    // btrfs counts a new home's bytes at its next commit: until then quota says, as it
    // does for no use, "no limited resources used".
    wait_for(
        "quota -s to show the home's use",
        Duration::from_secs(60),
        || {
            let quota = customer.run("quota -s");
            quota
                .starts_with(&format!("Disk quotas for user {uid} (uid {uid}): \n"))
                .then_some(())
        },
    );
    assert_eq!(
        customer.run("cat /run/cgroup/memory.limit_in_bytes").trim(),
        (256u64 << 20).to_string()
    );
    // The storage container cannot boot what it keeps.
    let (status, body) = tour.call(
        Method::POST,
        &format!("containers/{storage_uid}"),
        Some(json!({"custom_distro": custom})),
    );
    assert_eq!(status, 400, "{body}");
}
