//! Legions (`legions`, `legion_nodes`): groups of servers sharing a failover address. Every
//! change wakes the nodes of the servers it concerns, whose keepalived then follows.

use berth_model::legion::{self, LegionMember, LegionSpec};
use sqlx::Row;

use crate::error::conflict_on_unique;
use crate::write::Write;
use crate::{Result, Store, StoreError};

/// A legion with its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Legion {
    /// Database id (its VRRP virtual router id derives from it).
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The failover address.
    pub address: String,
    /// Public identifier.
    pub uuid: String,
    /// Staff's note.
    pub note: Option<String>,
    /// Its servers, by address.
    pub members: Vec<LegionMember>,
}

const MEMBERS: &str = "SELECT n.legion_id, s.name, s.address, n.weight FROM legion_nodes n \
    JOIN servers s ON s.id = n.server_id";

impl Store {
    /// Creates a legion with failover address `address` and no members yet. The name and the
    /// address are each one legion's.
    pub async fn create_legion(
        &self,
        name: &str,
        address: &str,
        note: Option<&str>,
    ) -> Result<Legion> {
        let name = legion::name(name)?;
        let address = legion::address(address)?;
        let note = note
            .map(|text| berth_model::text::note("note", text, 4096))
            .transpose()?;
        let mut write = self.write().await?;
        let taken: Option<String> =
            sqlx::query_scalar("SELECT name FROM legions WHERE address = $1")
                .bind(&address)
                .fetch_optional(&mut *write.tx)
                .await?;
        if let Some(other) = taken {
            return Err(StoreError::Conflict(format!(
                "legion {other} already has the address {address}"
            )));
        }
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
        let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query(
            "INSERT INTO legions (name, address, uuid, note, legion_key) VALUES ($1, $2, $3, $4, $5)",
        )
            .bind(&name)
            .bind(&address)
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&note)
            .bind(&key)
            .execute(&mut *write.tx)
            .await
            .map_err(conflict_on_unique(format!("a legion named {name} exists")))?;
        write.commit().await?;
        self.legion(&name).await
    }

    /// The legion named `name`.
    pub async fn legion(&self, name: &str) -> Result<Legion> {
        let row = sqlx::query("SELECT id, name, address, uuid, note FROM legions WHERE name = $1")
            .bind(name.trim())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("legion"))?;
        let mut legion = legion_from_row(&row)?;
        legion.members = self
            .members(Some(legion.id))
            .await?
            .into_values()
            .next()
            .unwrap_or_default();
        Ok(legion)
    }

    /// Every legion with its members, by name.
    pub async fn legions(&self) -> Result<Vec<Legion>> {
        let rows = sqlx::query("SELECT id, name, address, uuid, note FROM legions ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        let mut members = self.members(None).await?;
        rows.iter()
            .map(|row| {
                let mut legion = legion_from_row(row)?;
                legion.members = members.remove(&legion.id).unwrap_or_default();
                Ok(legion)
            })
            .collect()
    }

    /// Puts server `server` (its name) in legion `name` with `weight` (default
    /// [`legion::DEFAULT_WEIGHT`]); a server already in it only takes the new weight.
    pub async fn add_legion_member(
        &self,
        name: &str,
        server: &str,
        weight: Option<i64>,
    ) -> Result<Legion> {
        let weight = legion::weight(weight.unwrap_or(legion::DEFAULT_WEIGHT))?;
        let legion = self.legion(name).await?;
        let server = self.server_by_name(server).await?;
        let mut write = self.write().await?;
        let updated = sqlx::query(
            "UPDATE legion_nodes SET weight = $1 WHERE legion_id = $2 AND server_id = $3",
        )
        .bind(weight)
        .bind(legion.id)
        .bind(server.id)
        .execute(&mut *write.tx)
        .await?
        .rows_affected();
        if updated == 0 {
            sqlx::query(
                "INSERT INTO legion_nodes (legion_id, server_id, weight) VALUES ($1, $2, $3)",
            )
            .bind(legion.id)
            .bind(server.id)
            .bind(weight)
            .execute(&mut *write.tx)
            .await
            .map_err(conflict_on_unique(format!(
                "{} is already in legion {}",
                server.name, legion.name
            )))?;
        }
        touch_members(&mut write, legion.id).await?;
        write.commit().await?;
        self.legion(&legion.name).await
    }

    /// Takes server `server` (its name) out of legion `name`.
    pub async fn remove_legion_member(&self, name: &str, server: &str) -> Result<Legion> {
        let legion = self.legion(name).await?;
        let server = self.server_by_name(server).await?;
        let mut write = self.write().await?;
        // Before the member goes, so that its node lets the address go too.
        touch_members(&mut write, legion.id).await?;
        let removed =
            sqlx::query("DELETE FROM legion_nodes WHERE legion_id = $1 AND server_id = $2")
                .bind(legion.id)
                .bind(server.id)
                .execute(&mut *write.tx)
                .await?
                .rows_affected();
        if removed == 0 {
            return Err(StoreError::Conflict(format!(
                "{} is not in legion {}",
                server.name, legion.name
            )));
        }
        write.commit().await?;
        self.legion(&legion.name).await
    }

    /// Deletes legion `name`; its servers leave it.
    pub async fn delete_legion(&self, name: &str) -> Result<()> {
        let legion = self.legion(name).await?;
        let mut write = self.write().await?;
        touch_members(&mut write, legion.id).await?;
        sqlx::query("DELETE FROM legion_nodes WHERE legion_id = $1")
            .bind(legion.id)
            .execute(&mut *write.tx)
            .await?;
        sqlx::query("DELETE FROM legions WHERE id = $1")
            .bind(legion.id)
            .execute(&mut *write.tx)
            .await?;
        write.commit().await
    }

    /// The legions server `server_id` (at `address`) belongs to, as its node realises them.
    pub async fn server_legions(&self, server_id: i64, address: &str) -> Result<Vec<LegionSpec>> {
        let rows = sqlx::query(
            "SELECT l.id, l.name, l.address, l.legion_key FROM legions l \
             JOIN legion_nodes n ON n.legion_id = l.id WHERE n.server_id = $1 ORDER BY l.name",
        )
        .bind(server_id)
        .fetch_all(self.pool())
        .await?;
        let mut specs = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let members = self
                .members(Some(id))
                .await?
                .into_values()
                .next()
                .unwrap_or_default();
            let weight = members
                .iter()
                .find(|m| m.address == address)
                .map_or(legion::DEFAULT_WEIGHT, |m| m.weight);
            specs.push(LegionSpec {
                id,
                name: row.try_get("name")?,
                address: row.try_get("address")?,
                weight,
                members,
                key: row.try_get("legion_key")?,
            });
        }
        Ok(specs)
    }

    /// The members of legion `legion_id` (or of every legion), by legion, by address.
    async fn members(
        &self,
        legion_id: Option<i64>,
    ) -> Result<std::collections::BTreeMap<i64, Vec<LegionMember>>> {
        let rows = match legion_id {
            Some(id) => {
                sqlx::query(&format!(
                    "{MEMBERS} WHERE n.legion_id = $1 ORDER BY s.address"
                ))
                .bind(id)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(&format!("{MEMBERS} ORDER BY s.address"))
                    .fetch_all(self.pool())
                    .await?
            }
        };
        let mut members: std::collections::BTreeMap<i64, Vec<LegionMember>> = Default::default();
        for row in &rows {
            members
                .entry(row.try_get("legion_id")?)
                .or_default()
                .push(LegionMember {
                    name: row.try_get("name")?,
                    address: row.try_get("address")?,
                    weight: row.try_get("weight")?,
                });
        }
        Ok(members)
    }
}

fn legion_from_row(row: &sqlx::any::AnyRow) -> Result<Legion> {
    Ok(Legion {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        address: row.try_get("address")?,
        uuid: row.try_get("uuid")?,
        note: row.try_get("note")?,
        members: Vec::new(),
    })
}

/// Wakes the nodes of every member of legion `legion_id` in this write.
async fn touch_members(write: &mut Write, legion_id: i64) -> Result<()> {
    let servers: Vec<i64> =
        sqlx::query_scalar("SELECT server_id FROM legion_nodes WHERE legion_id = $1")
            .bind(legion_id)
            .fetch_all(&mut *write.tx)
            .await?;
    for server in servers {
        write.touch_server(server).await?;
    }
    Ok(())
}
