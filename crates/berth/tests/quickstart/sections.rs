//! The quickstart's sections that are API calls and shell sentences, each as the seed writes
//! it, checked against the seed's answer.

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::machine::{init_pid, wait_for, Customer, Machine};
use crate::visitor::Visitor;

/// The customer's `curl https://kratos:deimos@foobar.com/api/...`.
pub struct Tour {
    client: reqwest::blocking::Client,
    base: String,
    user: String,
    password: RefCell<String>,
}

impl Tour {
    /// The API at `base` as `user` with `password`.
    pub fn new(base: String, user: &str, password: &str) -> Tour {
        Tour {
            client: reqwest::blocking::Client::new(),
            base,
            user: user.to_owned(),
            password: RefCell::new(password.to_owned()),
        }
    }

    /// `curl [-X method] [-d body] <base>/api/<path>`: the status and the answer's text.
    pub fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, String) {
        let mut request = self
            .client
            .request(method, format!("{}/api/{path}", self.base))
            .basic_auth(&self.user, Some(self.password.borrow().as_str()));
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().expect("API call");
        let status = response.status().as_u16();
        (status, response.text().expect("API answer"))
    }

    /// The API's base URL (`http://host:port`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A call that must succeed with `expected`; its JSON answer.
    pub fn json(&self, method: Method, path: &str, body: Option<Value>, expected: u16) -> Value {
        let (status, text) = self.call(method.clone(), path, body);
        assert_eq!(status, expected, "{method} {path}: {text}");
        serde_json::from_str(&text).expect("a JSON answer")
    }

    /// `curl https://kratos:deimos@foobar.com/api/me/`.
    pub fn get(&self, path: &str) -> Value {
        self.json(Method::GET, path, None, 200)
    }

    /// `curl -X POST -d '<body>' …/api/<path>`, answered 200.
    pub fn post(&self, path: &str, body: Value) -> Value {
        self.json(Method::POST, path, Some(body), 200)
    }
}

/// "Let's start: get your personal data", "Update personal data", "Update password": the
/// rest of the tour uses the new password. The account's uuid, for the DNS record.
pub fn account(tour: &Tour, uid: i64) -> String {
    let me = tour.get("me/");
    assert_eq!(me["containers"], json!([uid]), "{me}");
    let changed = tour.post("me/", json!({"company": "God of War 4 S.p.a."}));
    assert_eq!(changed["company"], "God of War 4 S.p.a.");
    tour.post("me/", json!({"password": "deimos17"}));
    let old = tour.password.replace("deimos17".to_owned());
    assert_eq!(tour.get("me/")["company"], "God of War 4 S.p.a.");
    // The supplier's password is no more.
    let refused = tour
        .client
        .get(format!("{}/api/me/", tour.base))
        .basic_auth(&tour.user, Some(old))
        .send()
        .expect("API call");
    assert_eq!(refused.status().as_u16(), 401);
    me["uuid"].as_str().expect("uuid").to_owned()
}

/// "Containers": the list, and the one container as "the response you generally get from a
/// just created container" (empty text fields are "", no distro, no keys).
pub fn containers(tour: &Tour, uid: i64) {
    let list = tour.get("containers/");
    assert!(
        list.as_array()
            .expect("a list")
            .iter()
            .any(|c| c["uid"] == uid),
        "{list}"
    );
    let container = tour.get(&format!("containers/{uid}"));
    for (key, value) in [
        ("uid", json!(uid)),
        ("note", json!("")),
        ("jid", json!("")),
        ("jid_destinations", json!("")),
        ("quota_threshold", json!(90)),
        ("distro_name", Value::Null),
        ("distro", Value::Null),
        ("ssh_keys", json!([])),
        ("linked_to", json!([])),
        ("storage", json!(1024)),
        ("memory", json!(256)),
    ] {
        assert_eq!(container[key], value, "{key} in {container}");
    }
    for key in ["ip", "server_address", "hostname", "uuid", "server", "name"] {
        assert!(container[key].is_string(), "{key} in {container}");
    }
}

/// "Distributions": the list shows the distro the operator added; assigning it is the
/// seed's own POST.
pub fn distros(tour: &Tour, uid: i64, distro: &Value) {
    let list = tour.get("distros/");
    assert!(list.as_array().expect("a list").contains(distro), "{list}");
    let id = distro["id"].as_i64().expect("id");
    let changed = tour.post(&format!("containers/{uid}"), json!({"distro": id}));
    assert_eq!(changed["distro"], id);
}

/// "Domains": the list; adding the proved domain (201, where the seed says 202); deleting it
/// by name; adding it back for the rest of the tour.
pub fn domains(tour: &Tour, domain: &str) {
    assert_eq!(tour.get("domains/"), json!([]));
    let add = || tour.json(Method::POST, "domains/", Some(json!({"name": domain})), 201);
    add();
    let list = tour.get("domains/");
    assert_eq!(list[0]["name"], domain, "{list}");
    tour.json(
        Method::DELETE,
        "domains/",
        Some(json!({"name": domain})),
        200,
    );
    assert_eq!(tour.get("domains/"), json!([]));
    add();
}

