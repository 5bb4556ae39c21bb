//! The customer quickstart (seeds/CustomerQuickstart.md, as docs/quickstart.md adapts it),
//! done the way a customer does it, against `berth up` running its node as root: set a distro
//! and an ssh key through the API, `ssh <uid>@server` with the real OpenSSH client, prove a
//! domain with a DNS TXT record (dnsmasq on loopback), drop the python, perl and ruby apps
//! and their vassal files into the home, and watch the router rotate among them. Then an
//! `ssl-domain` vassal answers over HTTPS with the customer's own certificate.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const DOMAIN: &str = "mynewdomain.org";
const SSL_DOMAIN: &str = "shop.mynewdomain.org";

// The three apps and vassal files of the quickstart, word for word, but for the python app's
// body: Python 3's WSGI (PEP 3333) takes bytes, and uWSGI sends nothing for a str
// (docs/compat.md).
const PYTHON_APP: &str = r#"def application(environ, start_response):
    start_response('200 OK', [('Content-Type','text/plain')])
    return [b"Hello i am python"]
"#;
const PERL_APP: &str = r#"my $app = sub {
    my ($env) = @_;
    return [200, ['Content-Type' => 'text/plain'], ["Hello i am perl"]];
};
"#;
const RUBY_APP: &str = r#"class MyApp
  def call(env)
    [200, {'Content-Type' => 'text/plain'}, ["Hello i am ruby"]]
  end
end

run MyApp.new
"#;
const PERL_VASSAL: &str = "[uwsgi]
plugin = 0:psgi
psgi = $(HOME)/myapp.pl
domain = mynewdomain.org
";
const PYTHON_VASSAL: &str = "[uwsgi]
plugin = 0:python
wsgi-file = $(HOME)/myapp.py
domain = mynewdomain.org
";
const RUBY_VASSAL: &str = "[uwsgi]
plugin = 0:rack
rack = $(HOME)/myapp.ru
domain = mynewdomain.org
";
const SSL_VASSAL: &str = "[uwsgi]
plugin = 0:python
wsgi-file = $(HOME)/myapp.py
ssl-domain = shop.mynewdomain.org $(HOME)/foobar.key $(HOME)/foobar.crt
";
/// The quickstart's self-signed certificate, made in the container (`-subj` instead of
/// answering openssl's questions).
const MAKE_CERTIFICATE: &str = "openssl genrsa -out foobar.key 2048 2>/dev/null && \
    openssl req -new -key foobar.key -out foobar.csr -subj /CN=shop.mynewdomain.org && \
    openssl x509 -req -days 365 -in foobar.csr -signkey foobar.key -out foobar.crt 2>/dev/null";

/// What a test machine leaves behind is removed on drop: every runc container of its runc
/// root, then its cgroup parent and `berth up`'s container network table.
struct Machine {
    dir: tempfile::TempDir,
    cgroup_parent: String,
}

impl Machine {
    fn new() -> Machine {
        let dir = tempfile::Builder::new()
            .prefix("berth-quickstart")
            .tempdir_in("/var/tmp")
            .expect("machine directory outside /tmp");
        // The customers reach their homes through it, as through /containers' parents.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        Machine {
            dir,
            cgroup_parent: format!("berth-quickstart-{}", std::process::id()),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let runc_root = self.path().join("runc");
        if let Ok(listed) = Command::new("runc")
            .arg("--root")
            .arg(&runc_root)
            .args(["list", "-q"])
            .output()
        {
            for id in String::from_utf8_lossy(&listed.stdout).lines() {
                let _ = Command::new("runc")
                    .arg("--root")
                    .arg(&runc_root)
                    .args(["delete", "--force", id])
                    .status();
            }
        }
        if let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") {
            for controller in controllers.flatten() {
                let _ = std::fs::remove_dir(controller.path().join(&self.cgroup_parent));
            }
        }
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", "berth"])
            .output();
    }
}

