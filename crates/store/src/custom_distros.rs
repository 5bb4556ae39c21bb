//! Custom distros (spec/uwsgi-it.md, CustomDistros.md): root file systems a customer builds
//! in `distros/<path>` of one of their containers (the storage container, which has
//! `custom_distros_storage`), booted by their other containers on the same server.
//!
//! The rules: only the storage container's customer sees, changes or deletes a custom
//! distro; a container may boot one only when it is its own customer's, held by another
//! container on the same server, and it is no storage container itself. Deleting a custom
//! distro (or its storage container) sends the containers that booted it back to their
//! platform distro, with a restart.

use berth_model::container::{self, uid_of};
use berth_model::{distro, text, ValidationError};
use sqlx::Row;

use crate::container_access::{container_ref, Actor};
use crate::error::conflict_on_unique;
use crate::write::Write;
use crate::{time, Result, Store, StoreError};

/// The longest custom distro name.
pub const NAME_MAX: usize = 255;

/// A custom distro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomDistro {
    /// Database id, which containers pick.
    pub id: i64,
    /// The uid of the container whose home holds it.
    pub container: i64,
    /// Name, unique per storage container.
    pub name: String,
    /// Its directory under the storage container's `distros/`, unique per storage container.
    pub path: String,
    /// Free note.
    pub note: String,
    /// Public identifier.
    pub uuid: String,
}

const COLUMNS: &str = "d.id, d.container_id, d.name, d.path, d.note, d.uuid";

fn from_row(row: &sqlx::any::AnyRow) -> Result<CustomDistro> {
    Ok(CustomDistro {
        id: row.try_get("id")?,
        container: uid_of(row.try_get("container_id")?),
        name: row.try_get("name")?,
        path: row.try_get("path")?,
        note: row.try_get("note")?,
        uuid: row.try_get("uuid")?,
    })
}

fn not_found() -> StoreError {
    StoreError::NotFound("custom distro")
}

impl Store {
    /// Every custom distro of the customer, by id.
    pub async fn customer_custom_distros(&self, customer_id: i64) -> Result<Vec<CustomDistro>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM custom_distros d JOIN containers c ON c.id = d.container_id \
             WHERE c.customer_id = $1 ORDER BY d.id"
        ))
        .bind(customer_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(from_row)
        .collect()
    }

    /// The custom distros the customer's container `uid` may boot: those of the customer's
    /// other containers on its server. Another customer's container is refused (403).
    pub async fn usable_custom_distros(
        &self,
        customer_id: i64,
        uid: i64,
    ) -> Result<Vec<CustomDistro>> {
        let mut conn = self.pool().acquire().await?;
        let target = container_ref(&mut conn, Actor::Customer(customer_id), uid).await?;
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM custom_distros d JOIN containers c ON c.id = d.container_id \
             WHERE c.customer_id = $1 AND c.server_id = $2 AND c.id <> $3 ORDER BY d.id"
        ))
        .bind(customer_id)
        .bind(target.server_id)
        .bind(target.id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }

    /// Registers a custom distro in the customer's container `uid`, which must keep custom
    /// distros (`custom_distros_storage`, else 403). Name and path are unique per container.
    pub async fn add_custom_distro(
        &self,
        customer_id: i64,
        uid: i64,
        name: &str,
        path: &str,
        note: &str,
    ) -> Result<CustomDistro> {
        let name = text::required_line("name", name, NAME_MAX)?;
        let path = distro::custom_path(path)?;
        let note = text::note("note", note, text::NOTE_MAX)?;
        let mut write = self.write().await?;
        let storage = container_ref(&mut write.tx, Actor::Customer(customer_id), uid).await?;
        let keeps: i64 =
            sqlx::query_scalar("SELECT custom_distros_storage FROM containers WHERE id = $1")
                .bind(storage.id)
                .fetch_one(&mut *write.tx)
                .await?;
        if keeps == 0 {
            return Err(StoreError::Forbidden(format!(
                "container {uid} does not keep custom distros: set its custom_distros_storage first"
            )));
        }
        let uuid = uuid::Uuid::new_v4().to_string();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO custom_distros (container_id, name, path, note, uuid, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(storage.id)
        .bind(&name)
        .bind(&path)
        .bind(&note)
        .bind(&uuid)
        .bind(time::now())
        .fetch_one(&mut *write.tx)
        .await
        .map_err(conflict_on_unique(format!(
            "container {uid} has a custom distro named {name} or at {path} already"
        )))?;
        write.commit().await?;
        Ok(CustomDistro {
            id,
            container: uid,
            name,
            path,
            note,
            uuid,
        })
    }

    /// The customer's custom distro `id`; another customer's is not found (404).
    pub async fn custom_distro(&self, customer_id: i64, id: i64) -> Result<CustomDistro> {
        let mut conn = self.pool().acquire().await?;
        owned(&mut conn, customer_id, id).await
    }

    /// Changes the name and/or the note of the customer's custom distro `id` (its path is
    /// what containers boot: it does not change).
    pub async fn update_custom_distro(
        &self,
        customer_id: i64,
        id: i64,
        name: Option<&str>,
        note: Option<&str>,
    ) -> Result<CustomDistro> {
        let name = name
            .map(|name| text::required_line("name", name, NAME_MAX))
            .transpose()?;
        let note = note
            .map(|note| text::note("note", note, text::NOTE_MAX))
            .transpose()?;
        let mut write = self.write().await?;
        let mut current = owned(&mut write.tx, customer_id, id).await?;
        if let Some(name) = name {
            current.name = name;
        }
        if let Some(note) = note {
            current.note = note;
        }
        sqlx::query("UPDATE custom_distros SET name = $1, note = $2 WHERE id = $3")
            .bind(&current.name)
            .bind(&current.note)
            .bind(id)
            .execute(&mut *write.tx)
            .await
            .map_err(conflict_on_unique(format!(
                "container {} has a custom distro named {} already",
                current.container, current.name
            )))?;
        // The containers booting it show its new name.
        touch_servers_booting(&mut write, "custom_distro_id = $2", id).await?;
        write.commit().await?;
        Ok(current)
    }

    /// Deletes the customer's custom distro `id`; the containers that booted it restart on
    /// their platform distro. The files stay in the storage container.
    pub async fn delete_custom_distro(&self, customer_id: i64, id: i64) -> Result<()> {
        let mut write = self.write().await?;
        owned(&mut write.tx, customer_id, id).await?;
        release(&mut write, "custom_distro_id = $2", id).await?;
        sqlx::query("DELETE FROM custom_distros WHERE id = $1")
            .bind(id)
            .execute(&mut *write.tx)
            .await?;
        write.commit().await
    }
}

