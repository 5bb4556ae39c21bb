//! `berth up`: the whole platform on one machine in one command.
//!
//! On first start it registers this machine as a server, creates a staff account and a demo
//! customer with one container, saves their credentials in the data directory (mode 0600)
//! and prints them with ready-to-paste curl commands; later starts reuse and reprint them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use berth_router::ControlPlane;
use berth_store::customers::NewCustomer;
use berth_store::servers::NewServer;
use berth_store::{passwords, Store};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::api::{shutdown_signal, ApiOptionArgs};
use crate::node::RuntimeArgs;
use crate::private_file::write_private;
use crate::store_args::StoreArgs;

/// Flags of `berth up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address the API listens on.
    #[arg(
        long = "api",
        env = "BERTH_API_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    api: SocketAddr,
    /// Address the router serves plain HTTP on.
    #[arg(
        long = "router-http",
        env = "BERTH_ROUTER_HTTP",
        default_value = "127.0.0.1:8000"
    )]
    router_http: SocketAddr,
    /// Address the router serves HTTPS on; its default certificate (self-signed for
    /// `localhost`, made at first start) is `<data>/router/default.crt` and `.key`.
    #[arg(
        long = "router-https",
        env = "BERTH_ROUTER_HTTPS",
        default_value = "127.0.0.1:8443"
    )]
    router_https: SocketAddr,
    /// Address the router's Prometheus and JSON stats listen on.
    #[arg(
        long = "router-stats",
        env = "BERTH_ROUTER_STATS",
        default_value = "127.0.0.1:5003"
    )]
    router_stats: SocketAddr,
    #[command(flatten)]
    options: ApiOptionArgs,
    /// Run no containers on this machine, even as root.
    #[arg(long = "no-node")]
    no_node: bool,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// The accounts `berth up` creates on first start.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FirstStart {
    /// Staff login.
    pub staff_username: String,
    /// Staff password.
    pub staff_password: String,
    /// Demo customer login.
    pub customer_username: String,
    /// Demo customer password.
    pub customer_password: String,
    /// The demo customer's container.
    pub container_uid: i64,
}

const CREDENTIALS_FILE: &str = "credentials.toml";
/// The file (mode 0600) holding this machine's server credential for the node API.
pub const NODE_CREDENTIAL_FILE: &str = "node-credential";
const DEMO_MEMORY_MB: i64 = 256;
const DEMO_STORAGE_MB: i64 = 1024;
/// Where `berth up` serves ssh into its containers unless `--ssh` says otherwise.
const DEFAULT_SSH: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2222);

fn credentials_path(data: &Path) -> PathBuf {
    data.join(CREDENTIALS_FILE)
}

/// This machine's memory in MB (from /proc/meminfo), less 512 MB for the system.
fn local_memory_mb() -> i64 {
    let total_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("MemTotal:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<i64>().ok())
        })
        .unwrap_or(4 * 1024 * 1024);
    (total_kb / 1024 - 512).max(DEMO_MEMORY_MB)
}

/// The storage free under `data`, in MB.
fn local_storage_mb(data: &Path) -> i64 {
    nix::sys::statvfs::statvfs(data)
        .map(|stat| (stat.blocks_available() as i64 * stat.fragment_size() as i64) / (1024 * 1024))
        .unwrap_or(10 * 1024)
        .max(DEMO_STORAGE_MB)
}

fn local_server_name() -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_default();
    berth_model::server::name(&host).unwrap_or_else(|_| "local".to_owned())
}

/// Creates the first-start accounts, or reads them back when they exist.
pub async fn first_start(store: &Store, data: &Path) -> anyhow::Result<Option<FirstStart>> {
    let path = credentials_path(data);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(Some(toml::from_str(&text).with_context(|| {
            format!("{} is not a berth credentials file", path.display())
        })?));
    }
    if store.user_exists("admin").await? {
        return Ok(None);
    }
    let staff_password = passwords::generate();
    store.create_staff("admin", &staff_password).await?;
    let customer_password = passwords::generate();
    let customer = store
        .create_customer(NewCustomer {
            username: "demo".into(),
            password: customer_password.clone(),
            email: "demo@example.com".into(),
            company: Some("Demo".into()),
            vat: None,
        })
        .await?;
    let server = store
        .add_server(NewServer {
            name: local_server_name(),
            address: "127.0.0.1".into(),
            memory: local_memory_mb(),
            storage: local_storage_mb(data),
            ..NewServer::default()
        })
        .await?;
    let container = store
        .create_container(
            customer.id,
            server.id,
            "demo",
            DEMO_MEMORY_MB,
            DEMO_STORAGE_MB,
            None,
        )
        .await?;
    let first = FirstStart {
        staff_username: "admin".into(),
        staff_password,
        customer_username: "demo".into(),
        customer_password,
        container_uid: container.summary.uid,
    };
    write_private(&path, &toml::to_string(&first)?)?;
    Ok(Some(first))
}

