//! Loopboxes: image files in a container's home that its node loop-mounts inside it. A
//! loopbox's id is its loop device number (`/dev/loop<id>`) on the node.

use std::collections::HashMap;

use berth_model::{container, loopbox};
use sqlx::Row;

use crate::container_access::{container_ref, Actor};
use crate::error::conflict_on_unique;
use crate::filter::{marks, Conditions, Param};
use crate::{tags, time, Result, Store, StoreError};

/// A loopbox as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loopbox {
    /// Database id, also the loop device number.
    pub id: i64,
    /// uid of the container it belongs to.
    pub container: i64,
    /// The image file, relative to the container's home.
    pub filename: String,
    /// Where it is mounted, relative to the container's home.
    pub mountpoint: String,
    /// Mounted read-only.
    pub ro: bool,
    /// Tag names.
    pub tags: Vec<String>,
}

/// Which of a customer's loopboxes a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoopboxFilter {
    /// Only this container's (its uid; another customer's container is refused).
    pub container: Option<i64>,
    /// Only those carrying any of these tag names (empty: no tag filter).
    pub any_of_tags: Vec<String>,
}

const LOOPBOX_SELECT: &str = "SELECT l.id, l.container_id, l.filename, l.mountpoint, l.ro, \
    c.server_id FROM loopboxes l JOIN containers c ON c.id = l.container_id";

fn loopbox_from_row(row: &sqlx::any::AnyRow) -> Result<Loopbox> {
    Ok(Loopbox {
        id: row.try_get("id")?,
        container: container::uid_of(row.try_get("container_id")?),
        filename: row.try_get("filename")?,
        mountpoint: row.try_get("mountpoint")?,
        ro: row.try_get::<i64, _>("ro")? != 0,
        tags: Vec::new(),
    })
}

fn not_yours(id: i64) -> StoreError {
    StoreError::Forbidden(format!("loopbox {id} is not one of yours"))
}

/// Fills in the tags of `loopboxes`, all of `customer_id`.
async fn attach_tags(
    conn: &mut sqlx::AnyConnection,
    customer_id: i64,
    loopboxes: &mut [Loopbox],
) -> Result<()> {
    let mut by_id: HashMap<i64, Vec<String>> = HashMap::new();
    let rows = sqlx::query(
        "SELECT lt.loopbox_id, t.name FROM loopbox_tags lt JOIN tags t ON t.id = lt.tag_id \
         WHERE t.customer_id = $1 ORDER BY t.name",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        by_id
            .entry(row.try_get("loopbox_id")?)
            .or_default()
            .push(row.try_get("name")?);
    }
    for loopbox in loopboxes {
        loopbox.tags = by_id.remove(&loopbox.id).unwrap_or_default();
    }
    Ok(())
}

/// Loopbox `id` of `customer_id` with the id of the server it lives on; another customer's
/// and a missing one are both refused (403).
async fn load_loopbox(
    conn: &mut sqlx::AnyConnection,
    customer_id: i64,
    id: i64,
) -> Result<(Loopbox, i64)> {
    let row = sqlx::query(&format!(
        "{LOOPBOX_SELECT} WHERE l.id = $1 AND c.customer_id = $2"
    ))
    .bind(id)
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| not_yours(id))?;
    let mut loopbox = [loopbox_from_row(&row)?];
    attach_tags(conn, customer_id, &mut loopbox).await?;
    let [loopbox] = loopbox;
    Ok((loopbox, row.try_get("server_id")?))
}

