//! Paths a hostile customer names in subscriptions, against a real `berth router` and a real
//! sender process running as another user (nobody): key files that are a FIFO, a link, a
//! file of another user or a huge file are refused with one log line while the router keeps
//! routing and subscribing; the subscription ack never reaches a socket the sender does not
//! own, however fast a link is swapped. Under `berth up`, a FIFO freezes neither the
//! router nor the API.

mod router_proc;
mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_wire::Subscription;
use router_proc::*;

/// A certificate and key for `name`, written as `<stem>.crt` and `<stem>.key`.
fn certificate(dir: &Path, stem: &str, name: &str) {
    let made = rcgen::generate_simple_self_signed(vec![name.to_owned()]).expect("certificate");
    std::fs::write(dir.join(format!("{stem}.crt")), made.cert.pem()).expect("write crt");
    std::fs::write(
        dir.join(format!("{stem}.key")),
        made.key_pair.serialize_pem(),
    )
    .expect("write key");
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// A subscription of `key` to the HTTP backend, with `sni_key` and nobody's certificate.
fn with_key_file(key: &str, backend: &str, sni_key: String, crt: String) -> Vec<u8> {
    let mut sub = Subscription::new(key, backend);
    sub.proto = Some("http".into());
    sub.sni_key = Some(sni_key);
    sub.sni_crt = Some(crt);
    sub.encode().expect("packet")
}

#[test]
fn hostile_key_files_are_refused_and_the_router_keeps_serving() {
    if !nix::unistd::getuid().is_root() {
        eprintln!("needs root to send as another user and own files as root; CI runs as root");
        return;
    }
    let dir = open_dir();
    let d = dir.path();
    let files = d.join("files");
    std::fs::create_dir(&files).expect("mkdir");
    give_to_nobody(&files);
    certificate(&files, "good", "good.test");
    certificate(&files, "root", "foreign.test");
    nix::unistd::mkfifo(&files.join("fifo"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    std::fs::write(files.join("huge.key"), vec![b'A'; 2 << 20]).expect("huge");
    std::os::unix::fs::symlink(files.join("root.key"), files.join("link.key")).expect("link");
    std::fs::create_dir(d.join("real")).expect("mkdir");
    std::fs::copy(files.join("good.key"), d.join("real/good.key")).expect("copy");
    std::os::unix::fs::symlink(d.join("real"), files.join("dir")).expect("dir link");
    for f in [
        "good.crt", "good.key", "fifo", "huge.key", "link.key", "dir",
    ] {
        give_to_nobody(&files.join(f));
    }
    give_to_nobody(&d.join("real"));
    give_to_nobody(&d.join("real/good.key"));
    let router = RouterProc::start(d, "files.log", &[]);
    let backend = http_backend();
    let crt = path(&files, "good.crt");
    let hostile = [
        ("fifo.test", path(&files, "fifo"), "is a FIFO"),
        ("link.test", path(&files, "link.key"), "symbolic link"),
        (
            "dirlink.test",
            path(&files, "dir/good.key"),
            "symbolic link",
        ),
        ("foreign.test", path(&files, "root.key"), "owned by uid 0"),
        ("huge.test", path(&files, "huge.key"), "larger than 1 MiB"),
    ];
    let mut packets: Vec<Vec<u8>> = hostile
        .iter()
        .map(|(key, sni_key, _)| with_key_file(key, &backend, sni_key.clone(), crt.clone()))
        .collect();
    packets.push(with_key_file(
        "good.test",
        &backend,
        path(&files, "good.key"),
        crt.clone(),
    ));
    let sent = Instant::now();
    send_as_nobody(&router.unix, &packets, 0);
    // Right behind the FIFO and the rest, another customer's plain subscription works.
    let mut other = Subscription::new("other.test", &backend);
    other.proto = Some("http".into());
    send_as_nobody(&router.unix, &[other.encode().expect("packet")], 0);
    eventually("other.test to answer", Duration::from_secs(2), || {
        (router.get("other.test") == (200, "ok".to_owned())).then_some(())
    });
    eventually("good.test's certificate", Duration::from_secs(5), || {
        router
            .domain("good.test")
            .filter(|d| d["sni_enabled"] == true)
    });
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "subscribing stayed prompt: {:?}",
        sent.elapsed()
    );
    let log = eventually(
        "a log line per hostile file",
        Duration::from_secs(5),
        || {
            let log = router.log();
            (log.matches("SNI certificate of the subscription not used")
                .count()
                == hostile.len())
            .then_some(log)
        },
    );
    for (key, _, why) in &hostile {
        assert_eq!(
            router.get(key),
            (200, "ok".to_owned()),
            "{key} still routes"
        );
        assert_eq!(
            router.domain(key).expect("subscribed")["sni_enabled"],
            false,
            "{key} got no certificate"
        );
        let line = log
            .lines()
            .find(|l| l.contains("SNI certificate") && l.contains(&format!("key={key} ")))
            .unwrap_or_else(|| panic!("a line for {key}: {log}"));
        assert!(line.contains(why), "{key}: {line}");
    }
    assert_eq!(router.stats()["refused_by_reason"]["sni_files"], 5);
    // The FIFO was never opened for reading: a writer would block until a reader came.
    let writer = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(files.join("fifo"));
    assert!(writer.is_err(), "nobody holds the FIFO open for reading");
}

use std::os::unix::fs::OpenOptionsExt;

/// Swap `link` between `a` and `b` (atomically, by renaming a fresh link over it) until
/// `stop`.
fn swap_link(
    link: std::path::PathBuf,
    a: std::path::PathBuf,
    b: std::path::PathBuf,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let tmp = link.with_extension("tmp");
        let mut swaps = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let target = if swaps.is_multiple_of(2) { &a } else { &b };
            let _ = std::fs::remove_file(&tmp);
            if std::os::unix::fs::symlink(target, &tmp).is_ok() {
                let _ = std::os::unix::fs::lchown(&tmp, Some(NOBODY), Some(NOBODY));
                let _ = std::fs::rename(&tmp, &link);
            }
            swaps += 1;
            std::thread::yield_now();
        }
        swaps
    })
}

