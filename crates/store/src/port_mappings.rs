//! Port mappings on dedicated servers: a public port forwarded to a container's port. Every
//! change stamps the server's revision, so its node re-applies the forwarding rules.

use berth_model::container;
use berth_model::portmap::{self, Protocol};
use sqlx::Row;

use crate::container_access::{container_ref, Actor};
use crate::error::conflict_on_unique;
use crate::{time, Result, Store, StoreError};

/// A port mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// Database id.
    pub id: i64,
    /// Transport.
    pub proto: Protocol,
    /// The server's public port.
    pub public_port: i64,
    /// The container's uid.
    pub container: i64,
    /// The container's private address.
    pub container_ip: String,
    /// The container's port.
    pub private_port: i64,
}

/// A mapping to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPortMapping {
    /// The container's uid.
    pub container: i64,
    /// Transport.
    pub proto: Protocol,
    /// The server's public port.
    pub public_port: i64,
    /// The container's port.
    pub private_port: i64,
}

fn mapping_from_row(row: &sqlx::any::AnyRow) -> Result<PortMapping> {
    let id: i64 = row.try_get("container_id")?;
    let proto: String = row.try_get("proto")?;
    Ok(PortMapping {
        id: row.try_get("id")?,
        proto: proto.parse()?,
        public_port: row.try_get("public_port")?,
        container: container::uid_of(id),
        container_ip: container::ip_of(id).to_string(),
        private_port: row.try_get("private_port")?,
    })
}

impl Store {
    /// The port mappings of a server the customer owns (named by address or name).
    pub async fn port_mappings(&self, customer_id: i64, server: &str) -> Result<Vec<PortMapping>> {
        let server = self.owned_server(customer_id, server).await?;
        self.server_port_mappings(server.id).await
    }

    /// Every port mapping of server `server_id`.
    pub(crate) async fn server_port_mappings(&self, server_id: i64) -> Result<Vec<PortMapping>> {
        sqlx::query(
            "SELECT id, container_id, proto, public_port, private_port FROM port_mappings \
             WHERE server_id = $1 ORDER BY proto, public_port",
        )
        .bind(server_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(mapping_from_row)
        .collect()
    }

    /// Maps a public port of a server the customer owns to one of their containers on it. A
    /// public port already mapped on that server, or a container port already reached, is a
    /// conflict.
    pub async fn add_port_mapping(
        &self,
        customer_id: i64,
        server: &str,
        mapping: NewPortMapping,
    ) -> Result<PortMapping> {
        let public_port = portmap::public_port(mapping.public_port)?;
        let private_port = portmap::private_port(mapping.private_port)?;
        let server = self.owned_server(customer_id, server).await?;
        let mut write = self.write().await?;
        let target = container_ref(
            &mut write.tx,
            Actor::Customer(customer_id),
            mapping.container,
        )
        .await?;
        if target.server_id != server.id {
            return Err(StoreError::Forbidden(format!(
                "container {} does not run on {}",
                mapping.container, server.address
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO port_mappings \
             (server_id, container_id, proto, public_port, private_port, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(server.id)
        .bind(target.id)
        .bind(mapping.proto.as_str())
        .bind(public_port)
        .bind(private_port)
        .bind(time::now())
        .fetch_one(&mut *write.tx)
        .await
        .map_err(conflict_on_unique(format!(
            "{} port {public_port} of {} or port {private_port} of container {} is already mapped",
            mapping.proto, server.address, mapping.container
        )))?;
        write.touch_server(server.id).await?;
        write.commit().await?;
        Ok(PortMapping {
            id,
            proto: mapping.proto,
            public_port,
            container: mapping.container,
            container_ip: container::ip_of(target.id).to_string(),
            private_port,
        })
    }

    /// Removes a mapping from a server the customer owns.
    pub async fn delete_port_mapping(&self, customer_id: i64, server: &str, id: i64) -> Result<()> {
        let server = self.owned_server(customer_id, server).await?;
        let mut write = self.write().await?;
        let deleted = sqlx::query("DELETE FROM port_mappings WHERE id = $1 AND server_id = $2")
            .bind(id)
            .bind(server.id)
            .execute(&mut *write.tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::Forbidden(format!(
                "port mapping {id} is not on {}",
                server.address
            )));
        }
        write.touch_server(server.id).await?;
        write.commit().await
    }
}
