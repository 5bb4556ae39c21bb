//! Distros: the platform's root filesystems, chosen by id.

use berth_model::distro;
use sqlx::Row;

use crate::error::conflict_on_unique;
use crate::{Result, Store};

/// A platform distro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distro {
    /// Database id, which customers pick.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Root directory on every server.
    pub path: String,
    /// Public identifier.
    pub uuid: String,
}

impl Store {
    /// Registers a distro.
    pub async fn add_distro(&self, name: &str, path: &str) -> Result<Distro> {
        let name = distro::name(name)?;
        let path = distro::path(path)?;
        let uuid = uuid::Uuid::new_v4().to_string();
        let mut write = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO distros (name, path, uuid) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(&name)
        .bind(&path)
        .bind(&uuid)
        .fetch_one(&mut *write.tx)
        .await
        .map_err(conflict_on_unique(format!(
            "a distro named {name} or at {path} exists"
        )))?;
        write.commit().await?;
        Ok(Distro {
            id,
            name,
            path,
            uuid,
        })
    }

    /// Every distro, by id.
    pub async fn distros(&self) -> Result<Vec<Distro>> {
        sqlx::query("SELECT id, name, path, uuid FROM distros ORDER BY id")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| {
                Ok(Distro {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    path: row.try_get("path")?,
                    uuid: row.try_get("uuid")?,
                })
            })
            .collect()
    }
}
