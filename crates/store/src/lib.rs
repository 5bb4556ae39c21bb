//! berth-store: persistence for berth on SQLite and PostgreSQL behind one interface.
//!
//! There is one query layer (sqlx's `Any` driver, `$N` placeholders, BIGINT and TEXT columns
//! only) and one copy of the business logic. Every write runs in a [`write::Write`]
//! transaction that first bumps the revision counter: servers watch that counter, and taking
//! its row lock first serialises writers, so read-check-write rules such as server capacity
//! hold on both backends.

pub mod alarms;
pub mod billing_addresses;
pub mod bills;
mod closed_bills;
mod container_access;
mod container_billing;
mod container_links;
mod container_orders;
mod container_secrets;
pub mod containers;
pub mod custom_distros;
pub mod customers;
pub mod distros;
pub mod domains;
pub mod error;
mod filter;
pub mod keys;
pub mod legions;
pub mod logins;
pub mod loopboxes;
pub mod metrics;
pub mod migrations;
pub mod news;
pub mod nodes;
mod order_subjects;
pub mod orders;
pub mod passwords;
pub mod payments;
pub mod port_mappings;
pub mod products;
mod revision;
pub mod servers;
pub mod tags;
pub mod time;
pub mod vat_rates;
pub mod vpn;
pub mod write;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};
use tokio::sync::watch;

pub use error::{Result, StoreError};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (WAL mode).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The handle to berth's database: cheap to clone, shared by every request.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The revision of the last write this process committed, for waiters to wake on.
    commits: Arc<watch::Sender<i64>>,
    /// Revision reads, shared by concurrent callers.
    revision_reads: Arc<revision::RevisionReads>,
}

/// The file name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "berth.db";

/// The database URL of the embedded SQLite store in `data_dir`.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join(SQLITE_FILE).display())
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) without migrating.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                format!("unsupported database URL (want sqlite:// or postgres://): {url}").into(),
            )));
        };
        let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        let pool = match backend {
            Backend::Sqlite => {
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                                 PRAGMA busy_timeout = 10000;",
                            )
                            .await
                            .map(|_| ())
                        })
                    })
                    .connect_with(options)
                    .await?;
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await?;
                pool
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .connect_with(options)
                    .await?
            }
        };
        Ok(Store {
            pool,
            backend,
            commits: Arc::new(watch::Sender::new(0)),
            revision_reads: Arc::default(),
        })
    }

    /// Connects to `url` and applies every pending migration.
    pub async fn open(url: &str) -> Result<Store> {
        let store = Store::connect(url).await?;
        migrations::apply(&store).await?;
        Ok(store)
    }

    /// The backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for the store's own modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The current revision of the desired state: never older than the last write committed
    /// (by any process) before the call. Concurrent callers share one query (the `revision`
    /// module says how), so checking it on every request stays cheap.
    pub async fn revision(&self) -> Result<i64> {
        self.revision_reads
            .read(|| async {
                Ok(
                    sqlx::query_scalar("SELECT value FROM berth_revision WHERE id = 1")
                        .fetch_one(&self.pool)
                        .await?,
                )
            })
            .await
    }

    /// A receiver that changes whenever a write of this process commits (its value: the
    /// revision committed). Writes of other processes sharing the database are not seen:
    /// waiters must also re-read the database now and then.
    pub fn commits(&self) -> watch::Receiver<i64> {
        self.commits.subscribe()
    }

    /// Closes every connection (tests drop their databases afterwards).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
