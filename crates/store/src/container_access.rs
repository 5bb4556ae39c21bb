//! Who may touch a container: its customer or staff. Another customer's container and a
//! missing one are refused with the same words, so that uids reveal nothing.

use berth_model::container;
use sqlx::Row;

use crate::{Result, StoreError};

/// Who is changing a container: its customer, or staff (who may also resize it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The customer with this database id.
    Customer(i64),
    /// Platform staff.
    Staff,
}

/// The refusal for a container that is another customer's, or missing: the same words, so
/// that uids reveal nothing.
pub(crate) fn not_yours(uid: i64) -> StoreError {
    StoreError::Forbidden(format!("container {uid} is not one of yours"))
}

/// What the objects that belong to a container (loopboxes, alarms) need to know of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContainerRef {
    /// Database id.
    pub(crate) id: i64,
    /// The server it runs on.
    pub(crate) server_id: i64,
    /// Size of its alarm ring.
    pub(crate) max_alarms: i64,
}

/// Container `uid` as `actor` may see it; another customer's and a missing one are both
/// refused (403).
pub(crate) async fn container_ref(
    conn: &mut sqlx::AnyConnection,
    actor: Actor,
    uid: i64,
) -> Result<ContainerRef> {
    let id = container::id_of(uid).ok_or_else(|| not_yours(uid))?;
    let row =
        sqlx::query("SELECT customer_id, server_id, max_alarms FROM containers WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| not_yours(uid))?;
    let customer_id: i64 = row.try_get("customer_id")?;
    if matches!(actor, Actor::Customer(caller) if caller != customer_id) {
        return Err(not_yours(uid));
    }
    Ok(ContainerRef {
        id,
        server_id: row.try_get("server_id")?,
        max_alarms: row.try_get("max_alarms")?,
    })
}
