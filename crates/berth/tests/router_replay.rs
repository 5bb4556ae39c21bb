//! Anti-replay across restarts and floods of garbage, against real `berth router` processes:
//! a signed packet cancelled by an unsubscribe is refused after a graceful restart and after
//! a crash; 12 000 garbage datagrams are all counted and logged in a few lines.

mod router_proc;

use std::net::UdpSocket;
use std::time::Duration;

use berth_wire::{SigningKey, Subscription, SubscriptionKind};
use router_proc::*;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn signed(key: &SigningKey, kind: SubscriptionKind, unix: u64) -> Vec<u8> {
    let mut sub = Subscription::new("replay.test", "127.0.0.1:9");
    sub.kind = kind;
    sub.encode_signed(key, unix).expect("signed packet")
}

fn refused(router: &RouterProc) -> u64 {
    router.stats()["subscriptions_refused"]
        .as_u64()
        .unwrap_or(0)
}

/// Subscribe with `first`, unsubscribe at `unix + 1`: the node comes and goes.
fn come_and_go(router: &RouterProc, udp: &UdpSocket, first: &[u8], key: &SigningKey, unix: u64) {
    udp.send_to(first, &router.udp).expect("send");
    eventually("the node to subscribe", Duration::from_secs(5), || {
        (router.nodes("replay.test") == 1).then_some(())
    });
    let bye = signed(key, SubscriptionKind::Unsubscribe, unix);
    udp.send_to(&bye, &router.udp).expect("send");
    eventually("the node to leave", Duration::from_secs(5), || {
        (router.nodes("replay.test") == 0).then_some(())
    });
}

/// Replay `packet` to a restarted router: refused, and the node stays away.
fn replay_is_refused(router: &RouterProc, udp: &UdpSocket, packet: &[u8]) {
    udp.send_to(packet, &router.udp).expect("send");
    eventually("the replay to be refused", Duration::from_secs(5), || {
        (refused(router) == 1).then_some(())
    });
    assert_eq!(router.nodes("replay.test"), 0, "the node did not come back");
    assert_eq!(router.stats()["refused_by_reason"]["replay"], 1);
    assert_eq!(router.get("replay.test").0, 404);
}

#[test]
fn a_replayed_subscription_is_refused_after_a_restart_or_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let key = signing_key(d, "replay.test");
    let keys = d.join("keys").display().to_string();
    let flags = ["--sign-check", keys.as_str(), "--sign-tolerance", "300"];
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let t = now();

    let router = RouterProc::start(d, "replay-1.log", &flags);
    let first = signed(&key, SubscriptionKind::Subscribe, t);
    come_and_go(&router, &udp, &first, &key, t);
    router.stop();

    let router = RouterProc::start(d, "replay-2.log", &flags);
    replay_is_refused(&router, &udp, &first);
    // A fresh packet is welcome; then the same dance ends in a crash.
    let second = signed(&key, SubscriptionKind::Subscribe, t + 2);
    come_and_go(&router, &udp, &second, &key, t + 2);
    let state = d.join("state/replay.json");
    eventually(
        "the unsubscribe to be saved",
        Duration::from_secs(5),
        || {
            let text = std::fs::read_to_string(&state).unwrap_or_default();
            text.contains(&(t + 3).to_string()).then_some(())
        },
    );
    router.crash();

    let router = RouterProc::start(d, "replay-3.log", &flags);
    replay_is_refused(&router, &udp, &second);
    udp.send_to(
        &signed(&key, SubscriptionKind::Subscribe, t + 4),
        &router.udp,
    )
    .expect("send");
    eventually(
        "a fresh packet after the crash",
        Duration::from_secs(5),
        || (router.nodes("replay.test") == 1).then_some(()),
    );
}

/// A datagram that is not a subscription: random lengths and bytes, some with a uwsgi
/// header.
fn garbage(i: u32) -> Vec<u8> {
    let len = 1 + (i.wrapping_mul(2_654_435_761) % 300) as usize;
    let mut bytes: Vec<u8> = (0..len)
        .map(|j| (i.wrapping_mul(31).wrapping_add(j as u32 * 17) % 251) as u8)
        .collect();
    if i.is_multiple_of(3) && len > 4 {
        bytes[0] = 224;
    }
    bytes
}

#[test]
fn a_flood_of_garbage_is_counted_and_logged_in_a_few_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let router = RouterProc::start(dir.path(), "flood.log", &[]);
    let lines_before = router.log().lines().count();
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    const TOTAL: u32 = 12_000;
    const BATCH: u32 = 500;
    // In batches the receive buffer holds, so no datagram is lost on the way.
    for batch in 0..TOTAL / BATCH {
        for i in batch * BATCH..(batch + 1) * BATCH {
            udp.send_to(&garbage(i), &router.udp).expect("send");
        }
        let want = u64::from((batch + 1) * BATCH);
        eventually("the batch to be counted", Duration::from_secs(10), || {
            (refused(&router) == want).then_some(())
        });
    }
    let stats = router.stats();
    assert_eq!(stats["subscriptions_refused"], 12_000);
    assert_eq!(stats["refused_by_reason"]["malformed"], 12_000);
    let metrics = client()
        .get(format!("http://{}/metrics", router.stats))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    assert!(
        metrics.contains("berth_router_refused_total{reason=\"malformed\"} 12000"),
        "{metrics}"
    );
    // Every refusal is in a line: one by one, or in the interval's summary.
    let log = eventually("the last summary", Duration::from_secs(5), || {
        let log = router.log();
        let one_by_one = log.matches("subscription refused").count() as u64;
        let summarised: u64 = log
            .lines()
            .filter(|l| l.contains(" more subscriptions in the last "))
            .filter_map(|l| {
                l.split("refused ")
                    .nth(1)?
                    .split(' ')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum();
        (one_by_one + summarised == 12_000).then_some(log)
    });
    let lines = log.lines().count() - lines_before;
    assert!(
        lines <= 60,
        "12 000 garbage datagrams wrote {lines} log lines:\n{log}"
    );
    // The router still subscribes and serves.
    let backend = http_backend();
    let mut sub = Subscription::new("after.test", &backend);
    sub.proto = Some("http".into());
    udp.send_to(&sub.encode().expect("packet"), &router.udp)
        .expect("send");
    eventually("after.test to answer", Duration::from_secs(5), || {
        (router.get("after.test") == (200, "ok".to_owned())).then_some(())
    });
}
