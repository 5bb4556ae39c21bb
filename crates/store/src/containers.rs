//! Containers: creation on a server with room for them, the customer's view of them, and
//! updates that follow the model's reboot rule.

use std::collections::HashMap;

use berth_model::billing::{ContainerSize, RecurringPeriod};
use berth_model::container::{self, AlarmChannel, ContainerSettings, ContainerUpdate};
use berth_model::{ssh_keys, ValidationError};
use sqlx::Row;

use crate::container_access::not_yours;
pub use crate::container_access::Actor;
pub use crate::container_links::ContainerRelations;
use crate::container_links::{self, link, unlink};
use crate::container_orders::{order_new_container, reorder_resized_container, BilledContainer};
pub use crate::container_secrets::ContainerSecret;
use crate::order_subjects::{end_order_of, Subject};
use crate::servers::locked_server;
use crate::write::Write;
use crate::{custom_distros, tags, time, Result, Store, StoreError};

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
    /// The custom distro it boots.
    pub custom_distro: Option<i64>,
    /// That custom distro's name.
    pub custom_distro_name: Option<String>,
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
    d.name AS distro_name, c.custom_distro_id, cd.name AS custom_distro_name, \
    s.name AS server_name, s.address AS server_address, u.username";

const SUMMARY_FROM: &str = "FROM containers c JOIN servers s ON s.id = c.server_id \
    JOIN users u ON u.customer_id = c.customer_id LEFT JOIN distros d ON d.id = c.distro_id \
    LEFT JOIN custom_distros cd ON cd.id = c.custom_distro_id";

fn summary_from_row(row: &sqlx::any::AnyRow) -> Result<ContainerSummary> {
    Ok(ContainerSummary {
        uid: container::uid_of(row.try_get("id")?),
        name: row.try_get("name")?,
        memory: row.try_get("memory")?,
        storage: row.try_get("storage")?,
        uuid: row.try_get("uuid")?,
        distro: row.try_get("distro_id")?,
        distro_name: row.try_get("distro_name")?,
        custom_distro: row.try_get("custom_distro_id")?,
        custom_distro_name: row.try_get("custom_distro_name")?,
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
        custom_distro: row.try_get("custom_distro_id")?,
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
        let id = uid - container::BASE_UID;
        if let Some(custom) = next.custom_distro.filter(|_| {
            next.custom_distro != current.settings.custom_distro
                || next.custom_distros_storage != current.settings.custom_distros_storage
        }) {
            custom_distros::check_usable(
                &mut write,
                id,
                current.customer_id,
                current.server_id,
                custom,
                next.custom_distros_storage,
            )
            .await?;
        }
        let old_size = (current.settings.memory, current.settings.storage);
        let new_size = (next.memory, next.storage);
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
             custom_distros_storage = $10, last_reboot = $11, ssh_keys_mtime = $12, {}, \
             custom_distro_id = $21 WHERE id = $22",
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
        query
            .bind(next.custom_distro)
            .bind(id)
            .execute(&mut *write.tx)
            .await?;
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
        container_links::touch_linked_servers(&mut write, id).await?;
        write.commit().await?;
        self.container(actor, uid).await
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
        custom_distros::release_storage(&mut write, id).await?;
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

pub(crate) async fn load_container(
    conn: &mut sqlx::AnyConnection,
    actor: Actor,
    uid: i64,
) -> Result<Container> {
    let refused = || not_yours(uid);
    let id = container::id_of(uid).ok_or_else(refused)?;
    let channels: Vec<&str> = AlarmChannel::ALL.iter().map(|c| c.as_str()).collect();
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, c.customer_id, c.server_id, c.note, c.ssh_keys, c.quota_threshold, \
         c.alarm_freq, c.nofollow, c.custom_distros_storage, c.secret_uuid, \
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
        secret_uuid: row.try_get("secret_uuid")?,
        max_alarms: row.try_get("max_alarms")?,
        dmz: flag(&row, "dmz")?,
        last_reboot: row.try_get("last_reboot")?,
        ssh_keys_mtime: row.try_get("ssh_keys_mtime")?,
        linked_to: linked_ids.into_iter().map(container::uid_of).collect(),
        legion_addresses,
    })
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
