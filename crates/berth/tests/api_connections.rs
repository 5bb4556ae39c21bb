//! `berth api` against silent and slow clients, as a real process started with the soft
//! open file limit of 1 024: it raises the limit, and 1 500 hostile connections (silent, half
//! a request head, a head whose body stalls) are closed in time — the oldest idle ones at
//! once when the connection cap is reached — while a fresh client is served; a kept-alive
//! connection is closed after the idle timeout.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Long enough to tell connections closed to make room from those closed by this deadline.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
const IDLE_TIMEOUT: Duration = Duration::from_secs(4);
const BODY_TIMEOUT: Duration = Duration::from_secs(3);
const MAX_CONNECTIONS: usize = 1000;
/// Connections of each hostile kind.
const EACH: usize = 500;
/// What a loaded machine may add to a deadline.
const SLACK: Duration = Duration::from_secs(10);

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Gives this test process room for 1 500 client sockets.
fn raise_own_limit() {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    if soft < 4096 {
        setrlimit(Resource::RLIMIT_NOFILE, hard.min(65_536), hard).expect("setrlimit");
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    assert!(
        soft >= 2048,
        "the hard open file limit ({soft}) is too low for this test"
    );
}

/// Starts `berth api` with a soft open file limit of 1 024 and short timeouts; answers it,
/// its address and its log so far (kept filling in the background).
fn start_api(data: &std::path::Path) -> (Killed, SocketAddr, Arc<Mutex<Vec<String>>>) {
    let command = format!(
        "ulimit -Sn 1024 && exec {} api --data {} --listen 127.0.0.1:0 \
         --api-head-timeout 10s --api-idle-timeout 4s --api-body-timeout 3s \
         --api-max-connections {MAX_CONNECTIONS}",
        env!("CARGO_BIN_EXE_berth"),
        data.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &command])
        .env_remove("BERTH_DATABASE_URL")
        .env("BERTH_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("berth api starts");
    let stderr = child.stderr.take().expect("stderr");
    let child = Killed(child);
    let log = Arc::new(Mutex::new(Vec::new()));
    let (found, address) = std::sync::mpsc::channel();
    let lines = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let line = without_colours(&line);
            if line.contains("berth api listening") {
                let address = line
                    .split_whitespace()
                    .find_map(|word| word.strip_prefix("address="))
                    .and_then(|address| address.parse::<SocketAddr>().ok());
                let _ = found.send(address);
            }
            lines.lock().expect("log").push(line);
        }
    });
    let address = address
        .recv_timeout(Duration::from_secs(60))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("berth api did not start: {:#?}", log.lock().expect("log")));
    (child, address, log)
}

/// `line` without its terminal colour codes (`ESC [ … m`).
fn without_colours(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// Reads `stream` until the server closes it or `deadline` passes: what it sent, and when
/// it closed (`None`: still open at the deadline).
fn read_until_closed(stream: &mut TcpStream, deadline: Instant) -> (Vec<u8>, Option<Instant>) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (received, None);
        }
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut buffer) {
            Ok(0) => return (received, Some(Instant::now())),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == ErrorKind::ConnectionReset => {
                return (received, Some(Instant::now()))
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (received, None)
            }
            Err(error) => panic!("reading a hostile connection: {error}"),
        }
    }
}

fn still_open(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    let open =
        matches!(stream.peek(&mut byte), Err(error) if error.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).expect("blocking");
    open
}

fn news(address: SocketAddr) -> reqwest::blocking::Response {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
        .get(format!("http://{address}/api/news"))
        .send()
        .expect("a fresh client is answered")
}

