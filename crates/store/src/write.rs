//! Write transactions: each one bumps the revision counter first.

use std::sync::Arc;

use sqlx::{Any, Transaction};
use tokio::sync::watch;

use crate::{Result, Store};

/// A write transaction and the revision it will publish when committed.
pub struct Write {
    /// The open transaction.
    pub(crate) tx: Transaction<'static, Any>,
    /// The revision this write publishes.
    pub(crate) revision: i64,
    /// Told the revision once the write commits.
    commits: Arc<watch::Sender<i64>>,
}

impl Store {
    /// Begins a write: bumps the revision counter, which also takes the global write lock.
    pub(crate) async fn write(&self) -> Result<Write> {
        let mut tx = self.pool().begin().await?;
        let revision: i64 = sqlx::query_scalar(
            "UPDATE berth_revision SET value = value + 1 WHERE id = 1 RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await?;
        Ok(Write {
            tx,
            revision,
            commits: self.commits.clone(),
        })
    }
}

impl Write {
    /// Marks `server_id`'s desired state as changed in this revision, so its node wakes up.
    pub(crate) async fn touch_server(&mut self, server_id: i64) -> Result<()> {
        sqlx::query("UPDATE servers SET revision = $1 WHERE id = $2")
            .bind(self.revision)
            .bind(server_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Marks the domain → public key map as changed in this revision: every server's router
    /// follows it, so it has a revision of its own instead of touching every server.
    pub(crate) async fn touch_domains(&mut self) -> Result<()> {
        sqlx::query("UPDATE berth_revision SET value = $1 WHERE id = 2")
            .bind(self.revision)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Commits the write and wakes whoever waits for changes.
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        let revision = self.revision;
        self.commits
            .send_modify(|committed| *committed = (*committed).max(revision));
        Ok(())
    }
}
