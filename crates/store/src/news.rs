//! News: announcements staff publish; public ones are shown to visitors too.

use berth_model::news;
use sqlx::Row;

use crate::{time, Result, Store};

/// A news item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct News {
    /// Database id.
    pub id: i64,
    /// The text.
    pub content: String,
    /// Shown to visitors who are not logged in.
    pub public: bool,
    /// When it was published, unix seconds.
    pub created_at: i64,
}

impl Store {
    /// Publishes a news item now.
    pub async fn add_news(&self, content: &str, public: bool) -> Result<News> {
        let content = news::content(content)?;
        let created_at = time::now();
        let mut write = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO news (content, public, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(&content)
        .bind(i64::from(public))
        .bind(created_at)
        .fetch_one(&mut *write.tx)
        .await?;
        write.commit().await?;
        Ok(News {
            id,
            content,
            public,
            created_at,
        })
    }

    /// News, newest first: only the public items unless `include_private`, at most `limit`
    /// of them when given.
    pub async fn news(&self, include_private: bool, limit: Option<i64>) -> Result<Vec<News>> {
        let mut sql = "SELECT id, content, public, created_at FROM news".to_owned();
        if !include_private {
            sql.push_str(" WHERE public <> 0");
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC");
        if limit.is_some() {
            sql.push_str(" LIMIT $1");
        }
        let mut query = sqlx::query(&sql);
        if let Some(limit) = limit {
            query = query.bind(limit);
        }
        query
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| {
                Ok(News {
                    id: row.try_get("id")?,
                    content: row.try_get("content")?,
                    public: row.try_get::<i64, _>("public")? != 0,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}
