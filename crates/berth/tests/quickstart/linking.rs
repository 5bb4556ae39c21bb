//! The seed's "Linking containers": the customer's container and another customer's
//! (`anothercustomer`, as in the seed), isolated until both link each other, apart again
//! when one side unlinks; the links in `linked_to`.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::machine::{wait_for, Customer};
use crate::sections::Tour;
use crate::support;

/// The second customer's service: a vassal on the container's own address, so that it
/// outlives reboots.
const DB_APP: &str = "def application(env, start_response):
    start_response('200 OK', [])
    return [b\"db here\"]
";

/// `POST {verb: to}` on the container `from` as `tour`'s customer.
fn link(tour: &Tour, from: i64, verb: &str, to: i64) {
    let (status, body) = tour.call(
        Method::POST,
        &format!("containers/{from}"),
        Some(json!({verb: to})),
    );
    assert_eq!(status, 200, "{verb} {to} on {from}: {body}");
}

/// "Linking containers", with `customer`'s container, a container of a new customer on the
/// `distro` with the same `public_key`, against `berth up` keeping its data in `data`.
pub fn linking(tour: &Tour, data: &Path, customer: &Customer, distro: &Value, public_key: &str) {
    let uid = customer.uid;
    // The seed's "secret1" is a character short of berth's 8 (docs/compat.md).
    support::admin(
        data,
        &[
            "customer",
            "create",
            "anothercustomer",
            "--password",
            "secret1!",
        ],
    );
    let servers = support::admin(data, &["server", "list"]);
    let server = servers[0]["name"].as_str().expect("this machine's server");
    let created = support::admin(
        data,
        &[
            "container",
            "create",
            "--customer",
            "anothercustomer",
            "--server",
            server,
            "--name",
            "db",
            "--memory",
            "128",
            "--storage",
            "1024",
        ],
    );
    let db_uid = created["uid"].as_i64().expect("uid");
    let other = Tour::new(tour.base().to_owned(), "anothercustomer", "secret1!");
    let detail = other.post(
        &format!("containers/{db_uid}"),
        json!({"distro": distro, "ssh_keys": [public_key]}),
    );
    let db_ip = detail["ip"].as_str().expect("ip").to_owned();
    let db = Customer {
        uid: db_uid,
        key: customer.key.clone(),
        ssh_port: customer.ssh_port,
    };
    db.wait_for_ssh();
    db.write("db.py", DB_APP);
    db.write(
        "vassals/db.ini",
        &format!(
            "[uwsgi]\nplugin = 0:python\nhttp-socket = {db_ip}:7000\nwsgi-file = $(HOME)/db.py\n"
        ),
    );
    // The distro has no python3 binary (only the plugin's libpython): bash's /dev/tcp asks.
    let fetch = format!(
        "timeout 3 bash -c 'exec 3<>/dev/tcp/{db_ip}/7000 && \
         printf \"GET / HTTP/1.0\\r\\n\\r\\n\" >&3 && cat <&3'"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !db.ssh(&fetch, b"").status.success() {
        if Instant::now() > deadline {
            let seen = db.ssh("tail -n 20 logs/emperor.log; cat /proc/net/dev", b"");
            panic!(
                "the second container does not serve on {db_ip}:\n{}{}\nberth up's log:\n{}",
                String::from_utf8_lossy(&seen.stdout),
                String::from_utf8_lossy(&seen.stderr),
                std::fs::read_to_string(support::log_path(data)).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let reaches = || customer.ssh(&fetch, b"");
    assert!(
        !reaches().status.success(),
        "the containers talk before linking"
    );
    // "if only one peer configure linking it will not work until the other will link too".
    link(tour, uid, "link", db_uid);
    customer.wait_for_ssh();
    assert!(
        !reaches().status.success(),
        "one side's link let traffic through"
    );
    link(&other, db_uid, "link", uid);
    let answered = wait_for(
        "the linked containers to talk",
        Duration::from_secs(30),
        || {
            let output = reaches();
            output
                .status
                .success()
                .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
        },
    );
    assert!(answered.ends_with("db here"), "{answered}");
    // "the links of a container are showed in the "linked_to" attribute".
    assert_eq!(
        tour.get(&format!("containers/{uid}"))["linked_to"],
        json!([db_uid])
    );
    assert_eq!(
        other.get(&format!("containers/{db_uid}"))["linked_to"],
        json!([uid])
    );
    // "to unlink a container just run", as the other customer: apart again.
    link(&other, db_uid, "unlink", uid);
    wait_for(
        "the unlinked containers to be apart",
        Duration::from_secs(30),
        || {
            let output = reaches();
            // ssh itself works (255 is ssh's own failure): the fetch is what fails.
            (output
                .status
                .code()
                .is_some_and(|code| code != 0 && code != 255))
            .then_some(())
        },
    );
}
