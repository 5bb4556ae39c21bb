//! Staff operations on a container's order: start billing a container made before a
//! container product existed (or whose order ended), and preview what a resize would do to
//! its order.

use berth_model::billing::{billing_time, ContainerSize, RecurringPeriod};
use berth_model::container;

use crate::container_access::Actor;
use crate::container_orders::{
    billed_by_resources, order_new_container, reorder_resized_container, BilledContainer,
};
use crate::containers::load_container;
use crate::order_subjects::{open_order_of, Subject};
use crate::orders::{Order, OrderQuote};
use crate::servers::locked_server;
use crate::{time, Result, Store, StoreError};

impl Store {
    /// Starts billing container `uid` (staff): places its order at `starts_at` for `period`
    /// (or the container product's first), for a container made before a container product
    /// existed or whose order ended. A container already billed is a conflict.
    pub async fn order_container(
        &self,
        uid: i64,
        period: Option<RecurringPeriod>,
        starts_at: i64,
    ) -> Result<Order> {
        let starts_at = billing_time("starts_at", starts_at)?;
        let current = self.container(Actor::Staff, uid).await?;
        let id = uid - container::BASE_UID;
        let mut write = self.write().await?;
        if let Some(open) = open_order_of(&mut write, Subject::Container(id)).await? {
            return Err(StoreError::Conflict(format!(
                "container {uid} is already billed by order {}",
                open.id
            )));
        }
        let billed = BilledContainer {
            customer_id: current.customer_id,
            server_id: current.server_id,
            id,
            size: ContainerSize {
                memory: current.settings.memory,
                storage: current.settings.storage,
            },
        };
        if !billed_by_resources(&mut write, billed.customer_id, billed.server_id).await? {
            return Err(StoreError::Conflict(format!(
                "container {uid} runs on a server its customer owns; it is not billed by its \
                 resources"
            )));
        }
        let order_id = order_new_container(&mut write, &billed, period, starts_at)
            .await?
            .ok_or_else(|| {
                StoreError::Conflict("no active product prices containers".to_owned())
            })?;
        write.commit().await?;
        self.order(current.customer_id, order_id).await
    }
}

impl Store {
    /// What resizing container `uid` to `memory` and/or `storage` now would do to its order
    /// (staff), without doing it: the resize and the order change are made in a write that is
    /// rolled back. `None` when the container is not billed by its resources; the same
    /// errors as the resize itself (a full server, a bad size).
    pub async fn preview_container_resize(
        &self,
        uid: i64,
        memory: Option<i64>,
        storage: Option<i64>,
    ) -> Result<Option<OrderQuote>> {
        let memory = memory
            .map(|mb| container::resource_mb("memory", mb))
            .transpose()?;
        let storage = storage
            .map(|mb| container::resource_mb("storage", mb))
            .transpose()?;
        let mut write = self.write().await?;
        let current = load_container(&mut write.tx, Actor::Staff, uid).await?;
        let server = locked_server(&mut write, current.server_id).await?;
        let old_size = (current.settings.memory, current.settings.storage);
        let new_size = (memory.unwrap_or(old_size.0), storage.unwrap_or(old_size.1));
        if old_size == new_size {
            return Ok(None);
        }
        server.capacity.admit(old_size, new_size)?;
        let billed = BilledContainer {
            customer_id: current.customer_id,
            server_id: server.id,
            id: uid - container::BASE_UID,
            size: ContainerSize {
                memory: new_size.0,
                storage: new_size.1,
            },
        };
        // Dropped without a commit: nothing of it stays.
        reorder_resized_container(&mut write, &billed, time::now()).await
    }
}
