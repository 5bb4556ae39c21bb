//! The runtime and reconciler against real runc and real uWSGI (needs root, `runc`,
//! `uwsgi-core` and `uwsgi-plugin-python3`, as CI has).

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use berth_model::node::ContainerState;
use berth_node::{container_id, step, Change, NodeConfig, Runtime};
use berth_wire::signing::VerifyingKey;
use berth_wire::subscription::{Subscription, SubscriptionKind};

mod support;

use support::{desired, fixture, openssl, wait_for, Fixture, MEMORY_MB};

impl Fixture {
    fn pid(&self, uid: u32) -> i64 {
        let state = self
            .runtime
            .state(uid)
            .expect("runc state")
            .expect("container");
        assert!(state.is_running(), "{state:?}");
        state.pid
    }

    /// A python app and a vassal serving it over HTTP on `run/app.sock`.
    fn deploy_python(&self, uid: u32, extra: &str) -> PathBuf {
        let home = self.home(uid);
        fs::write(
            home.join("app.py"),
            "def application(env, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'Hello i am python']\n",
        )
        .expect("app");
        fs::write(
            home.join("vassals/app.ini"),
            format!("[uwsgi]\nplugin = python3\nhttp-socket = $(HOME)/run/app.sock\nwsgi-file = $(HOME)/app.py\n{extra}"),
        )
        .expect("vassal");
        home.join("run/app.sock")
    }
}

fn http_get(socket: &Path) -> Option<String> {
    let mut stream = UnixStream::connect(socket).ok()?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

/// Whether `pid` exists and is not a zombie (the host's init may reap it later).
fn alive(pid: i64) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
        state != Some(Some('Z'))
    })
}

fn memory_limit_of(pid: i64) -> u64 {
    let cgroups = fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup of pid");
    let path = cgroups
        .lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers
                .split(',')
                .any(|c| c == "memory")
                .then(|| path.to_owned())
        })
        .expect("a memory cgroup (v1)");
    fs::read_to_string(format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"))
        .expect("memory.limit_in_bytes")
        .trim()
        .parse()
        .expect("a number")
}

