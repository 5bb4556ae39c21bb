//! `ssh <uid>@<server>` with the real OpenSSH client (`ssh`, `scp`, `sftp`) into real runc
//! containers (needs root, `runc`, `uwsgi-core`, `openssh-client` and `openssh-sftp-server`,
//! as CI has).

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_node::ssh::{self, SshConfig, SshServer};

mod support;

use support::{desired, fixture, wait_for, Fixture};

/// A node with an ssh server on a free loopback port, and client keys made by ssh-keygen.
struct Node {
    f: Fixture,
    server: SshServer,
}

fn node() -> Node {
    let f = fixture();
    let config = SshConfig::new(
        "127.0.0.1:0".parse().expect("address"),
        f.dir.path().join("ssh_host_ed25519_key"),
        &f.config,
    );
    let server = ssh::spawn(config, f.runtime.key_book()).expect("ssh server");
    Node { f, server }
}

/// A client key pair in the fixture's directory: the private key file and the public line.
fn keygen(f: &Fixture, name: &str, kind: &str) -> (PathBuf, String) {
    let path = f.dir.path().join(name);
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            kind,
            "-N",
            "",
            "-C",
            &format!("{name}@test"),
            "-f",
        ])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    let public = fs::read_to_string(path.with_extension("pub")).expect("public key");
    (path, public.trim().to_owned())
}

impl Node {
    fn port(&self) -> String {
        self.server.local_addr().port().to_string()
    }

    /// The options every client gets: this key only, no known_hosts, no prompts.
    fn options(&self, key: &Path) -> Vec<String> {
        let mut options: Vec<String> = [
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "ConnectTimeout=20",
            "-i",
        ]
        .map(str::to_owned)
        .to_vec();
        options.push(key.display().to_string());
        options
    }

    fn ssh_command(&self, key: &Path, uid: u32, extra: &[&str], remote: &[&str]) -> Command {
        let mut command = Command::new("ssh");
        command
            .args(self.options(key))
            .args(["-p", &self.port()])
            .args(extra)
            .arg(format!("{uid}@127.0.0.1"))
            .args(remote);
        command
    }

    /// `ssh -p PORT uid@127.0.0.1 remote…` with `input` on its stdin.
    fn ssh(&self, key: &Path, uid: u32, extra: &[&str], remote: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .ssh_command(key, uid, extra, remote)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ssh runs");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input).expect("write to ssh");
        drop(stdin);
        child.wait_with_output().expect("ssh output")
    }

    /// The stdout of a command that must succeed.
    fn run(&self, key: &Path, uid: u32, remote: &str) -> String {
        let out = self.ssh(key, uid, &[], &[remote], b"");
        assert!(out.status.success(), "ssh {uid} {remote:?}: {out:?}");
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    fn refused(&self, key: &Path, uid: u32, extra: &[&str]) -> String {
        let out = self.ssh(key, uid, extra, &["true"], b"");
        assert_eq!(
            out.status.code(),
            Some(255),
            "ssh {uid} was let in: {out:?}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(stderr.contains("Permission denied"), "{stderr}");
        stderr
    }

    fn copy(&self, program: &str, key: &Path, extra: &[&str], from: &str, to: &str) -> Output {
        Command::new(program)
            .args(self.options(key))
            .args(["-P", &self.port()])
            .args(extra)
            .args([from, to])
            .output()
            .expect("copy runs")
    }
}

/// The processes whose command line contains `needle`, on the host.
fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(format!("{}: {cmdline}", name.to_string_lossy()));
            }
        }
    }
    found
}