/// "Rebooting containers": `{"reboot":1}` restarts the container (a new init). berth keeps
/// uwsgi.it's exception for the note, the tags and the keys, which do not restart it
/// (docs/compat.md): the note is checked here.
pub fn rebooting(tour: &Tour, machine: &Machine, customer: &Customer) {
    let uid = customer.uid;
    let running = || init_pid(machine, uid);
    let before = running().expect("a running container");
    tour.post(
        &format!("containers/{uid}"),
        json!({"note": "no reboot for a note"}),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(running(), Some(before), "a note restarted the container");
    tour.post(&format!("containers/{uid}"), json!({"reboot": 1}));
    wait_for("the restart", Duration::from_secs(30), || {
        running().filter(|pid| *pid != before)
    });
    customer.wait_for_ssh();
}

/// "Tagging": create, list, tag a container and a domain, filter both, delete a tag.
pub fn tagging(tour: &Tour, uid: i64, domain: &str) {
    let created = tour.json(Method::POST, "tags/", Some(json!({"name": "foobar"})), 201);
    let zeus = tour.json(Method::POST, "tags/", Some(json!({"name": "zeus"})), 201);
    let names: Vec<Value> = tour
        .get("tags/")
        .as_array()
        .expect("a list")
        .iter()
        .map(|tag| tag["name"].clone())
        .collect();
    assert_eq!(names, [json!("foobar"), json!("zeus")]);
    tour.post(&format!("containers/{uid}"), json!({"tags": ["foobar"]}));
    let domains = tour.get("domains/");
    let domain_id = domains
        .as_array()
        .expect("a list")
        .iter()
        .find(|d| d["name"] == domain)
        .and_then(|d| d["id"].as_i64())
        .expect("the domain's id");
    tour.post(&format!("domains/{domain_id}"), json!({"tags": ["foobar"]}));
    let tagged = tour.get("containers/?tags=foobar,zeus");
    let uids: Vec<&Value> = tagged
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| &c["uid"])
        .collect();
    assert_eq!(uids, [&json!(uid)]);
    let tagged_domains: Vec<Value> = tour
        .get("domains/?tags=foobar")
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| d["name"].clone())
        .collect();
    assert_eq!(tagged_domains, [json!(domain)]);
    let id = zeus["id"].as_i64().expect("id");
    tour.json(Method::DELETE, &format!("tags/{id}"), None, 200);
    assert_eq!(tour.get("tags/").as_array().map(Vec::len), Some(1));
    assert_eq!(created["name"], "foobar");
}

/// The seed's loopbox vassal ("suspend the instance until … zeus is mounted"), with an app
/// and a name under the customer's wildcard. uWSGI's `wait-for-mountpoint` waits only in a
/// vassal started as root, and berth's run as the container's uid: a hook waits instead
/// (docs/compat.md).
const ZEUS_VASSAL: &str = "[uwsgi]
; suspend the instance until $(HOME)/zeus is mounted
hook-pre-app = exec:while ! mountpoint -q $(HOME)/zeus; do sleep 1; done
plugin = 0:python
wsgi-file = $(HOME)/zeus.py
domain = zeus.mynewdomain.org
";
const ZEUS_APP: &str = r#"def application(environ, start_response):
    start_response('200 OK', [('Content-Type','text/plain')])
    return [b"Hello i am zeus"]
"#;

/// "Loopboxes": the seed's image made in the container, mounted through the API, its
/// status in `logs/emperor.log`, the seed's vassal waiting for the mount, listed, shown,
/// tagged, deleted (unmounted).
pub fn loopboxes(tour: &Tour, customer: &Customer, visitor: &Visitor) {
    let uid = customer.uid;
    customer.run("dd if=/dev/zero of=zeus001 bs=512 count=200000 2>/dev/null");
    customer.run("/sbin/mkfs.ext4 -q zeus001");
    customer.run("mkdir zeus");
    // The vassal waits: meanwhile the wildcard answers for its name.
    customer.write("zeus.py", ZEUS_APP);
    customer.write("vassals/zeus.ini", ZEUS_VASSAL);
    let zeus = "zeus.mynewdomain.org";
    // (A vassal not waiting would answer within 2 s; the wildcard vassal may still be
    // starting after the reboot.)
    std::thread::sleep(Duration::from_secs(3));
    let mut last = None;
    let started = std::time::Instant::now();
    while last.as_deref() != Some("200 Hello i am the wildcard") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the wildcard answers while the vassal waits for its mountpoint: last {last:?}; \
             the Emperor's log:\n{}",
            customer.run("tail -n 60 logs/emperor.log")
        );
        std::thread::sleep(Duration::from_millis(200));
        last = visitor
            .http_page(zeus)
            .map(|seen| format!("{} {}", seen.status, seen.body));
    }
    let created = tour.json(
        Method::POST,
        "loopboxes",
        Some(json!({"container": uid, "filename": "zeus001", "mountpoint": "zeus"})),
        201,
    );
    let id = created["id"].as_i64().expect("id");
    wait_for("the loopbox mounted", Duration::from_secs(30), || {
        let mounts = customer.run("grep ' ext4 ' /proc/self/mountinfo || true");
        mounts.contains("/zeus ").then_some(())
    });
    assert!(customer.run("cat logs/emperor.log").contains("zeus001"));
    wait_for(
        "the vassal on the mounted loopbox",
        Duration::from_secs(30),
        || (visitor.http(zeus)? == "Hello i am zeus").then_some(()),
    );
    customer.run("touch zeus/written-by-zeus");
    assert_eq!(tour.get("loopboxes")[0]["id"], id);
    assert_eq!(tour.get(&format!("loopboxes/{id}"))["mountpoint"], "zeus");
    let tagged = tour.post(&format!("loopboxes/{id}"), json!({"tags": ["foobar"]}));
    assert_eq!(tagged["tags"], json!(["foobar"]));
    tour.json(Method::DELETE, &format!("loopboxes/{id}"), None, 200);
    wait_for("the loopbox unmounted", Duration::from_secs(30), || {
        (!customer.run("ls zeus").contains("written-by-zeus")).then_some(())
    });
    customer.run("test -f zeus001");
}

