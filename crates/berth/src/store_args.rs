//! Where the data lives: the flags every store-using subcommand shares.

use std::path::PathBuf;

use anyhow::Context;
use berth_store::Store;
use clap::Args;

/// The data directory and database flags.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Data directory (the embedded SQLite database and first-start credentials live here).
    #[arg(long = "data", env = "BERTH_DATA", default_value = "berth-data")]
    pub data: PathBuf,
    /// Database URL (`postgres://…` for PostgreSQL); the embedded SQLite file when absent.
    #[arg(long, env = "BERTH_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StoreArgs {
    /// The database URL in effect.
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| berth_store::sqlite_url(&self.data))
    }

    /// Creates the data directory if needed and connects without migrating.
    pub async fn connect(&self) -> anyhow::Result<Store> {
        std::fs::create_dir_all(&self.data)
            .with_context(|| format!("cannot create the data directory {}", self.data.display()))?;
        Store::connect(&self.url())
            .await
            .with_context(|| format!("cannot open the database {}", self.url()))
    }

    /// Connects and applies pending migrations.
    pub async fn open(&self) -> anyhow::Result<Store> {
        let store = self.connect().await?;
        berth_store::migrations::apply(&store)
            .await
            .context("cannot migrate the database")?;
        Ok(store)
    }
}