#[test]
fn a_container_runs_its_emperor_with_the_home_layout_and_memory_limit() {
    let f = fixture();
    let uid = 31001;
    let spec = f.spec(uid.into());
    let done = f.runtime.reconcile(&desired(vec![spec.clone()]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    assert_eq!(done.changes, vec![Change::Started(uid)]);
    assert_eq!(done.statuses.len(), 1);
    assert_eq!(done.statuses[0].state, ContainerState::Running);
    assert_eq!(done.statuses[0].running_since_reboot, 1);

    let home = f.home(uid);
    assert_eq!(home, f.dir.path().join("containers/31001"));
    for dir in ["", "vassals", "logs", "etc", "run", "tmp", ".ssh"] {
        let meta = fs::symlink_metadata(home.join(dir)).expect(dir);
        assert!(meta.is_dir(), "{dir}");
        assert_eq!((meta.uid(), meta.gid()), (uid, uid), "{dir}");
    }
    let key = fs::metadata(home.join("etc/uwsgi.key")).expect("uwsgi.key");
    assert_eq!(key.mode() & 0o777, 0o600);
    assert_eq!(key.uid(), uid);
    assert_eq!(
        fs::read_to_string(home.join("etc/uwsgi.key")).expect("key"),
        f.private_pem
    );
    assert_eq!(
        fs::read_to_string(home.join(".ssh/authorized_keys")).expect("keys"),
        format!("{}\n", spec.ssh_keys[0])
    );
    let public = fs::read_to_string(home.join("etc/uwsgi.pubkey")).expect("uwsgi.pubkey");
    assert_eq!(public, spec.customer_public_key_pem);
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");

    // The init is the Emperor, as the customer, in its own namespaces and memory cgroup.
    let pid = f.pid(uid);
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    assert!(
        status.contains(&format!("\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")),
        "{status}"
    );
    // runc returns once it told the init to start; the init execs the Emperor a moment later
    // (under load, "runc init" can still be there).
    wait_for("the init to exec the Emperor", || {
        fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .ok()
            .filter(|cmdline| cmdline.contains(&format!("{}/vassals", home.display())))
    });
    assert_eq!(memory_limit_of(pid), (MEMORY_MB as u64) << 20);
    // The customer reads its own cgroup at the top of /run/cgroup, exactly as the quickstart
    // writes it (this host: cgroup v1), and cannot change it.
    let (ok, limit) = f.exec(uid, uid, "cat /run/cgroup/memory.limit_in_bytes");
    assert!(ok, "no memory.limit_in_bytes under /run/cgroup");
    assert_eq!(limit.trim(), ((MEMORY_MB as u64) << 20).to_string());
    let (ok, used) = f.exec(uid, uid, "cat /run/cgroup/memory.usage_in_bytes");
    assert!(ok, "no memory.usage_in_bytes under /run/cgroup");
    let used: u64 = used.trim().parse().expect("bytes");
    assert!(used > 0 && used < (MEMORY_MB as u64) << 20, "{used}");
    let (ok, stat) = f.exec(uid, uid, "cat /run/cgroup/memory.stat");
    assert!(
        ok && stat.contains("total_rss "),
        "the rest of the controller: {stat}"
    );
    let (ok, _) = f.exec(uid, uid, "echo 1 > /run/cgroup/memory.limit_in_bytes");
    assert!(!ok, "the customer changed their own memory limit");
    let (_, mounts) = f.exec(uid, uid, "grep ' /run/cgroup' /proc/self/mountinfo");
    assert!(
        !mounts.is_empty() && mounts.lines().all(|line| line.contains(" ro,")),
        "/run/cgroup is mounted read-only: {mounts}"
    );
    // "The custom options are all defined in the /opt/unbit/uwsgi/shortcuts.ini file", and
    // the distro's own /opt and /usr are still there beside the platform's files.
    let (ok, shortcuts) = f.exec(uid, uid, "cat /opt/unbit/uwsgi/shortcuts.ini");
    assert!(ok);
    assert_eq!(shortcuts, berth_node::SHORTCUTS_INI);
    let (ok, _) = f.exec(uid, uid, "test -x /usr/bin/python3 && ls /opt >/dev/null");
    assert!(ok, "the distro's /usr and /opt stay visible");
    let (ok, _) = f.exec(uid, uid, "touch /opt/unbit/x || touch /usr/bin/x");
    assert!(!ok, "the customer wrote into the platform's layers");
    // "To check your diskspace: quota -s": here the containers root is not on btrfs, so
    // there is no limit, as quota says it (tests/alarms.rs shows one).
    let quota = wait_for("the quota report", || {
        let (ok, out) = f.exec(uid, uid, "quota -s");
        ok.then_some(out)
    });
    assert_eq!(
        quota,
        format!("Disk quotas for user {uid} (uid {uid}): none\n")
    );
    for ns in ["mnt", "pid", "ipc", "uts", "net"] {
        let inside = fs::read_link(format!("/proc/{pid}/ns/{ns}")).expect("ns");
        let outside = fs::read_link(format!("/proc/self/ns/{ns}")).expect("ns");
        assert_ne!(inside, outside, "{ns} namespace is shared with the host");
    }
    // The limit is enforced: a process exceeding it is killed, the Emperor survives.
    let (ok, small) = f.exec(uid, uid, "python3 -c 'print(len(bytearray(1 << 20)))'");
    assert!(ok);
    assert_eq!(small.trim(), "1048576");
    let (ok, _) = f.exec(
        uid,
        uid,
        &format!(
            "python3 -c 'b = bytearray({} << 20); print(len(b))'",
            2 * MEMORY_MB
        ),
    );
    assert!(!ok, "a process exceeded the memory limit and lived");
    assert_eq!(f.pid(uid), pid);
    let (ok, hostname) = f.exec(uid, uid, "hostname");
    assert!(ok);
    assert_eq!(hostname.trim(), "c31001");
    // The root and the distro are read-only; the home is writable at the same path.
    let (ok, _) = f.exec(uid, 0, "touch /usr/berth-test || touch /berth-test");
    assert!(!ok, "the root file system is writable");
    let (ok, _) = f.exec(uid, uid, "echo started > /var/log/app.log");
    assert!(ok, "/var/log is the customer's");
    assert_eq!(
        fs::read_to_string(home.join("logs/app.log")).expect("in the home's logs"),
        "started\n"
    );
    let (ok, _) = f.exec(uid, uid, &format!("touch {}/written", home.display()));
    assert!(ok);
    assert!(home.join("written").exists());

    // A python vassal dropped into vassals/ answers, and the Emperor logs to logs/.
    let socket = f.deploy_python(uid, "");
    let answer = wait_for("the python vassal", || {
        http_get(&socket).filter(|a| a.contains("Hello i am python"))
    });
    assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"));
    let log = fs::read_to_string(home.join("logs/emperor.log")).expect("emperor.log");
    assert!(log.contains("app.ini"), "{log}");
}

#[test]
fn reconcile_is_idempotent_keys_apply_live_reboot_restarts_removal_stops() {
    let f = fixture();
    let uid = 31002;
    let mut spec = f.spec(uid.into());
    let done = f.runtime.reconcile(&desired(vec![spec.clone()]));
    assert_eq!(done.changes, vec![Change::Started(uid)]);
    let pid = f.pid(uid);

    let again = f.runtime.reconcile(&desired(vec![spec.clone()]));
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!(again.changes, vec![]);
    assert_eq!(f.pid(uid), pid);

    spec.ssh_keys
        .push("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo two@test".to_owned());
    spec.ssh_keys_mtime = 2;
    let keys = f.runtime.reconcile(&desired(vec![spec.clone()]));
    assert_eq!(keys.changes, vec![Change::KeysUpdated(uid)]);
    assert_eq!(f.pid(uid), pid, "a key change restarted the container");
    let written = fs::read_to_string(f.home(uid).join(".ssh/authorized_keys")).expect("keys");
    assert_eq!(written.lines().collect::<Vec<_>>(), spec.ssh_keys);

    // A restart stops the Emperor with its vassals, and the vassals come back with it.
    let socket = f.deploy_python(uid, "");
    wait_for("the python vassal", || {
        http_get(&socket).filter(|a| a.contains("Hello i am python"))
    });
    spec.last_reboot = 2;
    let started = Instant::now();
    let reboot = f.runtime.reconcile(&desired(vec![spec.clone()]));
    assert_eq!(reboot.changes, vec![Change::Restarted(uid)]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let new_pid = f.pid(uid);
    assert_ne!(new_pid, pid);
    assert_eq!(reboot.statuses[0].running_since_reboot, 2);
    wait_for("the python vassal after the restart", || {
        http_get(&socket).filter(|a| a.contains("Hello i am python"))
    });
    assert_eq!(
        f.runtime.reconcile(&desired(vec![spec.clone()])).changes,
        vec![]
    );

    fs::write(f.home(uid).join("keep-me"), "data").expect("a customer file");
    let removed = f.runtime.reconcile(&desired(vec![]));
    assert_eq!(removed.changes, vec![Change::Stopped(uid)]);
    assert_eq!(f.runtime.state(uid).expect("state"), None);
    assert!(
        !alive(new_pid),
        "the Emperor of a removed container still runs"
    );
    assert_eq!(
        fs::read_to_string(f.home(uid).join("keep-me")).expect("home kept"),
        "data"
    );
}

#[test]
fn a_restarted_node_adopts_running_containers_and_revives_dead_ones() {
    let f = fixture();
    let uid = 31003;
    let spec = f.spec(uid.into());
    let first = Runtime::new(f.config.clone()).expect("runtime");
    assert_eq!(
        first.reconcile(&desired(vec![spec.clone()])).changes,
        vec![Change::Started(uid)]
    );
    let pid = f.pid(uid);
    drop(first);

    // A new node process finds the container and leaves it alone.
    let second = Runtime::new(f.config.clone()).expect("runtime");
    let adopted = second.reconcile(&desired(vec![spec.clone()]));
    assert_eq!(adopted.changes, vec![]);
    assert_eq!(f.pid(uid), pid);
    let ids: Vec<_> = Command::new("runc")
        .arg("--root")
        .arg(&f.config.runc_root)
        .args(["list", "-q"])
        .output()
        .expect("runc list")
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert_eq!(ids, vec![container_id(uid)]);

    // An Emperor that died is started again.
    let kill = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    wait_for("the container to stop", || {
        f.runtime
            .state(uid)
            .expect("state")
            .filter(|s| !s.is_running())
    });
    let revived = second.reconcile(&desired(vec![spec]));
    assert_eq!(revived.changes, vec![Change::Restarted(uid)]);
    assert_ne!(f.pid(uid), pid);
}

#[test]
fn containers_see_neither_each_others_processes_nor_homes() {
    let f = fixture();
    let (a, b) = (31004, 31005);
    let done = f
        .runtime
        .reconcile(&desired(vec![f.spec(a.into()), f.spec(b.into())]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    assert_eq!(done.changes, vec![Change::Started(a), Change::Started(b)]);

    let script = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done";
    let (ok, seen) = f.exec(a, a, script);
    assert!(ok);
    let home_a = f.home(a).display().to_string();
    let home_b = f.home(b).display().to_string();
    assert!(seen.contains(&format!("{home_a}/vassals")), "{seen}");
    assert!(!seen.contains(&home_b), "{seen}");
    // The Emperor is pid 1 of its own pid namespace.
    let (_, init) = f.exec(a, a, "tr '\\0' ' ' < /proc/1/cmdline");
    assert!(init.contains("--emperor"), "{init}");

    // hidepid=2: another user inside the container does not see the customer's processes.
    let (_, as_nobody) = f.exec(a, 65534, script);
    assert!(!as_nobody.contains("--emperor"), "{as_nobody}");

    // The other home is not even there.
    let (ok, _) = f.exec(a, a, &format!("ls {home_b}"));
    assert!(!ok, "container {a} can list the home of {b}");
    let (ok, _) = f.exec(a, 0, &format!("ls {home_b}/etc/uwsgi.key"));
    assert!(!ok, "container {a} can reach the key of {b}");

    // Nor through a symlink in its own home that the node would follow on the host.
    fs::write(f.home(b).join("secret"), "secret of b").expect("a file of b");
    let hosts = f.home(a).join("etc/hosts");
    fs::remove_file(&hosts).expect("hosts");
    std::os::unix::fs::symlink(f.home(b).join("secret"), &hosts).expect("symlink");
    let mut spec_a = f.spec(a.into());
    spec_a.last_reboot = 2;
    let done = f
        .runtime
        .reconcile(&desired(vec![spec_a, f.spec(b.into())]));
    assert_eq!(done.changes, vec![Change::Restarted(a)]);
    let (_, seen) = f.exec(a, 0, "cat /etc/hosts");
    assert!(!seen.contains("secret of b"), "{seen}");
}

#[test]
fn the_domain_shortcut_subscribes_signed_to_the_router_socket() {
    let f = fixture();
    let uid = 31006;
    let router = f.config.subscribe_dir.join("http");
    let socket = UnixDatagram::bind(&router).expect("router socket");
    fs::set_permissions(&router, fs::Permissions::from_mode(0o666)).expect("chmod");
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let done = f.runtime.reconcile(&desired(vec![f.spec(uid.into())]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    f.deploy_python(uid, "domain = example.org\n");

    let mut packet = vec![0u8; 65536];
    let len = socket.recv(&mut packet).expect("a subscription packet");
    let sub = Subscription::parse(&packet[..len]).expect("a subscription");
    assert_eq!(sub.kind, SubscriptionKind::Subscribe);
    assert_eq!(sub.key, "example.org");
    let run = format!("{}/run/example.org_", f.home(uid).display());
    assert!(
        sub.address.starts_with(&run) && sub.address.ends_with(".socket"),
        "{}",
        sub.address
    );
    assert!(
        Path::new(&sub.address).exists(),
        "the vassal socket is at its host path"
    );
    let signature = sub.signature.expect("signed");
    let key = VerifyingKey::from_pem(&openssl(&["pkey", "-pubout"], Some(&f.private_pem)))
        .expect("public key");
    assert!(key.verify(&signature.signed_bytes, &signature.signature));

    // Removing the container stops its vassals gracefully: they unsubscribe.
    let removed = f.runtime.reconcile(&desired(vec![]));
    assert_eq!(removed.changes, vec![Change::Stopped(uid)]);
    let unsubscribed = wait_for("an unsubscription", || {
        let len = socket.recv(&mut packet).expect("a packet");
        Subscription::parse(&packet[..len])
            .ok()
            .filter(|s| s.kind == SubscriptionKind::Unsubscribe)
    });
    assert_eq!(unsubscribed.key, "example.org");
    assert_eq!(unsubscribed.address, sub.address);
}

#[test]
fn unsafe_specs_are_refused_without_touching_the_machine() {
    let f = fixture();
    let mut root = f.spec(0);
    root.hostname = "root".to_owned();
    let mut no_memory = f.spec(31007);
    no_memory.memory = 0;
    let mut no_distro = f.spec(31008);
    no_distro.distro.path = "/nonexistent-distro".to_owned();
    let mut bad_key = f.spec(31009);
    bad_key.ssh_keys = vec!["ssh-ed25519 AAAA a\nssh-rsa injected".to_owned()];
    let mut bad_host = f.spec(31010);
    bad_host.hostname = "../../etc".to_owned();
    let huge = f.spec(i64::MAX);
    let done = f.runtime.reconcile(&desired(vec![
        root, no_memory, no_distro, bad_key, bad_host, huge,
    ]));
    assert_eq!(done.changes, vec![]);
    assert_eq!(
        done.errors.iter().map(|(uid, _)| *uid).collect::<Vec<_>>(),
        vec![0, 31007, 31008, 31009, 31010, i64::MAX]
    );
    assert!(done
        .statuses
        .iter()
        .all(|s| s.state == ContainerState::Failed && s.detail.is_some()));
    assert!(fs::read_dir(&f.config.containers_root)
        .expect("containers root")
        .next()
        .is_none());

    // A running container whose spec turns bad (or is listed twice) keeps running.
    let uid = 31011;
    let good = f.spec(uid.into());
    assert_eq!(
        f.runtime.reconcile(&desired(vec![good.clone()])).changes,
        vec![Change::Started(uid)]
    );
    let pid = f.pid(uid);
    let mut gone_distro = good.clone();
    gone_distro.distro.path = "/nonexistent-distro".to_owned();
    let done = f.runtime.reconcile(&desired(vec![gone_distro]));
    assert_eq!(done.changes, vec![]);
    assert_eq!(done.errors.len(), 1);
    let done = f.runtime.reconcile(&desired(vec![good.clone(), good]));
    assert_eq!(done.changes, vec![]);
    assert_eq!(done.errors.len(), 1);
    assert_eq!(f.pid(uid), pid);
}

#[test]
fn a_node_step_realises_the_fetched_state_and_reports_it() {
    let f = fixture();
    let uid = 31012;
    let mut refused = f.spec(31013);
    refused.memory = -1;
    let mut state = desired(vec![f.spec(uid.into()), refused]);
    state.revision = 7;
    let control = support::FakeControlPlane {
        state,
        reports: Default::default(),
    };
    assert_eq!(step(&control, &f.runtime, None).expect("step"), 7);
    let reports = control.reports.lock().expect("lock");
    assert_eq!(reports.len(), 1);
    let states: Vec<_> = reports[0]
        .containers
        .iter()
        .map(|s| (s.uid, s.state))
        .collect();
    assert_eq!(
        states,
        vec![
            (i64::from(uid), ContainerState::Running),
            (31013, ContainerState::Failed)
        ]
    );
    assert!(f.runtime.state(uid).expect("state").is_some());
    // The running container's usage comes with the report; the failed one has none.
    let memory = reports[0]
        .metrics
        .iter()
        .find(|p| p.uid == i64::from(uid) && p.metric == "container.mem")
        .expect("a memory sample of the running container");
    assert!(memory.value > 0, "{memory:?}");
    assert!(reports[0]
        .metrics
        .iter()
        .any(|p| p.uid == i64::from(uid) && p.metric == "container.cpu" && p.value > 0));
    assert!(reports[0].metrics.iter().all(|p| p.uid != 31013));
}

#[test]
fn a_containers_root_under_a_mounted_directory_is_refused() {
    let config = NodeConfig {
        containers_root: PathBuf::from("/tmp/berth-containers"),
        ..NodeConfig::standard()
    };
    assert!(Runtime::new(config).is_err());
}

#[test]
fn a_containers_root_its_users_cannot_reach_is_refused() {
    let private = tempfile::Builder::new()
        .prefix("berth-node-private-")
        .tempdir_in("/var/tmp")
        .expect("temp dir");
    fs::set_permissions(private.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
    let config = NodeConfig {
        containers_root: private.path().join("containers"),
        bundles_dir: private.path().join("bundles"),
        runc_root: private.path().join("runc"),
        subscribe_dir: private.path().join("subscribe"),
        ..NodeConfig::standard()
    };
    let Err(refused) = Runtime::new(config) else {
        panic!("a containers root under a private directory is refused");
    };
    let refused = refused.to_string();
    assert!(refused.contains("not searchable by others"), "{refused}");
}