/// "Logging": `logs/emperor.log` is the default log, in the home.
pub fn logging(customer: &Customer) {
    let log = customer.run("cat logs/emperor.log");
    assert!(log.contains("*** Starting uWSGI"), "{log}");
}

/// "Resources": `quota -s` and the two `cat`s, exactly as the seed writes them.
pub fn resources(customer: &Customer, home: &Path) {
    let uid = customer.uid;
    // btrfs counts new bytes at its next commit (at most 30 s): until the home's first,
    // quota says "no limited resources used", as for a home that uses nothing.
    let quota = wait_for(
        "quota -s to show the home's use",
        Duration::from_secs(60),
        || {
            let quota = customer.run("quota -s");
            (quota.lines().count() > 1).then_some(quota)
        },
    );
    let lines: Vec<&str> = quota.lines().collect();
    assert_eq!(lines.len(), 4, "{quota}");
    assert_eq!(
        lines[0],
        format!("Disk quotas for user {uid} (uid {uid}): ")
    );
    assert_eq!(
        lines[1],
        "     Filesystem   space   quota   limit   grace   files   quota   limit   grace"
    );
    assert_eq!(lines[2], home.display().to_string());
    let columns: Vec<&str> = lines[3].split_whitespace().collect();
    assert!(columns[0].ends_with(['K', 'M']), "{quota}");
    // "storage": 1000 in the seed's container; berth up's has 1024 MB.
    assert_eq!(columns[1..], ["1024M", "1024M", "0", "0", "0"], "{quota}");
    let used: u64 = customer
        .run("cat /run/cgroup/memory.usage_in_bytes ")
        .trim()
        .parse()
        .expect("bytes in use");
    let limit: u64 = customer
        .run("cat /run/cgroup/memory.limit_in_bytes ")
        .trim()
        .parse()
        .expect("the limit");
    // "maps to the container api memory attribute": 256 MB.
    assert_eq!(limit, 256 << 20);
    assert!(used > 0 && used < limit, "{used}");
}

/// "Alarms": "you will get an alarm … when a OOM (out of memory) is triggered. The alarm is
/// broadcasted to all of the connected container shells" and "stored as a persistent record
/// in the Customer's infos": a process outgrowing the container's memory is killed, the
/// open shell shows the alarm, `/api/alarms/` lists it.
pub fn alarms(tour: &Tour, customer: &Customer) {
    let uid = customer.uid;
    assert_eq!(tour.get("alarms/"), json!([]));
    let shell = customer.terminal("echo ready; sleep 120");
    wait_for("the open shell", Duration::from_secs(30), || {
        shell.shown().contains("ready").then_some(())
    });
    // 300 MB of string in a 256 MB container.
    let hog = customer.ssh("perl -e '$x = \"x\" x (300 << 20); print length $x'", b"");
    assert!(
        !hog.status.success(),
        "the process outgrew the memory and lived"
    );
    let expected = format!("container {uid}: OUT OF MEMORY !!!");
    let alarms = wait_for("the OOM alarm's record", Duration::from_secs(60), || {
        let alarms = tour.get("alarms/");
        alarms
            .as_array()?
            .iter()
            .any(|alarm| {
                alarm["msg"]
                    .as_str()
                    .is_some_and(|msg| msg.starts_with(&expected))
            })
            .then_some(alarms)
    });
    assert_eq!(alarms[0]["container"], uid, "{alarms}");
    wait_for(
        "the alarm in the open shell",
        Duration::from_secs(30),
        || shell.shown().contains(&expected).then_some(()),
    );
}
