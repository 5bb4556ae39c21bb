//! Shared helpers of the interop tests: an in-process router, real uWSGI vassals, polling.

#![allow(dead_code)] // each test binary uses a different subset

mod control_plane;
#[allow(unused_imports)] // not every test binary follows a control plane
pub use control_plane::*;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_router::{BoundAddrs, Router, RouterConfig};
use tokio::sync::oneshot;

/// A router running in this test's runtime; stopped when dropped.
pub struct TestRouter {
    pub addrs: BoundAddrs,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestRouter {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Loopback with an ephemeral port.
pub fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

/// Start a router; unset listeners default to: HTTP, UDP subscriptions and stats.
pub async fn start_router(mut config: RouterConfig) -> TestRouter {
    config.http.get_or_insert_with(any_port);
    config.subscription_udp.get_or_insert_with(any_port);
    config.stats.get_or_insert_with(any_port);
    let router = Router::bind(config).await.expect("router binds");
    let addrs = router.addrs().clone();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        router
            .serve(async {
                let _ = rx.await;
            })
            .await
            .expect("router serves");
    });
    TestRouter {
        addrs,
        stop: Some(tx),
    }
}

impl TestRouter {
    /// The UDP subscription address, as a vassal's `server=` value.
    pub fn udp(&self) -> String {
        self.addrs.subscription_udp.expect("udp").to_string()
    }

    /// GET `path` with a Host header over plain HTTP: (status, body).
    pub async fn get(&self, host: &str, path: &str) -> (u16, String) {
        let url = format!("http://{}{}", self.addrs.http.expect("http"), path);
        let resp = client()
            .get(url)
            .header("Host", host)
            .send()
            .await
            .expect("router answers");
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }

    /// The JSON stats.
    pub async fn stats(&self) -> serde_json::Value {
        let url = format!("http://{}/stats.json", self.addrs.stats.expect("stats"));
        client()
            .get(url)
            .send()
            .await
            .expect("stats answer")
            .json()
            .await
            .expect("stats are JSON")
    }

    /// Node addresses of a domain in the stats.
    pub async fn nodes(&self, key: &str) -> Vec<String> {
        let stats = self.stats().await;
        stats["subscriptions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["key"] == key)
            .flat_map(|s| s["nodes"].as_array().cloned().unwrap_or_default())
            .filter_map(|n| n["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// Refused subscription packets so far.
    pub async fn refused(&self) -> u64 {
        self.stats().await["subscriptions_refused"]
            .as_u64()
            .unwrap_or(0)
    }
}

/// An HTTP client that neither pools nor follows redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Poll `check` every 50 ms until it returns `Some`, or panic after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where the test apps are written.
pub struct Apps {
    pub dir: tempfile::TempDir,
}

impl Apps {
    /// Write the WSGI, PSGI and Rack apps. Each answers `NAME|HTTPS_DN|PATH_INFO|body`.
    pub fn new() -> Apps {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("app.py"),
            r#"import os
import uwsgi
def application(env, start_response):
    if env.get('PATH_INFO') == '/ws':
        uwsgi.websocket_handshake()
        msg = uwsgi.websocket_recv()
        uwsgi.websocket_send(b'echo:' + msg)
        return []
    if env.get('HTTP_TRANSFER_ENCODING') == 'chunked':
        body = b''
        while True:
            chunk = uwsgi.chunked_read()
            if not chunk:
                break
            body += chunk
    else:
        body = env['wsgi.input'].read(int(env.get('CONTENT_LENGTH') or 0))
    out = ('%s|%s|%s|' % (os.environ.get('APP_NAME', 'py'), env.get('HTTPS_DN', ''), env.get('PATH_INFO', ''))).encode() + body
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(out)))])
    return [out]
"#,
        )
        .expect("write app.py");
        std::fs::write(
            dir.path().join("app.psgi"),
            r#"my $app = sub {
    my $env = shift;
    my $name = $ENV{APP_NAME} // 'pl';
    my $dn = $env->{HTTPS_DN} // '';
    return [200, ['Content-Type' => 'text/plain'], ["$name|$dn|$env->{PATH_INFO}|"]];
};
"#,
        )
        .expect("write app.psgi");
        std::fs::write(
            dir.path().join("config.ru"),
            r##"run lambda { |env| [200, {'content-type' => 'text/plain'}, ["#{ENV['APP_NAME'] || 'rb'}|#{env['HTTPS_DN']}|#{env['PATH_INFO']}|"]] }
"##,
        )
        .expect("write config.ru");
        Apps { dir }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// Which app a vassal runs.