/// The node API credential of the server `berth up` registered for this machine: the one in
/// `<data>/node-credential` while it is still valid, else a new one written there (0600).
/// `None` when that server is gone (renamed or deleted by staff).
pub async fn local_credential(store: &Store, data: &Path) -> anyhow::Result<Option<String>> {
    let path = data.join(NODE_CREDENTIAL_FILE);
    if let Ok(saved) = std::fs::read_to_string(&path) {
        let saved = saved.trim();
        if store.server_by_credential(saved).await?.is_some() {
            return Ok(Some(saved.to_owned()));
        }
    }
    let Ok(server) = store.server_by_name(&local_server_name()).await else {
        return Ok(None);
    };
    let credential = store.issue_server_credential(server.id).await?;
    let _ = std::fs::remove_file(&path);
    write_private(&path, &credential)?;
    Ok(Some(credential))
}

fn banner(first: Option<&FirstStart>, api: SocketAddr, data: &Path) -> String {
    let base = format!("http://{api}");
    let Some(first) = first else {
        return format!(
            "berth is up: API on {base}/api (data in {}).\n\
             The first-start credentials file is gone; reset a password with\n  \
             cargo run -- admin --data {} customer passwd demo\n",
            data.display(),
            data.display()
        );
    };
    let customer = format!("{}:{}", first.customer_username, first.customer_password);
    let staff = format!("{}:{}", first.staff_username, first.staff_password);
    let uid = first.container_uid;
    format!(
        "berth is up.\n\
         \n  API        {base}/api   (staff API: {base}/v1/admin)\
         \n  data       {data}\
         \n  staff      {staff_user} / {staff_pass}\
         \n  customer   {cust_user} / {cust_pass}   (container {uid})\
         \n\nTry it:\
         \n  curl -u {customer} {base}/api/me\
         \n  curl -u {customer} {base}/api/containers\
         \n  curl -u {customer} {base}/api/containers/{uid}\
         \n  curl -u {customer} -X POST -d '{{\"note\": \"my first container\"}}' {base}/api/containers/{uid}\
         \n  curl -u {customer} -X POST -d '{{\"name\": \"web\"}}' {base}/api/tags\
         \n  curl -u {staff} {base}/v1/admin/servers\n",
        data = data.display(),
        staff_user = first.staff_username,
        staff_pass = first.staff_password,
        cust_user = first.customer_username,
        cust_pass = first.customer_password,
    )
}

/// Starts the router: HTTP, a unix subscription socket under the data directory and stats.
/// Subscriptions must be signed with the domain owner's key, which the router follows from
/// the API's node endpoint (with this machine's credential), or with a key in
/// `<data>/domains/<domain>.pem`.
async fn start_router(
    args: &UpArgs,
    control_plane: Option<ControlPlane>,
) -> anyhow::Result<berth_router::Router> {
    let data = &args.store.data;
    for dir in ["subscribe", "domains"] {
        std::fs::create_dir_all(data.join(dir))
            .with_context(|| format!("cannot create {}", data.join(dir).display()))?;
    }
    let socket = data.join("subscribe").join("http");
    let _ = std::fs::remove_file(&socket);
    let (cert, key) = default_certificate(data)?;
    let router = berth_router::Router::bind(berth_router::RouterConfig {
        http: Some(args.router_http),
        https: Some(berth_router::HttpsConfig {
            addr: args.router_https,
            cert,
            key,
        }),
        subscription_unix: Some(socket),
        sign_check_dir: Some(data.join("domains")),
        state_dir: Some(data.join("router")),
        control_plane,
        stats: Some(args.router_stats),
        ..Default::default()
    })
    .await
    .with_context(|| format!("cannot start the router on {}", args.router_http))?;
    Ok(router)
}

/// The router's default certificate and key under `<data>/router/`: a self-signed
/// certificate for `localhost` made on first start, or whatever the operator put there.
fn default_certificate(data: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = data.join("router");
    let (cert, key) = (dir.join("default.crt"), dir.join("default.key"));
    if !cert.exists() || !key.exists() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .context("cannot make the router's default certificate")?;
        let _ = std::fs::remove_file(&key);
        write_private(&key, &made.key_pair.serialize_pem())?;
        std::fs::write(&cert, made.cert.pem())
            .with_context(|| format!("cannot write {}", cert.display()))?;
    }
    Ok((cert, key))
}

