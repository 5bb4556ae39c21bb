//! The customer quickstart (seeds/CustomerQuickstart.md, as docs/quickstart.md adapts it),
//! done the way a customer does it, section by section in the seed's order and with the
//! seed's commands, against `berth up` running its node as root, real runc containers, the
//! real OpenSSH client, real uWSGI vassals and dnsmasq on loopback:
//!
//! - "get your personal data", "Update personal data", "Update password" (the old one then
//!   refused);
//! - "Containers" (the list, a just-created container's JSON) and "Distributions"; with a
//!   distro and no key the container does not start;
//! - "SSH keys": an ssh-rsa and an ssh-ed25519 key in one shot, `ssh <uid>@server` with each;
//! - "Domains": the TXT record, adding (201, where the seed says 202), listing, deleting,
//!   adding back; `www.mynewdomain.org` is another name, not served;
//! - "The first deploy": the perl app, the python one in round robin with it, the ruby one,
//!   each request a new connection as curl's; `cat /opt/unbit/uwsgi/shortcuts.ini`;
//! - "Wildcard domains" (wildcard.rs): `.mynewdomain.org` added and served, a specific name
//!   under it, not added, winning over it;
//! - "HTTPS/SNI" (https.rs): the seed's three openssl commands in the container, the
//!   `ssl-domain` vassal (its certificate by SNI, plain HTTP too), the vassal forcing HTTPS
//!   through `${HTTPS}`, a dotsplit `ssl-domain`;
//! - "Client-certificates HTTPS/SNI authentication" (https.rs): the seed's CA and signing
//!   commands (an X.509 v1 certificate), the running vassal switched to `ssl-ca-domain`
//!   with `!` (curl with the certificate reaches the app, which prints `HTTPS_DN`; without
//!   one, refused), then without `!` (no certificate, let in);
//! - "Clustering" is not here: it needs many servers, and belongs to #14's multi-host tests;
//! - "Linking containers" (linking.rs), with another customer's container as in the seed:
//!   apart before linking, one side is not enough, both sides talk, `linked_to`, unlinking;
//! - "Rebooting containers", "Tagging", "Loopboxes" (the seed's `dd`, `mkfs.ext4`, `mkdir`,
//!   API calls, a vassal waiting for the mount by a hook where the seed's uses
//!   `wait-for-mountpoint`, which waits only as root (docs/compat.md); the loopbox rules are
//!   crates/node/tests/loopboxes.rs'), "Logging";
//! - "Resources": `quota -s` and the two `cat`s, as the seed writes them;
//! - "Alarms": a process outgrowing the memory is killed, the alarm shows in an open shell
//!   and in `/api/alarms/` (the quota alarm is crates/node/tests/alarms.rs'; the jabber,
//!   pushover, pushbullet and slack channels would reach the Internet).
//!
//! A second test (custom_distro.rs) boots a container from a custom distro the customer built
//! in another container's storage.

#[path = "../support/mod.rs"]
mod support;

mod custom_distro;
mod https;
mod linking;
mod machine;
mod sections;
mod visitor;
mod wildcard;

use std::collections::BTreeMap;
use std::time::Duration;

use machine::{
    built_distro, free_tcp_port, init_pid, router_address, ssh_key, wait_for, Customer, Machine,
};
use sections::Tour;
use serde_json::{json, Value};
use visitor::Visitor;

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
    // A distro but no key yet: not started (2 s is what a change takes to apply).
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(init_pid(&machine, uid), None, "started without a key");

    // "SSH keys": "you can assign multiple keys in one shot", "after a bunch of seconds
    // your instance will start and you will be able to ssh into it".
    let key = machine.path().join("id_ed25519");
    let public_key = ssh_key(&key, "ed25519");
    let rsa_key = machine.path().join("id_rsa");
    let rsa_public_key = ssh_key(&rsa_key, "rsa");
    assert!(rsa_public_key.starts_with("ssh-rsa "), "{rsa_public_key}");
    let keys = tour.post(
        &format!("containers/{uid}"),
        json!({"ssh_keys": [rsa_public_key, public_key]}),
    );
    let mut shown: Vec<&str> = keys["ssh_keys"]
        .as_array()
        .expect("the keys")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    shown.sort_unstable();
    assert_eq!(shown, [public_key.as_str(), rsa_public_key.as_str()]);
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
    let with_rsa = Customer {
        uid,
        key: rsa_key,
        ssh_port,
    };
    assert_eq!(with_rsa.run("id -u"), format!("{uid}\n"), "the ssh-rsa key");

    // "Domains", proved by the TXT record.
    sections::domains(&tour, DOMAIN);

    customer.write("myapp.py", PYTHON_APP);
    customer.write("myapp.pl", PERL_APP);
    customer.write("myapp.ru", RUBY_APP);

    let visitor = Visitor {
        http: router_address(&banner, "HTTP"),
        https: router_address(&banner, "HTTPS"),
    };
    let logs = || std::fs::read_to_string(home.join("logs/emperor.log")).unwrap_or_default();

    // "Let's deploy the perl one … and visit your domain."
    customer.write("vassals/perlapp.ini", PERL_VASSAL);
    wait_for("the perl app", Duration::from_secs(30), || {
        (visitor.http(DOMAIN)? == "Hello i am perl").then_some(())
    });
    // "Remember that www.mynewdomain.org and mynewdomain.org are two different objects".
    let www = visitor
        .http_page(&format!("www.{DOMAIN}"))
        .expect("the router answers");
    assert!(
        !(200..300).contains(&www.status),
        "{}: {}",
        www.status,
        www.body
    );

    // "the previous perl instance will continue to answer in a round robin fashion with
    // your python one", then the ruby one joins them.
    let answering = |count: usize| {
        let seen = wait_for("the apps answering", Duration::from_secs(45), || {
            let mut seen = BTreeMap::new();
            for _ in 0..2 * count {
                *seen.entry(visitor.http(DOMAIN)?).or_insert(0) += 1;
            }
            (seen.len() == count).then_some(seen)
        });
        seen.into_keys().collect::<Vec<_>>()
    };
    customer.write("vassals/pythonapp.ini", PYTHON_VASSAL);
    assert_eq!(
        answering(2),
        ["Hello i am perl", "Hello i am python"],
        "{}",
        logs()
    );
    customer.write("vassals/rubyapp.ini", RUBY_VASSAL);
    assert_eq!(
        answering(3),
        ["Hello i am perl", "Hello i am python", "Hello i am ruby"],
        "{}",
        logs()
    );
    // "the domain will load balance between the three instances": round robin, so 30
    // requests give each app its share.
    let mut counts = BTreeMap::new();
    for _ in 0..30 {
        let body = visitor.http(DOMAIN).expect("an answer");
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

    // "Wildcard domains", then "HTTPS/SNI" and "Client-certificates HTTPS/SNI
    // authentication".
    wildcard::wildcards(&tour, &customer, &visitor);
    let log = support::log_path(&data);
    https::https(&tour, &customer, &visitor, &home, &log);
    https::client_certificates(&customer, &visitor, &home, &log);

    // "Clustering" is #14's: its multi-host tests.

    // "Linking containers".
    linking::linking(&tour, &data, &customer, &distro["id"], &public_key);

    // The seed's remaining sections, in its order.
    sections::rebooting(&tour, &machine, &customer);
    sections::tagging(&tour, uid, DOMAIN);
    sections::loopboxes(&tour, &customer, &visitor);
    sections::logging(&customer);
    sections::resources(&customer, &home);
    sections::alarms(&tour, &customer);
}