#[test]
fn a_command_runs_inside_the_container_as_its_uid_with_its_streams_and_status() {
    let n = node();
    let (a, b) = (31501u32, 31502u32);
    let (key_a, pub_a) = keygen(&n.f, "a", "ed25519");
    let (key_b, pub_b) = keygen(&n.f, "b", "rsa");
    let mut spec_a = n.f.spec(a.into());
    spec_a.ssh_keys = vec![format!("no-agent-forwarding {pub_a}")];
    let mut spec_b = n.f.spec(b.into());
    spec_b.ssh_keys = vec![pub_b.clone()];
    let done =
        n.f.runtime
            .reconcile(&desired(vec![spec_a.clone(), spec_b.clone()]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);

    assert_eq!(n.run(&key_a, a, "id -u; id -g"), format!("{a}\n{a}\n"));
    assert_eq!(n.run(&key_a, a, "hostname"), format!("c{a}\n"));
    let home_a = n.f.home(a);
    let home_b = n.f.home(b);
    assert_eq!(
        n.run(&key_a, a, "pwd; echo $HOME $USER"),
        format!("{}\n{} {a}\n", home_a.display(), home_a.display())
    );
    assert!(n
        .run(&key_a, a, "cat /proc/self/cgroup")
        .contains(&format!("/berth-test/{a}")));
    // The RSA key of the other container works there.
    assert_eq!(n.run(&key_b, b, "id -u"), format!("{b}\n"));

    // Exit status, stderr, stdin.
    assert_eq!(
        n.ssh(&key_a, a, &[], &["false"], b"").status.code(),
        Some(1)
    );
    assert_eq!(
        n.ssh(&key_a, a, &[], &["exit 7"], b"").status.code(),
        Some(7)
    );
    let out = n.ssh(&key_a, a, &[], &["echo to-stderr >&2; echo to-stdout"], b"");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "to-stdout\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to-stderr\n");
    let out = n.ssh(&key_a, a, &[], &["cat; echo done"], b"hi\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\ndone\n");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let out = n.ssh(&key_a, a, &[], &["cat"], &big);
    assert!(out.status.success());
    assert!(
        out.stdout == big,
        "3 MB through cat came back different ({} bytes)",
        out.stdout.len()
    );

    // The locale comes from the client; nothing else does.
    let out = n.ssh(
        &key_a,
        a,
        &["-o", "SetEnv=LANG=C.UTF-8 LC_TIME=C LD_PRELOAD=/x.so"],
        &["echo \"$LANG|$LC_TIME|$LD_PRELOAD|$SHELL|$LOGNAME\""],
        b"",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("C.UTF-8|C||/bin/bash|{a}\n")
    );

    // A file written through ssh lands in the home on the host, owned by the customer.
    n.run(&key_a, a, "echo written > made-by-ssh");
    let made = home_a.join("made-by-ssh");
    assert_eq!(fs::read_to_string(&made).expect("the file"), "written\n");
    let meta = fs::metadata(&made).expect("metadata");
    assert_eq!((meta.uid(), meta.gid()), (a, a));

    // Only the container's processes, and not the other container's home.
    let ps = n.run(&key_a, a, "ps ax -o pid=,args=");
    assert!(ps.contains("--emperor"), "{ps}");
    assert!(!ps.contains(&home_b.display().to_string()), "{ps}");
    assert!(ps.lines().count() < 10, "{ps}");
    let out = n.ssh(&key_a, a, &[], &[&format!("ls {}", home_b.display())], b"");
    assert!(!out.status.success(), "{out:?}");

    // Refusals: the other container's key, an unknown key, passwords, unknown users.
    n.refused(&key_b, a, &[]);
    n.refused(&key_a, b, &[]);
    let (stranger, _) = keygen(&n.f, "stranger", "ed25519");
    n.refused(&stranger, a, &[]);
    n.refused(&key_a, 31599, &[]);
    let stderr = n.refused(
        &key_a,
        a,
        &[
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "PreferredAuthentications=password,keyboard-interactive",
        ],
    );
    assert!(
        stderr.contains("(publickey)"),
        "a method besides publickey is offered: {stderr}"
    );

    // New keys apply without a restart; the old one stops working.
    let (key_a2, pub_a2) = keygen(&n.f, "a2", "ed25519");
    spec_a.ssh_keys = vec![pub_a2];
    let done = n.f.runtime.reconcile(&desired(vec![spec_a, spec_b]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    n.refused(&key_a, a, &[]);
    assert_eq!(n.run(&key_a2, a, "id -u"), format!("{a}\n"));

    // A container no longer desired is stopped: nobody logs in any more.
    let mut spec_b = n.f.spec(b.into());
    spec_b.ssh_keys = vec![pub_b];
    n.f.runtime.reconcile(&desired(vec![spec_b]));
    n.refused(&key_a2, a, &[]);
    assert_eq!(n.run(&key_b, b, "id -u"), format!("{b}\n"));
}

#[test]
fn a_terminal_session_gets_a_pty_inside_the_container() {
    let n = node();
    let uid = 31503u32;
    let (key, public) = keygen(&n.f, "t", "ed25519");
    let mut spec = n.f.spec(uid.into());
    spec.ssh_keys = vec![public];
    let done = n.f.runtime.reconcile(&desired(vec![spec]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);

    let out = n.ssh(
        &key,
        uid,
        &["-tt"],
        &[],
        b"tty; echo \"marker-$((6*7)) $TERM\"; id -u; exit 3\n",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("/dev/pts/"), "{text}");
    assert!(text.contains("marker-42"), "{text}");
    // (Whether "\n" comes as "\r\n" depends on when runc took its terminals over: the
    // interactive test below checks what a screen shows.)
    assert!(
        text.lines().any(|l| l.trim_end() == uid.to_string()),
        "{text}"
    );

    // A shell without a terminal reads its commands from stdin.
    let out = n.ssh(&key, uid, &["-T"], &[], b"tty; id -un; echo $0\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("not a tty\n{uid}\n/bin/bash\n")
    );

    // A command with a terminal (`ssh -t host cmd`).
    let out = n.ssh(&key, uid, &["-tt"], &["tty && stty size"], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(text.starts_with("/dev/pts/"), "{text}");
}

#[test]
fn scp_and_sftp_copy_files_both_ways() {
    let n = node();
    let uid = 31504u32;
    let (key, public) = keygen(&n.f, "s", "ed25519");
    let mut spec = n.f.spec(uid.into());
    spec.ssh_keys = vec![public];
    let done = n.f.runtime.reconcile(&desired(vec![spec]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    let home = n.f.home(uid);
    let local = n.f.dir.path().join("local.txt");
    fs::write(&local, "from the laptop\n").expect("local file");
    let remote = |path: &str| format!("{uid}@127.0.0.1:{path}");
    let owned = |path: &Path| {
        let meta = fs::metadata(path).expect("uploaded");
        assert_eq!((meta.uid(), meta.gid()), (uid, uid), "{}", path.display());
    };

    // scp (the sftp protocol), then scp -O (the old protocol, `scp -t`/`-f` through exec).
    for (flag, name) in [(None, "scp.txt"), (Some("-O"), "scp-o.txt")] {
        let extra: Vec<&str> = flag.into_iter().collect();
        let up = n.copy(
            "scp",
            &key,
            &extra,
            &local.display().to_string(),
            &remote(name),
        );
        assert!(up.status.success(), "{up:?}");
        assert_eq!(
            fs::read_to_string(home.join(name)).expect("uploaded"),
            "from the laptop\n"
        );
        owned(&home.join(name));
        fs::write(home.join(name), "from the container\n").expect("rewrite");
        let back = n.f.dir.path().join(format!("back-{name}"));
        let down = n.copy(
            "scp",
            &key,
            &extra,
            &remote(name),
            &back.display().to_string(),
        );
        assert!(down.status.success(), "{down:?}");
        assert_eq!(
            fs::read_to_string(&back).expect("downloaded"),
            "from the container\n"
        );
    }

    // sftp put and get.
    let batch = n.f.dir.path().join("batch");
    let got = n.f.dir.path().join("got.txt");
    fs::write(
        &batch,
        format!(
            "put {} sftp.txt\nget sftp.txt {}\nls\n",
            local.display(),
            got.display()
        ),
    )
    .expect("batch");
    let out = Command::new("sftp")
        .args(n.options(&key))
        .args(["-P", &n.port(), "-b"])
        .arg(&batch)
        .arg(format!("{uid}@127.0.0.1"))
        .output()
        .expect("sftp runs");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        fs::read_to_string(home.join("sftp.txt")).expect("put"),
        "from the laptop\n"
    );
    owned(&home.join("sftp.txt"));
    assert_eq!(fs::read_to_string(&got).expect("get"), "from the laptop\n");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("vassals"),
        "{out:?}"
    );
}

#[test]
fn a_session_whose_client_goes_away_is_ended() {
    let n = node();
    let uid = 31505u32;
    let (key, public) = keygen(&n.f, "k", "ed25519");
    let mut spec = n.f.spec(uid.into());
    spec.ssh_keys = vec![public];
    let done = n.f.runtime.reconcile(&desired(vec![spec]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);

    for (extra, marker) in [(&[][..], "sleep 31505"), (&["-tt"][..], "sleep 31506")] {
        let mut client = n
            .ssh_command(&key, uid, extra, &[marker])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh runs");
        wait_for("the remote sleep", || {
            (!processes_with(marker).is_empty()).then_some(())
        });
        client.kill().expect("kill the client");
        client.wait().expect("reap the client");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left: Vec<String> = processes_with(marker)
                .into_iter()
                .chain(processes_with(&format!("exec --user {uid}")))
                .collect();
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the session is still there: {left:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        wait_for("no zombie", || zombie_children().is_empty().then_some(()));
    }
}

/// The children of this process that exited and were not reaped.
fn zombie_children() -> Vec<String> {
    let me = std::process::id().to_string();
    let mut zombies = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split(' ').collect();
        if fields.first() == Some(&"Z") && fields.get(1) == Some(&me.as_str()) {
            zombies.push(stat);
        }
    }
    zombies
}

/// tmux on a socket of its own, killed when dropped.
struct Tmux(String);

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.0])
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Type `line` and Enter until the screen shows `expected`, once a second at most: runc
    /// (1.1) gives its terminal the size shortly after the session started, not before.
    fn type_until(&self, line: &str, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut typed = Instant::now() - Duration::from_secs(1);
        loop {
            if typed.elapsed() >= Duration::from_secs(1) {
                self.run(&["send-keys", "-t", "t", line, "Enter"]);
                typed = Instant::now();
            }
            let screen = self.run(&["capture-pane", "-p", "-t", "t"]);
            if screen.contains(expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {expected:?} on the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.0, "kill-server"])
            .output();
    }
}

#[test]
fn an_interactive_terminal_follows_the_window_size() {
    let n = node();
    let uid = 31506u32;
    let (key, public) = keygen(&n.f, "w", "ed25519");
    let mut spec = n.f.spec(uid.into());
    spec.ssh_keys = vec![public];
    let done = n.f.runtime.reconcile(&desired(vec![spec]));
    assert!(done.errors.is_empty(), "{:?}", done.errors);

    // A person at a real terminal (tmux's), typing.
    let mut ssh_line = vec!["ssh".to_owned()];
    ssh_line.extend(n.options(&key));
    ssh_line.extend(["-p".to_owned(), n.port(), format!("{uid}@127.0.0.1")]);
    let tmux = Tmux(format!("berth-ssh-test-{}", std::process::id()));
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "90",
        "-y",
        "25",
        &ssh_line.join(" "),
    ]);
    tmux.type_until("echo \"size $(stty size)\"", "size 25 90");
    tmux.run(&["resize-window", "-t", "t", "-x", "100", "-y", "30"]);
    tmux.type_until("echo \"size $(stty size)\"", "size 30 100");
    // Lines start at the left edge (no staircase): "\n" reaches the screen as "\r\n".
    tmux.type_until("printf 'first\\nleft-edge\\n'", "\nfirst\nleft-edge\n");
    tmux.type_until(
        "echo \"I am $(id -un) on $(hostname)\"",
        &format!("I am {uid} on c{uid}"),
    );
}
