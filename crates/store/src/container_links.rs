//! Links between containers, as a container update asks for them: one-directional, to any
//! customer's container; traffic flows only when both sides link (the node's firewall).

use std::collections::BTreeSet;

use berth_model::node::RemoteLinkSpec;
use berth_model::{container, ssh_keys};
use sqlx::Row;

use crate::write::Write;
use crate::{Result, Store, StoreError};

/// Tag, link and unlink requests that accompany a container update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerRelations {
    /// Replace the container's tags with these names (unknown names are dropped).
    pub tags: Option<Vec<String>>,
    /// Link to this uid (any customer's container).
    pub link: Option<i64>,
    /// Remove the link to this uid.
    pub unlink: Option<i64>,
}

pub(crate) async fn link(write: &mut Write, id: i64, peer_uid: i64) -> Result<()> {
    let peer = container::id_of(peer_uid)
        .ok_or_else(|| StoreError::Conflict(format!("no container has uid {peer_uid}")))?;
    if peer == id {
        return Err(StoreError::Conflict(
            "a container cannot link to itself".into(),
        ));
    }
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM containers WHERE id = $1")
        .bind(peer)
        .fetch_optional(&mut *write.tx)
        .await?;
    if exists.is_none() {
        return Err(StoreError::Conflict(format!(
            "no container has uid {peer_uid}"
        )));
    }
    let already: Option<i64> = sqlx::query_scalar(
        "SELECT container_id FROM container_links WHERE container_id = $1 AND to_container_id = $2",
    )
    .bind(id)
    .bind(peer)
    .fetch_optional(&mut *write.tx)
    .await?;
    if already.is_some() {
        return Err(StoreError::Conflict(format!(
            "already linked to {peer_uid}"
        )));
    }
    sqlx::query("INSERT INTO container_links (container_id, to_container_id) VALUES ($1, $2)")
        .bind(id)
        .bind(peer)
        .execute(&mut *write.tx)
        .await?;
    Ok(())
}

pub(crate) async fn unlink(write: &mut Write, id: i64, peer_uid: i64) -> Result<()> {
    let removed = match container::id_of(peer_uid) {
        Some(peer) => sqlx::query(
            "DELETE FROM container_links WHERE container_id = $1 AND to_container_id = $2",
        )
        .bind(id)
        .bind(peer)
        .execute(&mut *write.tx)
        .await?
        .rows_affected(),
        None => 0,
    };
    if removed == 0 {
        return Err(StoreError::Conflict(format!("not linked to {peer_uid}")));
    }
    Ok(())
}

/// Marks the servers of every container linked to or from container `id` as changed: a link,
/// an unlink or a change of whether it runs changes the pairs that span servers, which the
/// peer's server also realises.
pub(crate) async fn touch_linked_servers(write: &mut Write, id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE servers SET revision = $1 WHERE id IN (SELECT c.server_id FROM containers c \
         WHERE c.id IN (SELECT to_container_id FROM container_links WHERE container_id = $2) \
         OR c.id IN (SELECT container_id FROM container_links WHERE to_container_id = $2))",
    )
    .bind(write.revision)
    .bind(id)
    .execute(&mut *write.tx)
    .await?;
    Ok(())
}

impl Store {
    /// The linked pairs that span servers, seen from server `server_id`: a container of
    /// `local` (the uids of its runnable containers) and a runnable container of another
    /// server that link each other, with the address of the peer's server.
    pub(crate) async fn remote_links(
        &self,
        server_id: i64,
        local: &BTreeSet<i64>,
    ) -> Result<Vec<RemoteLinkSpec>> {
        let rows = sqlx::query(
            "SELECT l.container_id, l.to_container_id, p.ssh_keys, s.address \
             FROM container_links l \
             JOIN containers c ON c.id = l.container_id \
             JOIN containers p ON p.id = l.to_container_id \
             JOIN container_links back ON back.container_id = p.id \
             AND back.to_container_id = c.id \
             JOIN distros d ON d.id = p.distro_id \
             JOIN servers s ON s.id = p.server_id \
             WHERE c.server_id = $1 AND p.server_id <> $1 \
             ORDER BY l.container_id, l.to_container_id",
        )
        .bind(server_id)
        .fetch_all(self.pool())
        .await?;
        let mut pairs = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("container_id")?;
            let peer: i64 = row.try_get("to_container_id")?;
            // Both must run: the peer is runnable as this server's containers are.
            let runnable = !ssh_keys::from_raw(&row.try_get::<String, _>("ssh_keys")?).is_empty();
            if !runnable || !local.contains(&container::uid_of(id)) {
                continue;
            }
            pairs.push(RemoteLinkSpec {
                uid: container::uid_of(id),
                ip: container::ip_of(id).to_string(),
                peer_uid: container::uid_of(peer),
                peer_ip: container::ip_of(peer).to_string(),
                peer_server: row.try_get("address")?,
            });
        }
        Ok(pairs)
    }
}
