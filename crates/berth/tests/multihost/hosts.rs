//! Hosts for multi-server tests: each host is a network namespace with one interface, `eth0`,
//! on a bridge that lives in a namespace of its own. Addresses come from 192.0.2.0/24
//! (TEST-NET-1) and exist only inside the namespaces, which have no route out: nothing a test
//! sends can leave the machine. Names are `berth-t<pid>n<k>-h<N>` (`-br` for the bridge), so
//! tests and test runs never share a namespace.
//!
//! A host runs programs (`ip netns exec`); a test can kill one with SIGKILL, or take the whole
//! host down (every process in it killed, the namespace deleted) as a machine that dies. All
//! of it is torn down on drop, also when the test panics; what a test process killed outright
//! left behind goes when the next network is made.

// A harness for every multi-server test; each test uses its own subset.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The networks made by this test process so far, for unique names.
static NETWORKS: AtomicU32 = AtomicU32::new(0);

/// Runs `ip` with `args`; panics with its stderr when it fails.
fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The pids of every process in namespace `netns`.
fn pids_in(netns: &str) -> Vec<i32> {
    Command::new("ip")
        .args(["netns", "pids", netns])
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// SIGKILL to every process in `netns`, until none is left (a dying parent may still fork).
fn kill_all_in(netns: &str) {
    for _ in 0..50 {
        let pids = pids_in(netns);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Deletes every `berth-t<pid>…` namespace whose test process is gone.
fn remove_orphans() {
    let Ok(output) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix("berth-t")
            .and_then(|rest| rest.split('n').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            kill_all_in(name);
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// A bridge joining hosts, in a namespace of its own.
pub struct Network {
    prefix: String,
    bridge: String,
}

impl Network {
    /// A new, empty network; first removes the namespaces of test processes that died
    /// without tearing theirs down (killed with SIGKILL).
    pub fn new() -> Network {
        remove_orphans();
        let k = NETWORKS.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("berth-t{}n{k}", std::process::id());
        let bridge = format!("{prefix}-br");
        ip(&["netns", "add", &bridge]);
        let network = Network { prefix, bridge };
        ip(&[
            "-n",
            &network.bridge,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
        ]);
        ip(&["-n", &network.bridge, "link", "set", "br0", "up"]);
        network
    }

    /// Host number `n` (1–254) at 192.0.2.`n`/24: a namespace whose `eth0` is on the bridge,
    /// with its loopback up and no other route.
    pub fn host(&self, n: u8) -> Host {
        let netns = format!("{}-h{n}", self.prefix);
        ip(&["netns", "add", &netns]);
        let host = Host {
            netns,
            address: Ipv4Addr::new(192, 0, 2, n),
            children: Vec::new(),
            gone: false,
        };
        let port = format!("h{n}");
        // Made in the bridge's namespace, so that the names never meet another network's.
        ip(&[
            "-n",
            &self.bridge,
            "link",
            "add",
            &port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &host.netns,
        ]);
        ip(&[
            "-n",
            &self.bridge,
            "link",
            "set",
            &port,
            "master",
            "br0",
            "up",
        ]);
        let cidr = format!("{}/24", host.address);
        ip(&["-n", &host.netns, "addr", "add", &cidr, "dev", "eth0"]);
        ip(&["-n", &host.netns, "link", "set", "eth0", "up"]);
        ip(&["-n", &host.netns, "link", "set", "lo", "up"]);
        host
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        kill_all_in(&self.bridge);
        let _ = Command::new("ip")
            .args(["netns", "del", &self.bridge])
            .status();
    }
}

/// One machine: a network namespace and the processes the test started in it.
pub struct Host {
    /// The namespace's name.
    pub netns: String,
    /// Its address on the bridge.
    pub address: Ipv4Addr,
    children: Vec<Child>,
    /// Crashed: its namespace is deleted.
    gone: bool,
}

/// A process started in a host: its index among the host's, to [`Host::kill`] it.
#[derive(Debug, Clone, Copy)]
pub struct Proc(usize);

impl Host {
    /// `program args…` as it runs inside this host.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.netns, program]);
        command
    }

    /// `program args…` in this host's network namespace only: unlike [`Host::command`] (whose
    /// `ip netns exec` mounts a /sys of the namespace), it keeps the machine's /sys, where the
    /// cgroup file systems are, as a program that runs containers needs. Its
    /// `/sys/class/net` shows the machine's interfaces, not the host's.
    pub fn command_keeping_sys(&self, program: &str) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg(program);
        command
    }

    /// Starts `command` (from [`Host::command`]) with its output appended to `log`.
    pub fn spawn(&mut self, mut command: Command, log: &std::path::Path) -> Proc {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let err = file.try_clone().expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .expect("the program starts in the host");
        self.children.push(child);
        Proc(self.children.len() - 1)
    }

    /// Runs `program args…` in this host to the end.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("the program runs in the host")
    }

    /// SIGKILL to a process this host started.
    pub fn kill(&mut self, proc: Proc) {
        if let Some(child) = self.children.get_mut(proc.0) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether `address` is on one of this host's interfaces.
    pub fn holds(&self, address: Ipv4Addr) -> bool {
        let output = self.run("ip", &["-4", "-o", "addr", "show"]);
        String::from_utf8_lossy(&output.stdout).contains(&format!(" {address}/"))
    }

    /// The machine dies: every process in it gets SIGKILL at once, and its namespace (with
    /// its end of the bridge) goes.
    pub fn crash(&mut self) {
        if self.gone {
            return;
        }
        kill_all_in(&self.netns);
        for child in &mut self.children {
            let _ = child.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .stderr(Stdio::null())
            .status();
        self.gone = true;
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // Children first, so that they are reaped; then whatever they started.
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.crash();
    }
}
