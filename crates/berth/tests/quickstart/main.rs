//! The customer quickstart (seeds/CustomerQuickstart.md, as docs/quickstart.md adapts it),
//! done the way a customer does it, section by section in the seed's order and with the
//! seed's commands, against `berth up` running its node as root: the account (`/me`, the
//! company, the password), the containers and the distros, the ssh key and `ssh
//! <uid>@server` with the real OpenSSH client, the domains (proved by a DNS TXT record,
//! dnsmasq on loopback; listed, deleted, added back), the python, perl and ruby apps
//! rotating behind the router, the shortcuts file, HTTPS with the customer's own
//! certificate, linking, rebooting, tagging, loopboxes, logging, the resources (`quota -s`
//! and the two `cat`s) and the alarms. The router's own sentences (wildcards, client
//! certificates) are in the router's tests. A second test boots a container from a custom
//! distro the customer built in another container's storage.

#[path = "../support/mod.rs"]
mod support;

mod custom_distro;
mod machine;
mod sections;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use machine::{built_distro, free_tcp_port, router_address, ssh_key, wait_for, Customer, Machine};
use sections::Tour;
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
    let machine = Machine::new("tour");
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
    let tour = Tour::new(base, user, password);
    let call =
        |method: reqwest::Method, path: &str, body: Option<Value>| tour.call(method, path, body);

    // "Let's start: get your personal data", then the company and the password; the
    // account's uuid goes into the DNS record.
    let uuid = sections::account(&tour, uid);
    let proof = format!("uwsgi:{uuid}");
    let _dns = support::dns_server(dns_port, &[(DOMAIN, &proof), (SSL_DOMAIN, &proof)]);

    // "Containers", "Distributions": "A container is not started until you assign it an ssh
    // key and a distro."
    sections::containers(&tour, uid);
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
    let distro = json!({"id": distro["id"], "name": "Debian 12 (bookworm)"});
    sections::distros(&tour, uid, &distro);

    // "SSH keys": "after a bunch of seconds your instance will start and you will be able to
    // ssh into it".
    let key = machine.path().join("id_ed25519");
    let public_key = ssh_key(&key);
    tour.post(
        &format!("containers/{uid}"),
        json!({"ssh_keys": [public_key]}),
    );
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

    // "Domains", proved by the TXT record.
    sections::domains(&tour, DOMAIN);

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
    // "The custom options are all defined in the /opt/unbit/uwsgi/shortcuts.ini file (it
    // is automatically merged with your config)".
    let shortcuts = customer.run("cat /opt/unbit/uwsgi/shortcuts.ini");
    assert_eq!(shortcuts, berth_node::SHORTCUTS_INI);
    assert!(
        shortcuts.contains("declare-option2 = domain="),
        "{shortcuts}"
    );

    // HTTPS with the customer's own certificate, chosen by SNI.
    customer.run(MAKE_CERTIFICATE);
    let (status, body) = call(
        reqwest::Method::POST,
        "domains/",
        Some(json!({"name": SSL_DOMAIN})),
    );
    assert!(
        (200..300).contains(&status),
        "adding {SSL_DOMAIN}: {status} {body}"
    );
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
        Some(json!({"distro": distro["id"], "ssh_keys": [public_key]})),
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

    // The seed's remaining sections, in its order.
    sections::rebooting(&tour, &machine, &customer);
    sections::tagging(&tour, uid, DOMAIN);
    sections::loopboxes(&tour, &customer);
    sections::logging(&customer);
    sections::resources(&customer, &home);
    sections::alarms(&tour);
}
