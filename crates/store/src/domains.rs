//! Domains: names a customer has proved with DNS (or staff assigned), unique across the
//! platform. Another customer's domain is "not found", as upstream, so ids reveal nothing.

use std::collections::HashMap;

use berth_model::domain::DomainName;
use sqlx::Row;

use crate::container_access::Actor;
use crate::error::conflict_on_unique;
use crate::tags::{self, clean_note};
use crate::write::Write;
use crate::{time, Result, Store, StoreError};

/// A domain as its owner (or staff) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Database id.
    pub id: i64,
    /// Public identifier.
    pub uuid: String,
    /// The name (`.example.com` for a wildcard).
    pub name: String,
    /// Database id of the owner.
    pub customer_id: i64,
    /// Owner's username.
    pub customer: String,
    /// Free note.
    pub note: Option<String>,
    /// Tag names, sorted.
    pub tags: Vec<String>,
}

const COLUMNS: &str = "d.id, d.uuid, d.name, d.customer_id, d.note, u.username";
const FROM: &str = "FROM domains d JOIN users u ON u.customer_id = d.customer_id";

fn domain_from_row(row: &sqlx::any::AnyRow) -> Result<Domain> {
    Ok(Domain {
        id: row.try_get("id")?,
        uuid: row.try_get("uuid")?,
        name: row.try_get("name")?,
        customer_id: row.try_get("customer_id")?,
        customer: row.try_get("username")?,
        note: row.try_get("note")?,
        tags: Vec::new(),
    })
}

/// The `d.customer_id = …` condition for `actor` (staff see every domain).
fn owned_by(actor: Actor, placeholder: usize) -> (String, Option<i64>) {
    match actor {
        Actor::Customer(id) => (format!("d.customer_id = ${placeholder}"), Some(id)),
        Actor::Staff => ("1 = 1".to_owned(), None),
    }
}

impl Store {
    /// A customer's domains by name; with tag names, only those carrying any of them (each
    /// once). Staff get every domain and no tag filter applies.
    pub async fn domains(&self, actor: Actor, any_of_tags: &[String]) -> Result<Vec<Domain>> {
        let (condition, customer_id) = owned_by(actor, 1);
        let mut sql = format!("SELECT {COLUMNS} {FROM} WHERE {condition}");
        if let (Some(_), false) = (customer_id, any_of_tags.is_empty()) {
            sql.push_str(&format!(
                " AND d.id IN (SELECT dt.domain_id FROM domain_tags dt JOIN tags t ON t.id = dt.tag_id \
                 WHERE t.customer_id = $1 AND t.name IN ({}))",
                tags::placeholders(2, any_of_tags.len())
            ));
        }
        sql.push_str(" ORDER BY d.name, d.id");
        let mut query = sqlx::query(&sql);
        if let Some(id) = customer_id {
            query = query.bind(id);
            for tag in any_of_tags {
                query = query.bind(tag);
            }
        }
        let mut domains = query
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(domain_from_row)
            .collect::<Result<Vec<_>>>()?;
        let (condition, customer_id) = owned_by(actor, 1);
        let mut tags_by_id: HashMap<i64, Vec<String>> = HashMap::new();
        let sql = format!(
            "SELECT dt.domain_id, t.name FROM domain_tags dt JOIN tags t ON t.id = dt.tag_id \
             JOIN domains d ON d.id = dt.domain_id WHERE {condition} ORDER BY t.name"
        );
        let mut query = sqlx::query(&sql);
        if let Some(id) = customer_id {
            query = query.bind(id);
        }
        for row in &query.fetch_all(self.pool()).await? {
            tags_by_id
                .entry(row.try_get("domain_id")?)
                .or_default()
                .push(row.try_get("name")?);
        }
        for domain in &mut domains {
            domain.tags = tags_by_id.remove(&domain.id).unwrap_or_default();
        }
        Ok(domains)
    }

    /// One of the customer's domains.
    pub async fn domain(&self, customer_id: i64, id: i64) -> Result<Domain> {
        let mut conn = self.pool().acquire().await?;
        load_domain(&mut conn, Actor::Customer(customer_id), DomainKey::Id(id)).await
    }