async fn owned(conn: &mut sqlx::AnyConnection, customer_id: i64, id: i64) -> Result<CustomDistro> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM custom_distros d JOIN containers c ON c.id = d.container_id \
         WHERE d.id = $1 AND c.customer_id = $2"
    ))
    .bind(id)
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(not_found)?;
    from_row(&row)
}

/// Makes the servers of the containers matching `condition` (on the custom distro id, `$2`)
/// fetch their state again.
async fn touch_servers_booting(write: &mut Write, condition: &str, value: i64) -> Result<()> {
    sqlx::query(&format!(
        "UPDATE servers SET revision = $1 WHERE id IN \
         (SELECT server_id FROM containers WHERE {condition})"
    ))
    .bind(write.revision)
    .bind(value)
    .execute(&mut *write.tx)
    .await?;
    Ok(())
}

/// Sends the containers matching `condition` (`$2`) back to their platform distro, with a
/// restart.
async fn release(write: &mut Write, condition: &str, value: i64) -> Result<()> {
    touch_servers_booting(write, condition, value).await?;
    sqlx::query(&format!(
        "UPDATE containers SET custom_distro_id = NULL, \
         last_reboot = CASE WHEN last_reboot >= $1 THEN last_reboot + 1 ELSE $1 END \
         WHERE {condition}"
    ))
    .bind(time::now())
    .bind(value)
    .execute(&mut *write.tx)
    .await?;
    Ok(())
}

/// Before the storage container `container_id` goes: the containers booting its custom
/// distros go back to their platform distro.
pub(crate) async fn release_storage(write: &mut Write, container_id: i64) -> Result<()> {
    release(
        write,
        "custom_distro_id IN (SELECT id FROM custom_distros WHERE container_id = $2)",
        container_id,
    )
    .await
}

/// Checks that container `id` (of `customer_id`, on `server_id`) may boot `custom_distro`:
/// a custom distro of the same customer, held by another container on the same server, and
/// the container keeps no custom distros itself.
pub(crate) async fn check_usable(
    write: &mut Write,
    id: i64,
    customer_id: i64,
    server_id: i64,
    custom_distro: i64,
    keeps_custom_distros: bool,
) -> Result<()> {
    let refused = |why: &str| -> StoreError {
        ValidationError::new(
            "custom_distro",
            format!("custom distro {custom_distro} {why}"),
        )
        .into()
    };
    if keeps_custom_distros {
        return Err(refused(
            "cannot be booted by a container that keeps custom distros",
        ));
    }
    let holder: Option<(i64, i64, i64)> = sqlx::query(
        "SELECT c.id, c.customer_id, c.server_id FROM custom_distros d \
         JOIN containers c ON c.id = d.container_id WHERE d.id = $1",
    )
    .bind(custom_distro)
    .fetch_optional(&mut *write.tx)
    .await?
    .map(|row| -> Result<_> {
        Ok((
            row.try_get("id")?,
            row.try_get("customer_id")?,
            row.try_get("server_id")?,
        ))
    })
    .transpose()?;
    match holder {
        Some((holder, owner, _)) if owner == customer_id && holder == id => Err(refused(
            "is kept by this container: another container must boot it",
        )),
        Some((_, owner, server)) if owner == customer_id && server == server_id => Ok(()),
        Some((_, owner, _)) if owner == customer_id => Err(refused(&format!(
            "is kept on another server than container {}",
            container::uid_of(id)
        ))),
        // Another customer's and a missing one read the same: ids reveal nothing.
        _ => Err(refused("is not one of yours")),
    }
}
