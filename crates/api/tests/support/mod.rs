//! The harness of the API tests: a real HTTP server on loopback over a fresh store — a
//! temporary SQLite file or a new PostgreSQL database per test — and helpers to call it.
//!
//! Every answer the helpers read must be a JSON document: the API promises JSON bodies for
//! successes and errors alike. Every answer from `/api` must also be what
//! `/api/openapi.json` documents: its path, method, status and body ([`openapi`]).

#![allow(dead_code)]

pub mod dns;
pub mod openapi;
pub mod slapd;

use berth_api::dns_proof::DnsProofConfig;
use berth_api::ApiOptions;
use berth_store::customers::NewCustomer;
use berth_store::servers::NewServer;
use berth_store::{Backend, Store};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection;

/// Runs each test body on SQLite and on PostgreSQL, each in its own database.
///
/// The body's value is a [`TestApi`] unless `fixture = path;` comes first: then it is what
/// `path(backend).await` returns, which must have an `async fn finish(self)`.
#[macro_export]
macro_rules! on_both_stores {
    (fixture = $start:path; $(async fn $name:ident($api:ident) $body:block)*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $api = $start(berth_store::Backend::Sqlite).await;
                    $body
                    $api.finish().await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $api = $start(berth_store::Backend::Postgres).await;
                    $body
                    $api.finish().await;
                }
            )*
        }
    };
    ($(async fn $name:ident($api:ident) $body:block)*) => {
        $crate::on_both_stores! {
            fixture = support::TestApi::start;
            $(async fn $name($api) $body)*
        }
    };
}

/// The PostgreSQL server tests create their databases on (`BERTH_TEST_POSTGRES`).
pub fn postgres_server() -> String {
    std::env::var("BERTH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// Now, in unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A username and password.
#[derive(Debug, Clone)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// A customer made for a test.
#[derive(Debug, Clone)]
pub struct TestCustomer {
    pub id: i64,
    pub uuid: String,
    pub login: Login,
}

/// A running API over a fresh store.
pub struct TestApi {
    pub base: String,
    pub store: Store,
    /// The database URL of `store`, for a second store standing for another process.
    pub url: String,
    pub http: reqwest::Client,
    pub staff: Login,
    pub server_id: i64,
    /// The DNS server domain proofs ask (unless the test chose another).
    pub dns: dns::TestDns,
    postgres_database: Option<String>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApi {
    /// Starts the API on a fresh store of `backend`, with a staff user and a shared server;
    /// domain proofs ask [`TestApi::dns`], a DNS server on loopback.
    pub async fn start(backend: Backend) -> TestApi {
        TestApi::start_with(backend, None).await
    }

    /// Starts the API with domain proofs set up by `dns` (default: ask [`TestApi::dns`]).
    pub async fn start_with(backend: Backend, dns: Option<DnsProofConfig>) -> TestApi {
        TestApi::start_configured(backend, dns, |_| {}).await
    }

    /// Starts the API with domain proofs set up by `dns` (default: ask [`TestApi::dns`]) and
    /// the other options changed by `configure`.
    pub async fn start_configured(
        backend: Backend,
        dns: Option<DnsProofConfig>,
        configure: impl FnOnce(&mut ApiOptions),
    ) -> TestApi {
        let test_dns = dns::TestDns::loopback().await;
        let mut options = ApiOptions {
            dns: dns.unwrap_or_else(|| DnsProofConfig::server(test_dns.addr)),
            ..ApiOptions::default()
        };
        configure(&mut options);
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("temporary directory");
        let (url, postgres_database) = match backend {
            Backend::Sqlite => (berth_store::sqlite_url(dir.path()), None),
            Backend::Postgres => {
                let name = format!("berth_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin =
                    sqlx::AnyConnection::connect(&format!("{}/postgres", postgres_server()))
                        .await
                        .expect("PostgreSQL is reachable (BERTH_TEST_POSTGRES)");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                (format!("{}/{name}", postgres_server()), Some(name))
            }
        };
        let store = Store::open(&url).await.expect("open store");
        store
            .create_staff("staff", "staff-password")
            .await
            .expect("staff user");
        let server = store
            .add_server(NewServer {
                name: "shared1".into(),
                address: "192.0.2.1".into(),
                memory: 4096,
                storage: 40_960,
                ..NewServer::default()
            })
            .await
            .expect("server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(berth_api::serve(store.clone(), options, listener, async {
            let _ = stopped.await;
        }));
        TestApi {
            base,
            store,
            url,
            http: reqwest::Client::new(),
            staff: Login {
                username: "staff".into(),
                password: "staff-password".into(),
            },
            server_id: server.id,
            dns: test_dns,
            postgres_database,
            _dir: dir,
            stop: Some(stop),
            served: Some(served),
        }
    }

    /// Stops the server and drops the PostgreSQL database.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = served.await;
        }
        self.store.close().await;
        if let Some(name) = self.postgres_database.take() {
            if let Ok(mut admin) =
                sqlx::AnyConnection::connect(&format!("{}/postgres", postgres_server())).await
            {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await;
            }
        }
    }

    /// Creates a customer named `username` (password `<username>-password`).
    pub async fn customer(&self, username: &str) -> TestCustomer {
        let password = format!("{username}-password");
        let customer = self
            .store
            .create_customer(NewCustomer {
                username: username.into(),
                password: password.clone(),
                email: format!("{username}@example.com"),
                ..NewCustomer::default()
            })
            .await
            .expect("customer");
        TestCustomer {
            id: customer.id,
            uuid: customer.uuid,
            login: Login {
                username: username.into(),
                password,
            },
        }
    }

    /// Creates a container for `customer` on the shared server and returns its uid.
    pub async fn container(&self, customer: &TestCustomer, name: &str) -> i64 {
        self.store
            .create_container(customer.id, self.server_id, name, 128, 1024, None)
            .await
            .expect("container")
            .summary
            .uid
    }

    /// A dedicated server owned by `customer`.
    pub async fn owned_server(&self, customer: &TestCustomer, address: &str, memory: i64) -> i64 {
        self.store
            .add_server(NewServer {
                name: format!("dedicated-{}", address.replace('.', "-")),
                address: address.into(),
                memory,
                storage: 10_000,
                owner: Some(customer.login.username.clone()),
                ..NewServer::default()
            })
            .await
            .expect("owned server")
            .id
    }

    /// Sends a request and returns the status and the JSON body; an answer from `/api` must
    /// be what `/api/openapi.json` documents (see [`openapi`]).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        login: Option<&Login>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(login) = login {
            request = request.basic_auth(&login.username, Some(&login.password));
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        let json: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{path} answered {status} with a non-JSON body: {:?}",
                String::from_utf8_lossy(&bytes)
            )
        });
        if openapi::is_customer_api(path) {
            openapi::assert_documented(&method, path, status, &json);
        }
        (status, json)
    }

    /// GET `path` as `login`.
    pub async fn get(&self, path: &str, login: &Login) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, Some(login), None)
            .await
    }

    /// POST a JSON text to `path` as `login` (no Content-Type, like uwsgiit-py).
    pub async fn post(&self, path: &str, login: &Login, body: &str) -> (StatusCode, Value) {
        self.send(
            reqwest::Method::POST,
            path,
            Some(login),
            Some(body.as_bytes().to_vec()),
        )
        .await
    }

    /// DELETE `path` as `login`.
    pub async fn delete(&self, path: &str, login: &Login) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, Some(login), None)
            .await
    }
}
