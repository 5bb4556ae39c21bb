//! Containers: creation on a server with room for them, the customer's view of them, and
//! updates that follow the model's reboot rule.

use std::collections::HashMap;

use berth_model::billing::{ContainerSize, RecurringPeriod};
use berth_model::container::{self, AlarmChannel, ContainerSettings, ContainerUpdate};
use berth_model::{ssh_keys, ValidationError};
use sqlx::Row;

use crate::container_orders::{order_new_container, reorder_resized_container, BilledContainer};
use crate::orders::{end_order_of, Subject};
use crate::write::Write;
use crate::{servers, tags, time, Result, Store, StoreError};

/// Who is changing a container: its customer, or staff (who may also resize it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The customer with this database id.
    Customer(i64),
    /// Platform staff.
    Staff,
}

/// A container as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSummary {
    /// uid (30000 + database id).
    pub uid: i64,
    /// Display name.
    pub name: String,
    /// Memory limit, MB.
    pub memory: i64,
    /// Storage quota, MB.
    pub storage: i64,
    /// Public identifier.
    pub uuid: String,
    /// Distro id.
    pub distro: Option<i64>,
    /// Distro name.
    pub distro_name: Option<String>,
    /// Server name.
    pub server: String,
    /// Server address.
    pub server_address: String,
    /// Owner's username.
    pub customer: String,
    /// Tag names.
    pub tags: Vec<String>,
}

impl ContainerSummary {
    /// The container's hostname, derived from its name.
    pub fn hostname(&self) -> String {
        container::hostname_of(&self.name)
    }

    /// The container's private address.
    pub fn ip(&self) -> String {
        container::ip_of(self.uid - container::BASE_UID).to_string()
    }
}

/// A container with everything its owner may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The list view.
    pub summary: ContainerSummary,
    /// Database id of the owner.
    pub customer_id: i64,
    /// Database id of the server.
    pub server_id: i64,
    /// Every customer-writable setting.
    pub settings: ContainerSettings,
    /// Custom distro id (not yet offered by the API).
    pub custom_distro: Option<i64>,
    /// Secret for trusted external services.
    pub secret_uuid: Option<String>,
    /// Size of the alarm ring.
    pub max_alarms: i64,
    /// Whether the container has no default route.
    pub dmz: bool,
    /// When the container was last asked to restart (unix seconds).
    pub last_reboot: i64,
    /// When its ssh keys last changed (unix seconds).
    pub ssh_keys_mtime: i64,
    /// uids this container links to.
    pub linked_to: Vec<i64>,
    /// Addresses of every legion the container's server belongs to.
    pub legion_addresses: Vec<String>,
}

const SUMMARY_COLUMNS: &str = "c.id, c.name, c.memory, c.storage, c.uuid, c.distro_id, \
    d.name AS distro_name, s.name AS server_name, s.address AS server_address, u.username";

const SUMMARY_FROM: &str = "FROM containers c JOIN servers s ON s.id = c.server_id \
    JOIN users u ON u.customer_id = c.customer_id LEFT JOIN distros d ON d.id = c.distro_id";

fn summary_from_row(row: &sqlx::any::AnyRow) -> Result<ContainerSummary> {
    Ok(ContainerSummary {
        uid: container::uid_of(row.try_get("id")?),
        name: row.try_get("name")?,
        memory: row.try_get("memory")?,
        storage: row.try_get("storage")?,
        uuid: row.try_get("uuid")?,
        distro: row.try_get("distro_id")?,
        distro_name: row.try_get("distro_name")?,
        server: row.try_get("server_name")?,
        server_address: row.try_get("server_address")?,
        customer: row.try_get("username")?,
        tags: Vec::new(),
    })
}

