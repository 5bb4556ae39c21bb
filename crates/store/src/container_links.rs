//! Links between containers, as a container update asks for them: one-directional, to any
//! customer's container; traffic flows only when both sides link (the node's firewall).

use berth_model::container;

use crate::write::Write;
use crate::{Result, StoreError};

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