    /// Refuses a name somebody already holds: the caller (409 "you already have …") or
    /// another customer (409 "… belongs to another customer"). Checked before the DNS proof,
    /// so that a taken name costs no lookups, and again when the domain is created.
    pub async fn ensure_domain_free(&self, customer_id: i64, name: &DomainName) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        ensure_free(&mut conn, Actor::Customer(customer_id), name).await
    }

    /// Gives `name` to the customer: for a customer after a DNS proof, for staff
    /// ([`Store::assign_domain`]) without one.
    pub async fn create_domain(&self, customer_id: i64, name: &DomainName) -> Result<Domain> {
        let mut write = self.write().await?;
        let domain = insert(&mut write, Actor::Customer(customer_id), customer_id, name).await?;
        write.touch_domains().await?;
        write.commit().await?;
        Ok(domain)
    }

    /// Staff: gives `name` to the customer `username` without a DNS proof.
    pub async fn assign_domain(&self, name: &DomainName, username: &str) -> Result<Domain> {
        let customer = self.customer_by_username(username).await?;
        let mut write = self.write().await?;
        let domain = insert(&mut write, Actor::Staff, customer.id, name).await?;
        write.touch_domains().await?;
        write.commit().await?;
        Ok(domain)
    }

    /// Changes a domain's note (`Some(None)` clears it) and/or replaces its tags (names the
    /// customer has no tag for are dropped, as upstream).
    pub async fn update_domain(
        &self,
        customer_id: i64,
        id: i64,
        note: Option<Option<&str>>,
        tag_names: Option<&[String]>,
    ) -> Result<Domain> {
        let note = note.map(clean_note).transpose()?;
        let actor = Actor::Customer(customer_id);
        let mut write = self.write().await?;
        let current = load_domain(&mut write.tx, actor, DomainKey::Id(id)).await?;
        let note = note.unwrap_or(current.note);
        sqlx::query("UPDATE domains SET note = $1, updated_at = $2 WHERE id = $3")
            .bind(&note)
            .bind(time::now())
            .bind(id)
            .execute(&mut *write.tx)
            .await?;
        if let Some(names) = tag_names {
            sqlx::query("DELETE FROM domain_tags WHERE domain_id = $1")
                .bind(id)
                .execute(&mut *write.tx)
                .await?;
            for tag_id in tags::ids_by_names(&mut write.tx, customer_id, names).await? {
                sqlx::query("INSERT INTO domain_tags (domain_id, tag_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(tag_id)
                    .execute(&mut *write.tx)
                    .await?;
            }
        }
        let domain = load_domain(&mut write.tx, actor, DomainKey::Id(id)).await?;
        write.commit().await?;
        Ok(domain)
    }

    /// Deletes one of the customer's domains by id.
    pub async fn delete_domain(&self, customer_id: i64, id: i64) -> Result<()> {
        self.remove_domain(Actor::Customer(customer_id), DomainKey::Id(id))
            .await
    }

    /// Deletes a domain by name: one of the customer's, or any for staff.
    pub async fn delete_domain_named(&self, actor: Actor, name: &DomainName) -> Result<()> {
        self.remove_domain(actor, DomainKey::Name(name.as_str()))
            .await
    }

    async fn remove_domain(&self, actor: Actor, key: DomainKey<'_>) -> Result<()> {
        let mut write = self.write().await?;
        let domain = load_domain(&mut write.tx, actor, key).await?;
        sqlx::query("DELETE FROM domains WHERE id = $1")
            .bind(domain.id)
            .execute(&mut *write.tx)
            .await?;
        write.touch_domains().await?;
        write.commit().await
    }
}

/// How a domain is looked up.
#[derive(Debug, Clone, Copy)]
enum DomainKey<'a> {
    Id(i64),
    Name(&'a str),
}

async fn load_domain(
    conn: &mut sqlx::AnyConnection,
    actor: Actor,
    key: DomainKey<'_>,
) -> Result<Domain> {
    let (condition, customer_id) = owned_by(actor, 2);
    let column = match key {
        DomainKey::Id(_) => "d.id",
        DomainKey::Name(_) => "d.name",
    };
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE {column} = $1 AND {condition}");
    let query = match key {
        DomainKey::Id(id) => sqlx::query(&sql).bind(id),
        DomainKey::Name(name) => sqlx::query(&sql).bind(name),
    };
    let query = match customer_id {
        Some(id) => query.bind(id),
        None => query,
    };
    let row = query
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("domain"))?;
    let mut domain = domain_from_row(&row)?;
    domain.tags = sqlx::query_scalar(
        "SELECT t.name FROM domain_tags dt JOIN tags t ON t.id = dt.tag_id \
         WHERE dt.domain_id = $1 ORDER BY t.name",
    )
    .bind(domain.id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(domain)
}

/// The conflict for a name already held, worded for who asks: staff learn the holder.
async fn ensure_free(
    conn: &mut sqlx::AnyConnection,
    actor: Actor,
    name: &DomainName,
) -> Result<()> {
    let holder = sqlx::query(
        "SELECT d.customer_id, u.username FROM domains d \
         JOIN users u ON u.customer_id = d.customer_id WHERE d.name = $1",
    )
    .bind(name.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(holder) = holder else {
        return Ok(());
    };
    let holder_id: i64 = holder.try_get("customer_id")?;
    Err(StoreError::Conflict(match actor {
        Actor::Customer(id) if id == holder_id => format!("you already have the domain {name}"),
        Actor::Customer(_) => format!("the domain {name} belongs to another customer"),
        Actor::Staff => format!(
            "the domain {name} belongs to {}",
            holder.try_get::<String, _>("username")?
        ),
    }))
}

async fn insert(
    write: &mut Write,
    actor: Actor,
    customer_id: i64,
    name: &DomainName,
) -> Result<Domain> {
    ensure_free(&mut write.tx, actor, name).await?;
    let now = time::now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO domains (uuid, name, customer_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(name.as_str())
    .bind(customer_id)
    .bind(now)
    .fetch_one(&mut *write.tx)
    .await
    .map_err(conflict_on_unique(format!("the domain {name} is taken")))?;
    load_domain(&mut write.tx, Actor::Staff, DomainKey::Id(id)).await
}