fn flag(row: &sqlx::any::AnyRow, column: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

fn settings_from_row(row: &sqlx::any::AnyRow) -> Result<ContainerSettings> {
    let mut channels: [Option<String>; 8] = Default::default();
    for channel in AlarmChannel::ALL {
        channels[channel as usize] = row.try_get(channel.as_str())?;
    }
    Ok(ContainerSettings {
        name: row.try_get("name")?,
        note: row.try_get("note")?,
        distro: row.try_get("distro_id")?,
        memory: row.try_get("memory")?,
        storage: row.try_get("storage")?,
        ssh_keys: ssh_keys::from_raw(&row.try_get::<String, _>("ssh_keys")?),
        quota_threshold: row.try_get("quota_threshold")?,
        alarm_freq: row.try_get("alarm_freq")?,
        nofollow: flag(row, "nofollow")?,
        custom_distros_storage: flag(row, "custom_distros_storage")?,
        channels,
    })
}

/// A moment strictly after `previous`, so that a node always sees a change move forward.
fn advance(previous: i64) -> i64 {
    time::now().max(previous + 1)
}

fn bool_flag(value: bool) -> i64 {
    i64::from(value)
}

impl Store {
    /// Creates a container on a server with room for it. The new container has no distro and
    /// no keys, so it does not start until its owner sets both. When a product prices
    /// containers, the container's order (for `period`, or the product's first) is placed in
    /// the same write.
    pub async fn create_container(
        &self,
        customer_id: i64,
        server_id: i64,
        name: &str,
        memory: i64,
        storage: i64,
        period: Option<RecurringPeriod>,
    ) -> Result<Container> {
        let name = container::name(name)?;
        let memory = container::resource_mb("memory", memory)?;
        let storage = container::resource_mb("storage", storage)?;
        let mut write = self.write().await?;
        let server = locked_server(&mut write, server_id).await?;
        server.capacity.admit((0, 0), (memory, storage))?;
        reserve(&mut write, server_id, memory, storage).await?;
        let now = time::now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO containers (uuid, name, customer_id, server_id, memory, storage, \
             secret_uuid, last_reboot, ssh_keys_mtime, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8) RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&name)
        .bind(customer_id)
        .bind(server_id)
        .bind(memory)
        .bind(storage)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(now)
        .fetch_one(&mut *write.tx)
        .await?;
        let billed = BilledContainer {
            customer_id,
            server_id,
            id,
            size: ContainerSize { memory, storage },
        };
        order_new_container(&mut write, &billed, period, now).await?;
        write.touch_server(server_id).await?;
        write.commit().await?;
        self.container(Actor::Staff, container::uid_of(id)).await
    }

    /// A customer's containers, by name; with tag names, only those carrying any of them.
    pub async fn customer_containers(
        &self,
        customer_id: i64,
        any_of_tags: &[String],
    ) -> Result<Vec<ContainerSummary>> {
        let mut sql = format!("SELECT {SUMMARY_COLUMNS} {SUMMARY_FROM} WHERE c.customer_id = $1");
        if !any_of_tags.is_empty() {
            sql.push_str(&format!(
                " AND c.id IN (SELECT ct.container_id FROM container_tags ct \
                 JOIN tags t ON t.id = ct.tag_id WHERE t.customer_id = $1 AND t.name IN ({}))",
                tags::placeholders(2, any_of_tags.len())
            ));
        }
        sql.push_str(" ORDER BY c.name, c.id");
        let mut query = sqlx::query(&sql).bind(customer_id);
        for tag in any_of_tags {
            query = query.bind(tag);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut containers = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>>>()?;
        let mut tags_by_id: HashMap<i64, Vec<String>> = HashMap::new();
        let tag_rows = sqlx::query(
            "SELECT ct.container_id, t.name FROM container_tags ct JOIN tags t ON t.id = ct.tag_id \
             WHERE t.customer_id = $1 ORDER BY t.name",
        )
        .bind(customer_id)
        .fetch_all(self.pool())
        .await?;
        for row in &tag_rows {
            tags_by_id
                .entry(row.try_get("container_id")?)
                .or_default()
                .push(row.try_get("name")?);
        }
        for summary in &mut containers {
            if let Some(tags) = tags_by_id.remove(&(summary.uid - container::BASE_UID)) {
                summary.tags = tags;
            }
        }
        Ok(containers)
    }

    /// Every container on the platform, by uid (staff).
    pub async fn all_containers(&self) -> Result<Vec<ContainerSummary>> {
        sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} {SUMMARY_FROM} ORDER BY c.id"
        ))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(summary_from_row)
        .collect()
    }

    /// The container `uid`, as `actor` may see it. Another customer's container and a
    /// missing one are both refused, so that ids reveal nothing.
    pub async fn container(&self, actor: Actor, uid: i64) -> Result<Container> {
        let mut conn = self.pool().acquire().await?;
        load_container(&mut conn, actor, uid).await
    }

    /// Applies `update` (and the tag, link and unlink requests) to container `uid` in one
    /// transaction: either all of it happens or none of it.
    pub async fn update_container(
        &self,
        actor: Actor,
        uid: i64,
        update: &ContainerUpdate,
        changes: &ContainerRelations,
    ) -> Result<Container> {
        let mut write = self.write().await?;
        let current = load_container(&mut write.tx, actor, uid).await?;
        let server = locked_server(&mut write, current.server_id).await?;
        let resizes = update.memory.is_some() || update.storage.is_some();
        if let (Actor::Customer(customer_id), true) = (actor, resizes) {
            let owns: Option<i64> =
                sqlx::query_scalar("SELECT id FROM servers WHERE id = $1 AND owner_id = $2")
                    .bind(current.server_id)
                    .bind(customer_id)
                    .fetch_optional(&mut *write.tx)
                    .await?;
            if owns.is_none() {
                return Err(StoreError::Forbidden(
                    "memory and storage can be changed only on servers you own; ask your provider"
                        .into(),
                ));
            }
        }
        if let Some(Some(distro)) = update.distro {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM distros WHERE id = $1")
                .bind(distro)
                .fetch_optional(&mut *write.tx)
                .await?;
            if exists.is_none() {
                return Err(
                    ValidationError::new("distro", format!("no distro has id {distro}")).into(),
                );
            }
        }
        let applied = container::apply_update(&current.settings, update);
        let next = &applied.settings;
        let old_size = (current.settings.memory, current.settings.storage);
        let new_size = (next.memory, next.storage);
        let id = uid - container::BASE_UID;
        if old_size != new_size {
            server.capacity.admit(old_size, new_size)?;
            reserve(
                &mut write,
                server.id,
                new_size.0 - old_size.0,
                new_size.1 - old_size.1,
            )
            .await?;
            let billed = BilledContainer {
                customer_id: current.customer_id,
                server_id: server.id,
                id,
                size: ContainerSize {
                    memory: new_size.0,
                    storage: new_size.1,
                },
            };
            reorder_resized_container(&mut write, &billed, time::now()).await?;
        }
        if let Some(peer) = changes.link {
            link(&mut write, id, peer).await?;
        }
        if let Some(peer) = changes.unlink {
            unlink(&mut write, id, peer).await?;
        }
        let last_reboot = if applied.reboot {
            advance(current.last_reboot)
        } else {
            current.last_reboot
        };
        let ssh_keys_mtime = if applied.ssh_keys_changed {
            advance(current.ssh_keys_mtime)
        } else {
            current.ssh_keys_mtime
        };
        let channel_columns: Vec<String> = AlarmChannel::ALL
            .iter()
            .enumerate()
            .map(|(i, channel)| format!("{} = ${}", channel.as_str(), i + 13))
            .collect();
        let sql = format!(
            "UPDATE containers SET name = $1, note = $2, distro_id = $3, memory = $4, storage = $5, \
             ssh_keys = $6, quota_threshold = $7, alarm_freq = $8, nofollow = $9, \
             custom_distros_storage = $10, last_reboot = $11, ssh_keys_mtime = $12, {} WHERE id = $21",
            channel_columns.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(&next.name)
            .bind(&next.note)
            .bind(next.distro)
            .bind(next.memory)
            .bind(next.storage)
            .bind(container::ssh_keys_raw(next))
            .bind(next.quota_threshold)
            .bind(next.alarm_freq)
            .bind(bool_flag(next.nofollow))
            .bind(bool_flag(next.custom_distros_storage))
            .bind(last_reboot)
            .bind(ssh_keys_mtime);
        for value in &next.channels {
            query = query.bind(value.clone());
        }
        query.bind(id).execute(&mut *write.tx).await?;
        if let Some(names) = &changes.tags {
            sqlx::query("DELETE FROM container_tags WHERE container_id = $1")
                .bind(id)
                .execute(&mut *write.tx)
                .await?;
            for tag_id in tags::ids_by_names(&mut write.tx, current.customer_id, names).await? {
                sqlx::query("INSERT INTO container_tags (container_id, tag_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(tag_id)
                    .execute(&mut *write.tx)
                    .await?;
            }
        }
        write.touch_server(current.server_id).await?;
        write.commit().await?;
        self.container(actor, uid).await
    }

    /// What resizing container `uid` to `memory` and/or `storage` now would do to its order
    /// (staff), without doing it: the resize and the order change are made in a write that is
    /// rolled back. `None` when the container is not billed by its resources; the same
    /// errors as the resize itself (a full server, a bad size).
    pub async fn preview_container_resize(
        &self,
        uid: i64,
        memory: Option<i64>,
        storage: Option<i64>,
    ) -> Result<Option<crate::orders::OrderQuote>> {
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

    /// Deletes container `uid` (staff): frees its share of the server; the node stops it and
    /// keeps its home.
    pub async fn delete_container(&self, uid: i64) -> Result<()> {
        let mut write = self.write().await?;
        let current = load_container(&mut write.tx, Actor::Staff, uid).await?;
        let id = uid - container::BASE_UID;
        // Containers linking to this one lose the link: their servers must hear of it.
        sqlx::query(
            "UPDATE servers SET revision = $1 WHERE id IN (SELECT c.server_id FROM containers c \
             JOIN container_links l ON l.container_id = c.id WHERE l.to_container_id = $2)",
        )
        .bind(write.revision)
        .bind(id)
        .execute(&mut *write.tx)
        .await?;
        sqlx::query("DELETE FROM containers WHERE id = $1")
            .bind(id)
            .execute(&mut *write.tx)
            .await?;
        end_order_of(
            &mut write,
            current.customer_id,
            Subject::Container(id),
            time::now(),
        )
        .await?;
        reserve(
            &mut write,
            current.server_id,
            -current.settings.memory,
            -current.settings.storage,
        )
        .await?;
        write.touch_server(current.server_id).await?;
        write.commit().await
    }
}

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

/// The refusal for a container that is another customer's, or missing: the same words, so
/// that uids reveal nothing.
fn not_yours(uid: i64) -> StoreError {
    StoreError::Forbidden(format!("container {uid} is not one of yours"))
}

/// A random secret of a container that its owner can replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerSecret {
    /// The key apps use to raise alarms without credentials (`?key=`).
    AlarmKey,
    /// The uuid trusted external services identify the container by.
    SecretUuid,
}

impl ContainerSecret {
    fn column(self) -> &'static str {
        match self {
            ContainerSecret::AlarmKey => "alarm_key",
            ContainerSecret::SecretUuid => "secret_uuid",
        }
    }
}