impl Store {
    /// Creates a loopbox in the customer's container `uid`. The paths follow the model's
    /// rules; a filename or mountpoint the container already uses is a conflict.
    pub async fn create_loopbox(
        &self,
        customer_id: i64,
        uid: i64,
        filename: &str,
        mountpoint: &str,
        ro: bool,
    ) -> Result<Loopbox> {
        let filename = loopbox::filename(filename)?;
        let mountpoint = loopbox::mountpoint(mountpoint)?;
        let mut write = self.write().await?;
        let owner = container_ref(&mut write.tx, Actor::Customer(customer_id), uid).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO loopboxes (container_id, filename, mountpoint, ro, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(owner.id)
        .bind(&filename)
        .bind(&mountpoint)
        .bind(i64::from(ro))
        .bind(time::now())
        .fetch_one(&mut *write.tx)
        .await
        .map_err(conflict_on_unique(format!(
            "container {uid} already has a loopbox with filename {filename} or mountpoint {mountpoint}"
        )))?;
        write.touch_server(owner.server_id).await?;
        write.commit().await?;
        Ok(Loopbox {
            id,
            container: uid,
            filename,
            mountpoint,
            ro,
            tags: Vec::new(),
        })
    }

    /// A customer's loopboxes by id, filtered by container and tags (each loopbox once).
    pub async fn loopboxes(
        &self,
        customer_id: i64,
        filter: &LoopboxFilter,
    ) -> Result<Vec<Loopbox>> {
        let mut conn = self.pool().acquire().await?;
        let mut conditions = Conditions::default();
        conditions.add("c.customer_id = ?", [Param::Int(customer_id)]);
        if let Some(uid) = filter.container {
            let owner = container_ref(&mut conn, Actor::Customer(customer_id), uid).await?;
            conditions.add("l.container_id = ?", [Param::Int(owner.id)]);
        }
        if !filter.any_of_tags.is_empty() {
            let clause = format!(
                "l.id IN (SELECT lt.loopbox_id FROM loopbox_tags lt JOIN tags t ON t.id = lt.tag_id \
                 WHERE t.customer_id = ? AND t.name IN ({}))",
                marks(filter.any_of_tags.len())
            );
            let names = filter.any_of_tags.iter().cloned().map(Param::Text);
            conditions.add(
                &clause,
                std::iter::once(Param::Int(customer_id)).chain(names),
            );
        }
        let sql = format!("{LOOPBOX_SELECT} WHERE {} ORDER BY l.id", conditions.sql());
        let rows = conditions
            .bind(sqlx::query(&sql))
            .fetch_all(&mut *conn)
            .await?;
        let mut loopboxes = rows
            .iter()
            .map(loopbox_from_row)
            .collect::<Result<Vec<_>>>()?;
        attach_tags(&mut conn, customer_id, &mut loopboxes).await?;
        Ok(loopboxes)
    }

    /// One of a customer's loopboxes.
    pub async fn loopbox(&self, customer_id: i64, id: i64) -> Result<Loopbox> {
        let mut conn = self.pool().acquire().await?;
        Ok(load_loopbox(&mut conn, customer_id, id).await?.0)
    }

    /// Replaces a loopbox's tags with the customer's tags named in `names` (unknown names are
    /// dropped, as upstream).
    pub async fn set_loopbox_tags(
        &self,
        customer_id: i64,
        id: i64,
        names: &[String],
    ) -> Result<Loopbox> {
        let mut write = self.write().await?;
        load_loopbox(&mut write.tx, customer_id, id).await?;
        sqlx::query("DELETE FROM loopbox_tags WHERE loopbox_id = $1")
            .bind(id)
            .execute(&mut *write.tx)
            .await?;
        for tag_id in tags::ids_by_names(&mut write.tx, customer_id, names).await? {
            sqlx::query("INSERT INTO loopbox_tags (loopbox_id, tag_id) VALUES ($1, $2)")
                .bind(id)
                .bind(tag_id)
                .execute(&mut *write.tx)
                .await?;
        }
        let (loopbox, _) = load_loopbox(&mut write.tx, customer_id, id).await?;
        write.commit().await?;
        Ok(loopbox)
    }

    /// Deletes a loopbox: its node unmounts it; the image file stays in the home.
    pub async fn delete_loopbox(&self, customer_id: i64, id: i64) -> Result<()> {
        let mut write = self.write().await?;
        let (_, server_id) = load_loopbox(&mut write.tx, customer_id, id).await?;
        sqlx::query("DELETE FROM loopboxes WHERE id = $1")
            .bind(id)
            .execute(&mut *write.tx)
            .await?;
        write.touch_server(server_id).await?;
        write.commit().await
    }
}