#[derive(Clone, Copy, Debug)]
pub enum Lang {
    Python,
    Perl,
    Ruby,
}

/// A real uWSGI instance; killed (SIGKILL) when dropped if still running.
pub struct Vassal {
    pub child: Child,
    pub name: String,
}

impl Vassal {
    /// Start `uwsgi` serving `lang`'s app as `APP_NAME=name` on an ephemeral TCP port,
    /// with the given extra arguments (typically `--subscribe2 …`).
    pub fn start(apps: &Apps, lang: Lang, name: &str, extra: &[&str]) -> Vassal {
        let mut cmd = Command::new("uwsgi");
        cmd.args(["--master", "--processes", "1", "--socket", "127.0.0.1:0"])
            .args(["--need-app", "--disable-logging"])
            .args(["--env", &format!("APP_NAME={name}")]);
        match lang {
            Lang::Python => cmd.args(["--plugin", "python3", "--wsgi-file", &apps.path("app.py")]),
            Lang::Perl => cmd.args(["--plugin", "psgi", "--psgi", &apps.path("app.psgi")]),
            Lang::Ruby => cmd.args(["--plugin", "rack", "--rack", &apps.path("config.ru")]),
        };
        cmd.args(extra);
        Vassal::spawn(cmd, name)
    }

    /// Start a prepared `uwsgi` command.
    pub fn spawn(mut cmd: Command, name: &str) -> Vassal {
        let log = std::env::temp_dir().join(format!(
            "berth-router-test-{name}-{}.log",
            std::process::id()
        ));
        let log = std::fs::File::create(&log).expect("log file");
        let err = log.try_clone().expect("log file");
        cmd.stdin(Stdio::null()).stdout(log).stderr(err);
        let child = cmd
            .spawn()
            .expect("uwsgi runs (install the packages in scripts/debian-packages.txt)");
        Vassal {
            child,
            name: name.to_owned(),
        }
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, sig);
    }

    /// SIGINT: uWSGI's graceful stop, which unsubscribes; waits for the exit.
    pub fn stop_gracefully(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGINT);
        let _ = self.child.wait();
    }

    /// SIGKILL: gone without a word.
    pub fn kill(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Vassal {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// Wait until `host` routes to an app named `name` (the first field of its answer).
pub async fn wait_for_app(router: &TestRouter, host: &str, name: &str) {
    eventually(
        &format!("{host} to reach {name}"),
        Duration::from_secs(20),
        || async {
            let (status, body) = router.get(host, "/").await;
            (status == 200 && body.split('|').next() == Some(name)).then_some(())
        },
    )
    .await
}

/// Run `openssl` with `args` in `dir`.
pub fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl {args:?} failed");
}

/// A test certificate authority (rcgen) that issues server and client certificates.
pub struct TestCa {
    pub cert: rcgen::Certificate,
    pub key: rcgen::KeyPair,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().expect("ca key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("ca cert");
        TestCa { cert, key }
    }

    /// Write `<stem>.crt` and `<stem>.key` for a server certificate of `names`.
    pub fn server(&self, dir: &Path, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().expect("key");
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let params = rcgen::CertificateParams::new(names).expect("params");
        let cert = params.signed_by(&key, &self.cert, &self.key).expect("cert");
        let (crt_path, key_path) = (
            dir.join(format!("{stem}.crt")),
            dir.join(format!("{stem}.key")),
        );
        std::fs::write(&crt_path, cert.pem()).expect("write crt");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key");
        (crt_path, key_path)
    }

    /// A client certificate with subject O=Berth, CN=`cn`, as one PEM (cert + key).
    pub fn client_identity(&self, cn: &str) -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Berth");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.cert, &self.key).expect("cert");
        format!("{}{}", cert.pem(), key.serialize_pem())
    }

    pub fn write_ca(&self, path: &Path) {
        std::fs::write(path, self.cert.pem()).expect("write ca");
    }
}