impl Store {
    /// Gives the customer's container `uid` a new random `secret` (a uuid4) and returns it;
    /// the old value stops working at once.
    pub async fn regenerate_secret(
        &self,
        customer_id: i64,
        uid: i64,
        secret: ContainerSecret,
    ) -> Result<String> {
        let value = uuid::Uuid::new_v4().to_string();
        let mut write = self.write().await?;
        let owner = container_ref(&mut write.tx, Actor::Customer(customer_id), uid).await?;
        sqlx::query(&format!(
            "UPDATE containers SET {} = $1 WHERE id = $2",
            secret.column()
        ))
        .bind(&value)
        .bind(owner.id)
        .execute(&mut *write.tx)
        .await?;
        write.commit().await?;
        Ok(value)
    }
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

async fn load_container(
    conn: &mut sqlx::AnyConnection,
    actor: Actor,
    uid: i64,
) -> Result<Container> {
    let refused = || not_yours(uid);
    let id = container::id_of(uid).ok_or_else(refused)?;
    let channels: Vec<&str> = AlarmChannel::ALL.iter().map(|c| c.as_str()).collect();
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, c.customer_id, c.server_id, c.note, c.ssh_keys, c.quota_threshold, \
         c.alarm_freq, c.nofollow, c.custom_distros_storage, c.custom_distro_id, c.secret_uuid, \
         c.max_alarms, c.dmz, c.last_reboot, c.ssh_keys_mtime, {} {SUMMARY_FROM} WHERE c.id = $1",
        channels
            .iter()
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(refused)?;
    let customer_id: i64 = row.try_get("customer_id")?;
    if matches!(actor, Actor::Customer(caller) if caller != customer_id) {
        return Err(refused());
    }
    let server_id: i64 = row.try_get("server_id")?;
    let mut summary = summary_from_row(&row)?;
    summary.tags = sqlx::query_scalar(
        "SELECT t.name FROM container_tags ct JOIN tags t ON t.id = ct.tag_id \
         WHERE ct.container_id = $1 ORDER BY t.name",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let linked_ids: Vec<i64> = sqlx::query_scalar(
        "SELECT to_container_id FROM container_links WHERE container_id = $1 ORDER BY to_container_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let legion_addresses: Vec<String> = sqlx::query_scalar(
        "SELECT l.address FROM legions l JOIN legion_nodes n ON n.legion_id = l.id \
         WHERE n.server_id = $1 ORDER BY l.name",
    )
    .bind(server_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Container {
        settings: settings_from_row(&row)?,
        summary,
        customer_id,
        server_id,
        custom_distro: row.try_get("custom_distro_id")?,
        secret_uuid: row.try_get("secret_uuid")?,
        max_alarms: row.try_get("max_alarms")?,
        dmz: flag(&row, "dmz")?,
        last_reboot: row.try_get("last_reboot")?,
        ssh_keys_mtime: row.try_get("ssh_keys_mtime")?,
        linked_to: linked_ids.into_iter().map(container::uid_of).collect(),
        legion_addresses,
    })
}

/// Reads a server inside a write (whose revision bump already serialises writers).
async fn locked_server(write: &mut Write, server_id: i64) -> Result<servers::Server> {
    let row = sqlx::query(
        "SELECT s.id, s.name, s.address, s.uuid, s.memory, s.storage, s.used_memory, \
         s.used_storage, s.weight, s.revision, NULL AS owner, NULL AS datacenter \
         FROM servers s WHERE s.id = $1",
    )
    .bind(server_id)
    .fetch_optional(&mut *write.tx)
    .await?
    .ok_or(StoreError::NotFound("server"))?;
    servers::server_from_row(&row)
}

async fn reserve(write: &mut Write, server_id: i64, memory: i64, storage: i64) -> Result<()> {
    sqlx::query(
        "UPDATE servers SET used_memory = used_memory + $1, used_storage = used_storage + $2 WHERE id = $3",
    )
    .bind(memory)
    .bind(storage)
    .bind(server_id)
    .execute(&mut *write.tx)
    .await?;
    Ok(())
}

async fn link(write: &mut Write, id: i64, peer_uid: i64) -> Result<()> {
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

async fn unlink(write: &mut Write, id: i64, peer_uid: i64) -> Result<()> {
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