/// Everything a unix datagram socket receives, read by a thread of its own as it arrives
/// (the kernel queues only a few datagrams).
struct Inbox(Arc<std::sync::Mutex<Vec<String>>>);

impl Inbox {
    fn bind(path: &Path) -> Inbox {
        let sock = std::os::unix::net::UnixDatagram::bind(path).expect("bind");
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let inbox = got.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok(n) = sock.recv(&mut buf) {
                let ack = String::from_utf8_lossy(&buf[..n]).into_owned();
                inbox.lock().expect("inbox").push(ack);
            }
        });
        Inbox(got)
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("inbox"))
    }
}

#[test]
fn acks_never_reach_a_socket_the_sender_does_not_own() {
    if !nix::unistd::getuid().is_root() {
        eprintln!("needs root to send as another user; CI runs as root");
        return;
    }
    let dir = open_dir();
    let d = dir.path();
    for sub in ["mine", "theirs"] {
        std::fs::create_dir(d.join(sub)).expect("mkdir");
    }
    let mine = Inbox::bind(&d.join("mine/ack.sock"));
    give_to_nobody(&d.join("mine/ack.sock"));
    give_to_nobody(&d.join("mine"));
    let theirs = Inbox::bind(&d.join("theirs/ack.sock"));
    let router = RouterProc::start(d, "acks.log", &[]);
    let notify = |i: u32, path: String| {
        let mut sub = Subscription::new("race.test", format!("127.0.0.1:{}", 20000 + i));
        sub.notify = Some(path);
        sub.encode().expect("packet")
    };
    // The sender's own socket, named directly: acked.
    let direct: Vec<Vec<u8>> = (0..20)
        .map(|i| notify(i, path(d, "mine/ack.sock")))
        .collect();
    send_as_nobody(&router.unix, &direct, 1);
    let mut acks = Vec::new();
    eventually("20 acks", Duration::from_secs(5), || {
        acks.extend(mine.take());
        (acks.len() == 20).then_some(())
    });
    assert!(acks[0].starts_with("[subscription ack] race.test => new node: 127.0.0.1:2000"));
    // The same socket through links swapped with root's socket as fast as possible: the
    // final component, and a directory on the way.
    let stop = Arc::new(AtomicBool::new(false));
    let swappers = [
        swap_link(
            d.join("link.sock"),
            d.join("mine/ack.sock"),
            d.join("theirs/ack.sock"),
            stop.clone(),
        ),
        swap_link(
            d.join("dir"),
            d.join("mine"),
            d.join("theirs"),
            stop.clone(),
        ),
    ];
    let tries: Vec<Vec<u8>> = (20..420)
        .map(|i| {
            notify(
                i,
                if i.is_multiple_of(2) {
                    path(d, "link.sock")
                } else {
                    path(d, "dir/ack.sock")
                },
            )
        })
        .collect();
    send_as_nobody(&router.unix, &tries, 1);
    eventually("420 nodes subscribed", Duration::from_secs(10), || {
        (router.nodes("race.test") == 420).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let swaps: u64 = swappers
        .into_iter()
        .map(|t| t.join().expect("swapper"))
        .sum();
    assert!(
        swaps > 400,
        "the links were swapped while the acks went out ({swaps})"
    );
    assert_eq!(
        theirs.take(),
        Vec::<String>::new(),
        "no ack reached root's socket"
    );
    assert_eq!(
        mine.take(),
        Vec::<String>::new(),
        "no ack went through a link"
    );
}

#[test]
fn under_berth_up_a_fifo_key_file_freezes_neither_the_api_nor_the_router() {
    if !nix::unistd::getuid().is_root() {
        eprintln!("needs root to send as another user; CI runs as root");
        return;
    }
    let dir = open_dir();
    let d = dir.path();
    let data = d.join("data");
    let (_up, banner) = support::start(&data, &[]);
    let router_http = banner
        .iter()
        .find_map(|l| l.strip_prefix("Router: HTTP on "))
        .and_then(|l| l.split(',').next())
        .expect("router address")
        .to_owned();
    let me = banner
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("curl -u") && l.ends_with("/api/me"))
        .expect("a curl line for /api/me")
        .to_owned();
    let words: Vec<&str> = me.split_whitespace().collect();
    let (user, password) = words[2].split_once(':').expect("user:password");
    let api_me = || {
        client()
            .get(words[3])
            .basic_auth(user, Some(password))
            .send()
            .expect("the API answers")
            .status()
            .as_u16()
    };
    // The customer's key signs both domains (berth up's sign-check directory).
    let key = signing_key(d, "fifo.test");
    for domain in ["fifo.test", "ok.test"] {
        std::fs::copy(
            d.join("keys/fifo.test.pem"),
            data.join(format!("domains/{domain}.pem")),
        )
        .expect("public key");
    }
    let files = d.join("files");
    std::fs::create_dir(&files).expect("mkdir");
    certificate(&files, "good", "fifo.test");
    nix::unistd::mkfifo(&files.join("fifo"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    for f in ["", "good.crt", "fifo"] {
        give_to_nobody(&files.join(f));
    }
    let backend = http_backend();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let mut fifo = Subscription::new("fifo.test", &backend);
    fifo.proto = Some("http".into());
    fifo.sni_key = Some(path(&files, "fifo"));
    fifo.sni_crt = Some(path(&files, "good.crt"));
    let mut ok = Subscription::new("ok.test", &backend);
    ok.proto = Some("http".into());
    let packets = [
        fifo.encode_signed(&key, now).expect("signed"),
        ok.encode_signed(&key, now).expect("signed"),
    ];
    let sent = Instant::now();
    send_as_nobody(&data.join("subscribe/http"), &packets, 0);
    let get = |host: &str| {
        client()
            .get(format!("http://{router_http}/"))
            .header("Host", host)
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    eventually(
        "ok.test and fifo.test to answer",
        Duration::from_secs(3),
        || (get("ok.test") == 200 && get("fifo.test") == 200).then_some(()),
    );
    let asked = Instant::now();
    assert_eq!(api_me(), 200);
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "the API answered in {:?}",
        asked.elapsed()
    );
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    eventually("the FIFO's log line", Duration::from_secs(5), || {
        let log = std::fs::read_to_string(support::log_path(&data)).unwrap_or_default();
        log.lines()
            .any(|l| l.contains("fifo.test") && l.contains("is a FIFO"))
            .then_some(())
    });
}
