//! Servers and datacenters: where containers run and how much they can hold.

use berth_model::capacity::ServerCapacity;
use berth_model::server;
use sqlx::Row;

use crate::error::conflict_on_unique;
use crate::write::Write;
use crate::{time, Result, Store, StoreError};

/// What it takes to register a server.
#[derive(Debug, Clone, Default)]
pub struct NewServer {
    /// Unique name.
    pub name: String,
    /// Unique IP address.
    pub address: String,
    /// Memory offered to containers, MB.
    pub memory: i64,
    /// Storage offered to containers, MB.
    pub storage: i64,
    /// Weight among servers (higher is preferred); 9999 by default.
    pub weight: Option<i64>,
    /// Datacenter name, created when new.
    pub datacenter: Option<String>,
    /// Username of the customer who owns it as a dedicated server.
    pub owner: Option<String>,
}

/// A registered server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// IP address.
    pub address: String,
    /// Public identifier.
    pub uuid: String,
    /// Capacity and use, MB.
    pub capacity: ServerCapacity,
    /// Weight among servers.
    pub weight: i64,
    /// Owner's username, for dedicated servers.
    pub owner: Option<String>,
    /// Datacenter name.
    pub datacenter: Option<String>,
    /// The revision of the last change of this server's desired state.
    pub revision: i64,
}

const SERVER_SELECT: &str = "SELECT s.id, s.name, s.address, s.uuid, s.memory, s.storage, \
    s.used_memory, s.used_storage, s.weight, s.revision, u.username AS owner, d.name AS datacenter \
    FROM servers s LEFT JOIN users u ON u.customer_id = s.owner_id \
    LEFT JOIN datacenters d ON d.id = s.datacenter_id";

pub(crate) fn server_from_row(row: &sqlx::any::AnyRow) -> Result<Server> {
    Ok(Server {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        address: row.try_get("address")?,
        uuid: row.try_get("uuid")?,
        capacity: ServerCapacity {
            memory: row.try_get("memory")?,
            storage: row.try_get("storage")?,
            used_memory: row.try_get("used_memory")?,
            used_storage: row.try_get("used_storage")?,
        },
        weight: row.try_get("weight")?,
        revision: row.try_get("revision")?,
        owner: row.try_get("owner")?,
        datacenter: row.try_get("datacenter")?,
    })
}

impl Store {
    /// Registers a server.
    pub async fn add_server(&self, new: NewServer) -> Result<Server> {
        let name = server::name(&new.name)?;
        let address = server::address(&new.address)?;
        let memory = server::capacity_mb("memory", new.memory)?;
        let storage = server::capacity_mb("storage", new.storage)?;
        let owner_id = match &new.owner {
            Some(owner) => Some(self.customer_by_username(owner).await?.id),
            None => None,
        };
        let mut write = self.write().await?;
        let datacenter_id: Option<i64> = match &new.datacenter {
            Some(datacenter) => {
                let datacenter = berth_model::text::required_line("datacenter", datacenter, 64)?;
                let existing: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM datacenters WHERE name = $1")
                        .bind(&datacenter)
                        .fetch_optional(&mut *write.tx)
                        .await?;
                match existing {
                    Some(id) => Some(id),
                    None => Some(
                        sqlx::query_scalar(
                            "INSERT INTO datacenters (name) VALUES ($1) RETURNING id",
                        )
                        .bind(&datacenter)
                        .fetch_one(&mut *write.tx)
                        .await?,
                    ),
                }
            }
            None => None,
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO servers (name, address, uuid, memory, storage, weight, owner_id, datacenter_id, revision, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&name)
        .bind(&address)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(memory)
        .bind(storage)
        .bind(new.weight.unwrap_or(9999))
        .bind(owner_id)
        .bind(datacenter_id)
        .bind(write.revision)
        .bind(time::now())
        .fetch_one(&mut *write.tx)
        .await
        .map_err(conflict_on_unique(format!(
            "a server named {name} or with address {address} exists"
        )))?;
        write.commit().await?;
        self.server(id).await
    }

    /// The server with database id `id`.
    pub async fn server(&self, id: i64) -> Result<Server> {
        let row = sqlx::query(&format!("{SERVER_SELECT} WHERE s.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("server"))?;
        server_from_row(&row)
    }

    /// The server named `name`.
    pub async fn server_by_name(&self, name: &str) -> Result<Server> {
        let row = sqlx::query(&format!("{SERVER_SELECT} WHERE s.name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("server"))?;
        server_from_row(&row)
    }

    /// Every server, by name.
    pub async fn servers(&self) -> Result<Vec<Server>> {
        sqlx::query(&format!("{SERVER_SELECT} ORDER BY s.name"))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(server_from_row)
            .collect()
    }

    /// The server a customer owns, named by its address or its name.
    pub async fn owned_server(&self, customer_id: i64, address_or_name: &str) -> Result<Server> {
        let row = sqlx::query(&format!(
            "{SERVER_SELECT} WHERE s.owner_id = $1 AND (s.address = $2 OR s.name = $2)"
        ))
        .bind(customer_id)
        .bind(address_or_name.trim())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| {
            StoreError::Forbidden(format!(
                "{} is not a server you own",
                address_or_name.trim()
            ))
        })?;
        server_from_row(&row)
    }
}

/// Reads a server inside a write (whose revision bump already serialises writers).
pub(crate) async fn locked_server(write: &mut Write, server_id: i64) -> Result<Server> {
    let row = sqlx::query(
        "SELECT s.id, s.name, s.address, s.uuid, s.memory, s.storage, s.used_memory, \
         s.used_storage, s.weight, s.revision, NULL AS owner, NULL AS datacenter \
         FROM servers s WHERE s.id = $1",
    )
    .bind(server_id)
    .fetch_optional(&mut *write.tx)
    .await?
    .ok_or(StoreError::NotFound("server"))?;
    server_from_row(&row)
}