/// A Debian distro with uWSGI and its plugins, built by `berth node distro build`
/// (debootstrap) once per target directory.
fn built_distro() -> PathBuf {
    let into = Path::new(env!("CARGO_TARGET_TMPDIR")).join("distros");
    let distro = into.join("bookworm-quickstart");
    if !distro.join("usr/bin/uwsgi").exists() {
        let _ = std::fs::remove_dir_all(&distro);
        let output = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["node", "distro", "build", "bookworm-quickstart", "--into"])
            .arg(&into)
            .output()
            .expect("berth node distro build runs");
        assert!(
            output.status.success(),
            "building the distro: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    distro
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free TCP port")
        .port()
}

/// The address the banner's "Router:" line gives for `scheme` ("HTTP" or "HTTPS").
fn router_address(banner: &[String], scheme: &str) -> SocketAddr {
    let line = banner
        .iter()
        .find(|line| line.starts_with("Router:"))
        .expect("a Router line");
    let marker = format!("{scheme} on ");
    let start = line.find(&marker).expect("the scheme in the Router line") + marker.len();
    line[start..]
        .split([',', ' '])
        .next()
        .and_then(|address| address.parse().ok())
        .expect("an address")
}

/// The customer at their terminal: `ssh <uid>@127.0.0.1` with their key.
struct Customer {
    uid: i64,
    key: PathBuf,
    ssh_port: u16,
}

impl Customer {
    fn ssh(&self, command: &str, stdin: &[u8]) -> Output {
        let mut child = Command::new("ssh")
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=5",
                "-i",
            ])
            .arg(&self.key)
            .arg("-p")
            .arg(self.ssh_port.to_string())
            .arg(format!("{}@127.0.0.1", self.uid))
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the OpenSSH client runs (Debian package openssh-client)");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("command input");
        child.wait_with_output().expect("ssh finishes")
    }

    /// Runs `command` in the container and returns its output; panics when it fails.
    fn run(&self, command: &str) -> String {
        let output = self.ssh(command, b"");
        assert!(
            output.status.success(),
            "ssh {command:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Writes a file of the home through ssh, as a customer pasting it into an editor would.
    fn write(&self, path: &str, content: &str) {
        let output = self.ssh(&format!("cat > {path}"), content.as_bytes());
        assert!(
            output.status.success(),
            "writing {path}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A client that sends the quickstart's domains to the router, whatever DNS says.
fn router_client(http: SocketAddr, https: SocketAddr) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .resolve(DOMAIN, http)
        .resolve(SSL_DOMAIN, https)
        .danger_accept_invalid_certs(true)
        .tls_info(true)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

fn answer(client: &reqwest::blocking::Client, url: &str) -> Option<String> {
    let response = client.get(url).send().ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.text().ok()
}

#[test]
fn the_quickstart_rotates_among_python_perl_and_ruby_and_serves_https() {
    let machine = Machine::new();
    let data = machine.path().join("berth-data");
    let dns_port = support::free_udp_port();
    let ssh_port = free_tcp_port();
    let dns = format!("127.0.0.1:{dns_port}");
    let ssh = format!("127.0.0.1:{ssh_port}");
    let (_berth, banner) = support::start_with_node(
        &data,
        machine.path(),
        &machine.cgroup_parent,
        // Never beside the node network test (.config/nextest.toml): one container network
        // per machine.
        &["--dns-server", &dns, "--ssh", &ssh],
    );
    assert!(
        banner.iter().any(|line| line.starts_with("Containers: on")),
        "berth up runs containers as root: {banner:#?}"
    );
    let base = support::api_base(&banner);
    let credentials = support::credentials(&data);
    let user = credentials["customer_username"].as_str().expect("user");
    let password = credentials["customer_password"].as_str().expect("password");
    let uid = credentials["container_uid"].as_integer().expect("uid");
    let api = reqwest::blocking::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = api
            .request(method, format!("{base}/api/{path}"))
            .basic_auth(user, Some(password));
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().expect("API call");
        let status = response.status();
        (status, response.text().expect("API answer"))
    };

    // The account, and its uuid for the DNS record.
    let (status, me) = call(reqwest::Method::GET, "me", None);
    assert_eq!(status, 200, "{me}");
    let me: Value = serde_json::from_str(&me).expect("JSON");
    let proof = format!("uwsgi:{}", me["uuid"].as_str().expect("uuid"));
    let _dns = support::dns_server(dns_port, &[(DOMAIN, &proof), (SSL_DOMAIN, &proof)]);

    // "A container is not started until you assign it an ssh key and a distro."
    let key = machine.path().join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "kratos@laptop", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(made.success());
    let public_key = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
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
    let (status, body) = call(
        reqwest::Method::POST,
        &format!("containers/{uid}"),
        Some(json!({"distro": distro["id"], "ssh_keys": [public_key.trim()]})),
    );
    assert_eq!(status, 200, "{body}");

    // "after a bunch of seconds your instance will start and you will be able to ssh into it"
    let customer = Customer { uid, key, ssh_port };
    let who = wait_for("ssh into the container", Duration::from_secs(30), || {
        let output = customer.ssh("id -u && pwd", b"");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    });
    let home = machine.path().join(format!("containers/{uid}"));
    assert_eq!(who, format!("{uid}\n{}\n", home.display()));

    // The domain, proved by its TXT record.
    let (status, body) = call(
        reqwest::Method::POST,
        "domains/",
        Some(json!({"name": DOMAIN})),
    );
    assert!(status.is_success(), "adding {DOMAIN}: {status} {body}");

    customer.write("myapp.py", PYTHON_APP);
    customer.write("myapp.pl", PERL_APP);
    customer.write("myapp.ru", RUBY_APP);

    let http = router_address(&banner, "HTTP");
    let https = router_address(&banner, "HTTPS");
    let client = router_client(http, https);
    let site = format!("http://{DOMAIN}:{}/", http.port());
    let logs = || std::fs::read_to_string(home.join("logs/emperor.log")).unwrap_or_default();

    // "Let's deploy the perl one … and visit your domain."
    customer.write("vassals/perlapp.ini", PERL_VASSAL);
    wait_for("the perl app", Duration::from_secs(30), || {
        (answer(&client, &site)? == "Hello i am perl").then_some(())
    });

    // The python one joins in round robin, then the ruby one.
    customer.write("vassals/pythonapp.ini", PYTHON_VASSAL);
    customer.write("vassals/rubyapp.ini", RUBY_VASSAL);
    let expected = ["Hello i am perl", "Hello i am python", "Hello i am ruby"];
    let seen = wait_for("all three apps answering", Duration::from_secs(45), || {
        let mut seen = BTreeMap::new();
        for _ in 0..6 {
            *seen.entry(answer(&client, &site)?).or_insert(0) += 1;
        }
        (seen.len() == 3).then_some(seen)
    });
    assert_eq!(
        seen.keys().map(String::as_str).collect::<Vec<_>>(),
        expected,
        "{}",
        logs()
    );
    // "the domain will load balance between the three instances": round robin, so 30
    // requests give each app its share.
    let mut counts = BTreeMap::new();
    for _ in 0..30 {
        let body = answer(&client, &site).expect("an answer");
        *counts.entry(body).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(counts.values().all(|&n| n >= 8), "{counts:?}");

    // HTTPS with the customer's own certificate, chosen by SNI.
    customer.run(MAKE_CERTIFICATE);
    let (status, body) = call(
        reqwest::Method::POST,
        "domains/",
        Some(json!({"name": SSL_DOMAIN})),
    );
    assert!(status.is_success(), "adding {SSL_DOMAIN}: {status} {body}");
    customer.write("vassals/sslapp.ini", SSL_VASSAL);
    let secure = format!("https://{SSL_DOMAIN}:{}/", https.port());
    let served = wait_for("the ssl-domain vassal", Duration::from_secs(30), || {
        // A new connection each time: the certificate is chosen at the handshake.
        let response = router_client(http, https).get(&secure).send().ok()?;
        let certificate = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()?
            .peer_certificate()?
            .to_vec();
        (response.text().ok()? == "Hello i am python").then_some(certificate)
    });
    let pem = std::fs::read(home.join("foobar.crt")).expect("the customer's certificate");
    let customers_certificate = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .expect("a certificate")
        .expect("PEM");
    assert_eq!(
        served,
        customers_certificate.as_ref(),
        "the router serves the customer's certificate for {SSL_DOMAIN}; berth up's log:\n{}",
        std::fs::read_to_string(support::log_path(&data)).unwrap_or_default()
    );
    // ssl-domain registers the plain HTTP record too.
    let plain = format!("http://{SSL_DOMAIN}:{}/", http.port());
    let plain_client = reqwest::blocking::Client::builder()
        .resolve(SSL_DOMAIN, http)
        .build()
        .expect("client");
    assert_eq!(
        answer(&plain_client, &plain).as_deref(),
        Some("Hello i am python")
    );

    // "Linking containers": a second container of the customer, isolated from the first
    // until both link each other.
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
            "db",
            "--memory",
            "128",
            "--storage",
            "1024",
        ],
    );
    let db_uid = created["uid"].as_i64().expect("uid");
    let (status, body) = call(
        reqwest::Method::POST,
        &format!("containers/{db_uid}"),
        Some(json!({"distro": distro["id"], "ssh_keys": [public_key.trim()]})),
    );
    assert_eq!(status, 200, "{body}");
    let ip_of = |uid: i64| -> String {
        let (_, body) = call(reqwest::Method::GET, &format!("containers/{uid}"), None);
        let container: Value = serde_json::from_str(&body).expect("JSON");
        container["ip"].as_str().expect("ip").to_owned()
    };
    let db_ip = ip_of(db_uid);
    let db = Customer {
        uid: db_uid,
        key: customer.key.clone(),
        ssh_port,
    };
    // A service on the second container's address: a vassal, so that it outlives reboots.
    wait_for(
        "ssh into the second container",
        Duration::from_secs(30),
        || db.ssh("true", b"").status.success().then_some(()),
    );
    db.write(
        "db.py",
        "def application(env, start_response):\n    start_response('200 OK', [])\n    return [b\"db here\"]\n",
    );
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
                std::fs::read_to_string(support::log_path(&data)).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let reaches = || customer.ssh(&fetch, b"");
    assert!(
        !reaches().status.success(),
        "the containers talk before linking"
    );
    let link = |from: i64, verb: &str, to: i64| {
        let (status, body) = call(
            reqwest::Method::POST,
            &format!("containers/{from}"),
            Some(json!({verb: to})),
        );
        assert_eq!(status, 200, "{body}");
    };
    // One side alone is not enough.
    link(uid, "link", db_uid);
    wait_for(
        "the first container back after its reboot",
        Duration::from_secs(30),
        || customer.ssh("true", b"").status.success().then_some(()),
    );
    assert!(
        !reaches().status.success(),
        "one side's link let traffic through"
    );
    // Both sides: the first container reaches the second at its address.
    link(db_uid, "link", uid);
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
    // "to unlink a container just run": apart again.
    link(db_uid, "unlink", uid);
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