/// Starts the node for this machine when it can run containers (root, runc present, not
/// `--no-node`, the machine's server still registered), on its own thread; says why not
/// otherwise. The answer is the banner's "Containers" line.
fn start_node(args: &UpArgs, api: SocketAddr, credential: Option<String>) -> String {
    let data = &args.store.data;
    if args.no_node {
        return "off (--no-node)".to_owned();
    }
    if !nix::unistd::geteuid().is_root() {
        return "off: berth up is not running as root, and containers need root (runc, \
                namespaces, cgroups); run it with sudo to start them"
            .to_owned();
    }
    let Some(credential) = credential else {
        return "off: this machine's server is no longer registered".to_owned();
    };
    // The homes appear at the same path inside the containers: it must be absolute.
    let data = match std::fs::canonicalize(data) {
        Ok(data) => data,
        Err(error) => return format!("off: {}: {error}", data.display()),
    };
    let mut config = args.runtime.config(
        &data.join("containers"),
        &data.join("node").join("bundles"),
        &data.join("subscribe"),
    );
    config.wireguard_dir = Some(data.join("wireguard"));
    if std::process::Command::new(&config.runc_binary)
        .arg("--version")
        .output()
        .is_err()
    {
        return format!(
            "off: {} is not installed (apt-get install runc)",
            config.runc_binary.display()
        );
    }
    let homes = config.containers_root.display().to_string();
    let network = match args.runtime.network() {
        Ok(_) => format!("network {} via {}", "10.0.0.0/8", berth_node::GATEWAY),
        Err(why) => format!("network off ({why})"),
    };
    let runtime = match berth_node::Runtime::new(config.clone()) {
        Ok(runtime) => runtime,
        Err(error) => return format!("off: {error}"),
    };
    let ssh = match args.runtime.start_ssh(
        &config,
        &runtime,
        Some(DEFAULT_SSH),
        &data.join("node").join("ssh_host_ed25519_key"),
    ) {
        Ok(ssh) => ssh,
        Err(error) => return format!("off: {error:#}"),
    };
    let ssh_line = ssh
        .as_ref()
        .map(|ssh| format!("; ssh on {}", ssh.local_addr()))
        .unwrap_or_default();
    let url = format!("http://{}", loopback_if_unspecified(api));
    let spawned = std::thread::Builder::new()
        .name("node".to_owned())
        .spawn(move || {
            // The ssh server lives as long as the node.
            let _ssh = ssh;
            // A blocking HTTP client must be made off the async runtime.
            let control = match berth_node::HttpControlPlane::new(&url, &credential) {
                Ok(control) => control,
                Err(error) => {
                    tracing::error!(%error, "the node cannot reach the API; containers are off");
                    return;
                }
            };
            if let Err(error) = crate::node::follow(&control, &runtime) {
                tracing::error!(error = %format!("{error:#}"), "the node stopped");
            }
        });
    match spawned {
        Ok(_) => format!("on, homes in {homes}; {network}{ssh_line}"),
        Err(error) => format!("off: cannot start the node thread: {error}"),
    }
}

/// Where this machine reaches a listener bound to `address` (0.0.0.0 is reached on loopback).
fn loopback_if_unspecified(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, address.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, address.port()).into(),
        _ => address,
    }
}

/// Runs the platform until stopped.
pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    // The router serves from this process too: the API takes half of the open files.
    let options = args.options.options(2)?;
    let store = args.store.open().await?;
    let first = first_start(&store, &args.store.data).await?;
    let listener = tokio::net::TcpListener::bind(args.api)
        .await
        .with_context(|| format!("cannot listen on {}", args.api))?;
    let address = listener.local_addr()?;
    let credential = local_credential(&store, &args.store.data).await?;
    let control_plane = credential.clone().map(|token| ControlPlane {
        url: format!("http://{}", loopback_if_unspecified(address)),
        token,
    });
    let router = start_router(&args, control_plane).await?;
    let bound = router.addrs().clone();
    let router_task = tokio::spawn(router.serve(shutdown_signal()));
    let containers = start_node(&args, address, credential);
    // A closed stdout (`berth up | head`) must not stop the platform: ignore write errors.
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "{}",
            banner(first.as_ref(), address, &args.store.data)
        );
        let show = |addr: Option<String>| addr.unwrap_or_else(|| "off".to_owned());
        let _ = writeln!(stdout, "Containers: {containers}");
        let _ = writeln!(
            stdout,
            "Router: HTTP on {}, HTTPS on {}, subscriptions on {}, stats on {}",
            show(bound.http.map(|a| a.to_string())),
            show(bound.https.map(|a| a.to_string())),
            show(bound.subscription_unix.map(|p| p.display().to_string())),
            show(bound.stats.map(|a| a.to_string())),
        );
        let _ = stdout.flush();
    }
    berth_api::serve(store, options, listener, shutdown_signal()).await?;
    router_task.await??;
    Ok(())
}
