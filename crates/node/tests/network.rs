//! The containers' network, with real containers: `uwsgi0` with the container's address and
//! a default route (none in the dmz), isolation until both containers link each other, and
//! a public port of the server forwarded to a container. The test keeps its own nftables
//! table and veth names, and removes them when it ends.

use std::process::Command;

use berth_model::node::{LinkSpec, PortMappingSpec};
use berth_node::NetworkConfig;

mod support;

use support::{desired, fixture_with, temp_dir, wait_for};

const A: u32 = 31_011;
const B: u32 = 31_012;
const DMZ: u32 = 31_013;

fn ip(uid: u32) -> String {
    format!("10.250.0.{}", uid - 31_000)
}

/// Removes the test's table.
fn remove_test_network() {
    let _ = Command::new("nft")
        .args(["delete", "table", "ip", "berth_test"])
        .output();
}

/// Removes the test's table when dropped.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        remove_test_network();
    }
}

/// The first global IPv4 address of this machine.
fn host_address() -> String {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .expect("ip runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .skip_while(|word| *word != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .expect("this machine has a global IPv4 address")
        .to_owned()
}

/// A python one-liner fetching `url` with a 2 s timeout: prints the status, or fails.
fn fetch(url: &str) -> String {
    format!(
        "python3 -c \"import urllib.request; \
         print(urllib.request.urlopen('{url}', timeout=2).status)\""
    )
}

#[test]
fn containers_talk_only_when_both_link_and_public_ports_reach_them() {
    remove_test_network();
    let _cleanup = Cleanup;
    let f = fixture_with(
        temp_dir(),
        Some(NetworkConfig {
            table: "berth_test".to_owned(),
            link_prefix: "btt".to_owned(),
            tunnel: "berthtvx".to_owned(),
        }),
    );
    let spec = |uid: u32, links: &[u32]| {
        let mut spec = f.spec(i64::from(uid));
        spec.ip = ip(uid);
        spec.links = links
            .iter()
            .map(|peer| LinkSpec {
                uid: i64::from(*peer),
                ip: ip(*peer),
            })
            .collect();
        spec
    };
    let mut dmz = spec(DMZ, &[A]);
    dmz.dmz = true;
    // A links B, but B does not link A yet.
    let result = f
        .runtime
        .reconcile(&desired(vec![spec(A, &[B]), spec(B, &[]), dmz.clone()]));
    assert!(result.errors.is_empty(), "{:?}", result.errors);

    let (ok, addresses) = f.exec(A, A, "ip -4 -o addr show dev uwsgi0");
    assert!(
        ok && addresses.contains(&format!("{}/8", ip(A))),
        "{addresses}"
    );
    let (_, routes) = f.exec(A, A, "ip route");
    assert!(
        routes.contains("default via 10.0.0.1 dev uwsgi0"),
        "{routes}"
    );
    let (_, routes) = f.exec(DMZ, DMZ, "ip route");
    assert!(
        !routes.contains("default"),
        "a dmz container has no way out: {routes}"
    );

    // B serves HTTP on its address.
    let serve = format!(
        "cd /tmp && nohup python3 -m http.server 7000 --bind {} >/dev/null 2>&1 &",
        ip(B)
    );
    assert!(f.exec(B, B, &serve).0);
    let url = format!("http://{}:7000/", ip(B));
    wait_for("B to serve on its own address", || {
        f.exec(B, B, &fetch(&url)).0.then_some(())
    });
    let (reached, _) = f.exec(A, A, &fetch(&url));
    assert!(!reached, "A reached B, which did not link A");

    // Once B links A too, they talk.
    let linked = desired(vec![spec(A, &[B]), spec(B, &[A]), dmz.clone()]);
    let result = f.runtime.reconcile(&linked);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let (reached, status) = f.exec(A, A, &fetch(&url));
    assert!(
        reached && status.trim() == "200",
        "A → B after both linked: {status}"
    );
    let (reached, _) = f.exec(DMZ, DMZ, &fetch(&url));
    assert!(!reached, "the dmz container linked A, not B");

    // A public port of the server forwarded to B's port 7000.
    let mut mapped = linked.clone();
    mapped.port_mappings = vec![PortMappingSpec {
        proto: "tcp".parse().expect("tcp"),
        public_port: 18_080,
        uid: i64::from(B),
        ip: ip(B),
        private_port: 7000,
    }];
    let result = f.runtime.reconcile(&mapped);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    // A's traffic so far is in its metrics (the first sample of this runtime).
    let points = f.runtime.usage(&result.statuses);
    let traffic = |metric: &str| {
        points
            .iter()
            .find(|p| p.uid == i64::from(A) && p.metric == metric)
            .map(|p| p.value)
    };
    assert!(
        traffic("container.net.rx").is_some_and(|bytes| bytes > 0),
        "{points:?}"
    );
    assert!(
        traffic("container.net.tx").is_some_and(|bytes| bytes > 0),
        "{points:?}"
    );
    let public = format!("http://{}:18080/", host_address());
    let from_host = Command::new("sh")
        .args(["-c", &fetch(&public)])
        .output()
        .expect("python3 runs");
    assert_eq!(
        String::from_utf8_lossy(&from_host.stdout).trim(),
        "200",
        "the server's port 18080 reaches B: {}",
        String::from_utf8_lossy(&from_host.stderr)
    );

    // Unlinking cuts them apart again.
    let result = f
        .runtime
        .reconcile(&desired(vec![spec(A, &[]), spec(B, &[A]), dmz]));
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let (reached, _) = f.exec(A, A, &fetch(&url));
    assert!(!reached, "A reached B after A unlinked");
}
