//! Write transactions: each one bumps the revision counter first.

use sqlx::{Any, Transaction};

use crate::{Result, Store};

/// A write transaction and the revision it will publish when committed.
pub struct Write {
    /// The open transaction.
    pub(crate) tx: Transaction<'static, Any>,
    /// The revision this write publishes.
    pub(crate) revision: i64,
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
        Ok(Write { tx, revision })
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

    /// Commits the write.
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
