//! Tags: per-customer labels for containers (and later domains and loopboxes).

use berth_model::{tag, text};
use sqlx::Row;

use crate::error::conflict_on_unique;
use crate::{Result, Store, StoreError};

/// A customer's tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Database id.
    pub id: i64,
    /// Name, unique per customer.
    pub name: String,
    /// Free note.
    pub note: Option<String>,
}

fn tag_from_row(row: &sqlx::any::AnyRow) -> Result<Tag> {
    Ok(Tag {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        note: row.try_get("note")?,
    })
}

/// A note as stored: checked, and `None` when empty.
pub(crate) fn clean_note(note: Option<&str>) -> Result<Option<String>> {
    Ok(note
        .map(|note| text::note("note", note, text::NOTE_MAX))
        .transpose()?
        .filter(|note| !note.is_empty()))
}

impl Store {
    /// A customer's tags, by name.
    pub async fn tags(&self, customer_id: i64) -> Result<Vec<Tag>> {
        sqlx::query("SELECT id, name, note FROM tags WHERE customer_id = $1 ORDER BY name")
            .bind(customer_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(tag_from_row)
            .collect()
    }

    /// One of a customer's tags.
    pub async fn tag(&self, customer_id: i64, id: i64) -> Result<Tag> {
        let row = sqlx::query("SELECT id, name, note FROM tags WHERE customer_id = $1 AND id = $2")
            .bind(customer_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("tag"))?;
        tag_from_row(&row)
    }

    /// Creates a tag; a name the customer already uses is a conflict.
    pub async fn create_tag(
        &self,
        customer_id: i64,
        name: &str,
        note: Option<&str>,
    ) -> Result<Tag> {
        let name = tag::name(name)?;
        let note = clean_note(note)?;
        let mut write = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tags (customer_id, name, note) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(customer_id)
        .bind(&name)
        .bind(&note)
        .fetch_one(&mut *write.tx)
        .await
        .map_err(conflict_on_unique(format!(
            "you already have a tag named {name}"
        )))?;
        write.commit().await?;
        Ok(Tag { id, name, note })
    }

    /// Renames a tag or changes its note.
    pub async fn update_tag(
        &self,
        customer_id: i64,
        id: i64,
        name: Option<&str>,
        note: Option<Option<&str>>,
    ) -> Result<Tag> {
        let name = name.map(tag::name).transpose()?;
        let note = note.map(clean_note).transpose()?;
        let current = self.tag(customer_id, id).await?;
        let mut write = self.write().await?;
        let name = name.unwrap_or(current.name);
        let note = note.unwrap_or(current.note);
        let changed =
            sqlx::query("UPDATE tags SET name = $1, note = $2 WHERE id = $3 AND customer_id = $4")
                .bind(&name)
                .bind(&note)
                .bind(id)
                .bind(customer_id)
                .execute(&mut *write.tx)
                .await
                .map_err(conflict_on_unique(format!(
                    "you already have a tag named {name}"
                )))?
                .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound("tag"));
        }
        write.commit().await?;
        Ok(Tag { id, name, note })
    }

    /// Deletes a tag, detaching it from everything.
    pub async fn delete_tag(&self, customer_id: i64, id: i64) -> Result<()> {
        let mut write = self.write().await?;
        let deleted = sqlx::query("DELETE FROM tags WHERE id = $1 AND customer_id = $2")
            .bind(id)
            .bind(customer_id)
            .execute(&mut *write.tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound("tag"));
        }
        write.commit().await
    }
}

/// The ids of a customer's tags named in `names`; unknown names are dropped (as upstream).
pub(crate) async fn ids_by_names(
    conn: &mut sqlx::AnyConnection,
    customer_id: i64,
    names: &[String],
) -> Result<Vec<i64>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id FROM tags WHERE customer_id = $1 AND name IN ({})",
        placeholders(2, names.len())
    );
    let mut query = sqlx::query_scalar(&sql).bind(customer_id);
    for name in names {
        query = query.bind(name);
    }
    Ok(query.fetch_all(conn).await?)
}

/// `count` numbered placeholders from `$first`, comma-separated, for an `IN (…)` list.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