#[test]
fn silent_and_slow_clients_are_closed_in_time_while_a_fresh_client_is_served() {
    raise_own_limit();
    let dir = tempfile::tempdir().expect("temporary directory");
    let (_api, address, log) = start_api(&dir.path().join("data"));
    {
        let log = log.lock().expect("log");
        assert!(
            log.iter()
                .any(|line| line.contains("raised the open file limit")
                    && line.contains("from=1024")),
            "no word of the open file limit: {log:#?}"
        );
        assert!(
            log.iter().any(|line| line.contains("max_connections=1000")),
            "{log:#?}"
        );
    }

    let started = Instant::now();
    let connect = || {
        (
            TcpStream::connect(address).expect("connect"),
            Instant::now(),
        )
    };
    let silent: Vec<(TcpStream, Instant)> = (0..EACH).map(|_| connect()).collect();
    let half: Vec<(TcpStream, Instant)> = (0..EACH)
        .map(|_| {
            let (mut stream, at) = connect();
            stream
                .write_all(b"GET /api/news HTTP/1.1\r\nHost: berth\r\nX-Slow: ")
                .expect("half a head");
            (stream, at)
        })
        .collect();
    let stalled: Vec<(TcpStream, Instant)> = (0..EACH)
        .map(|_| {
            let (mut stream, at) = connect();
            stream
                .write_all(b"POST /node/v1/join HTTP/1.1\r\nHost: berth\r\nContent-Length: 100\r\n\r\n{\"tok")
                .expect("a head and the start of a body");
            (stream, at)
        })
        .collect();
    let opened = started.elapsed();

    // A fresh client is served while the hostile connections are still open.
    let asked = Instant::now();
    let response = news(address);
    let served_in = asked.elapsed();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert!(
        still_open(&stalled.last().expect("stalled").0),
        "the fresh client was served only after the hostile connections were closed"
    );
    eprintln!(
        "1500 hostile connections opened in {opened:?}; a fresh client was served in {served_in:?}"
    );

    // Every hostile connection is closed in time; the stalled bodies are told 408.
    let deadline = Instant::now() + HEAD_TIMEOUT.max(BODY_TIMEOUT) + SLACK;
    let mut closed_at_once = 0;
    for (kind, streams) in [
        ("silent", silent),
        ("half a head", half),
        ("stalled body", stalled),
    ] {
        let mut latest = Duration::ZERO;
        for (mut stream, connected) in streams {
            let (received, closed) = read_until_closed(&mut stream, deadline);
            let closed = closed.unwrap_or_else(|| panic!("a {kind} connection is still open"));
            latest = latest.max(closed.duration_since(started));
            // Seen closed well before its head deadline: closed to make room.
            let early = closed.duration_since(connected) < HEAD_TIMEOUT - Duration::from_secs(1);
            if early && kind != "stalled body" {
                closed_at_once += 1;
            }
            if kind == "stalled body" {
                let text = String::from_utf8_lossy(&received);
                assert!(
                    text.starts_with("HTTP/1.1 408"),
                    "a stalled body was answered {text:?}"
                );
            } else {
                assert!(
                    received.is_empty(),
                    "a {kind} connection got {:?}",
                    String::from_utf8_lossy(&received)
                );
            }
        }
        eprintln!("the last {kind} connection was closed {latest:?} after the flood began");
    }
    eprintln!("{closed_at_once} connections were closed at once to make room");
    assert!(
        closed_at_once >= EACH,
        "the cap did not close idle connections to make room: {closed_at_once}"
    );

    // A kept-alive connection is closed once idle for the idle timeout.
    let (mut kept, _) = connect();
    kept.write_all(b"GET /api/news HTTP/1.1\r\nHost: berth\r\n\r\n")
        .expect("request");
    let answered = Instant::now();
    let (received, closed) = read_until_closed(&mut kept, Instant::now() + IDLE_TIMEOUT + SLACK);
    let closed = closed.expect("the idle connection is closed");
    assert!(String::from_utf8_lossy(&received).starts_with("HTTP/1.1 200"));
    let idle = closed.duration_since(answered);
    eprintln!("a kept-alive connection was closed after {idle:?} idle");
    assert!(
        idle >= IDLE_TIMEOUT - Duration::from_millis(500),
        "closed after {idle:?}"
    );

    assert_eq!(news(address).status(), reqwest::StatusCode::OK);
}
