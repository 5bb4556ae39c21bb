//! Alarms: each container keeps a ring of its newest `max_alarms` alarms. Storing one and
//! evicting the oldest happen in one write transaction, so concurrent raises never leave the
//! ring over its size.

use berth_model::alarm::{self, AlarmDetails, NewAlarm, Window};
use berth_model::container;
use sqlx::Row;

use crate::container_access::{container_ref, Actor};
use crate::filter::{Conditions, Param};
use crate::{time, Result, Store, StoreError};

/// A stored alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    /// Database id.
    pub id: i64,
    /// uid of the container it is about.
    pub container: i64,
    /// When it happened, unix seconds.
    pub unix: i64,
    /// What it says.
    pub details: AlarmDetails,
}

/// Which of a customer's alarms a list shows: every given field must match exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmFilter {
    /// Only this container's (its uid; another customer's container is refused).
    pub container: Option<i64>,
    /// Vassal.
    pub vassal: Option<String>,
    /// Class.
    pub class: Option<String>,
    /// Color, as stored (`#rrggbb`, lower case).
    pub color: Option<String>,
    /// Level.
    pub level: Option<i64>,
    /// Line.
    pub line: Option<i64>,
    /// Source file.
    pub filename: Option<String>,
    /// Function.
    pub func: Option<String>,
    /// The window of the matching alarms to return (all of them, newest first, when absent).
    pub window: Option<Window>,
    /// Also count the matching alarms.
    pub with_total: bool,
}

/// A page of alarms and how many matched before the window was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmList {
    /// The alarms in the window, in its order.
    pub alarms: Vec<Alarm>,
    /// How many alarms matched the filter, when asked for.
    pub total: Option<i64>,
}

const ALARM_SELECT: &str = "SELECT a.id, a.container_id, a.level, a.color, a.class, a.vassal, \
    a.filename, a.func, a.line, a.unix, a.msg FROM alarms a JOIN containers c ON c.id = a.container_id";

fn alarm_from_row(row: &sqlx::any::AnyRow) -> Result<Alarm> {
    Ok(Alarm {
        id: row.try_get("id")?,
        container: container::uid_of(row.try_get("container_id")?),
        unix: row.try_get("unix")?,
        details: AlarmDetails {
            level: row.try_get("level")?,
            color: row.try_get("color")?,
            class: row.try_get("class")?,
            vassal: row.try_get("vassal")?,
            filename: row.try_get("filename")?,
            func: row.try_get("func")?,
            line: row.try_get("line")?,
            msg: row.try_get("msg")?,
        },
    })
}

fn not_yours(id: i64) -> StoreError {
    StoreError::Forbidden(format!("alarm {id} is not one of yours"))
}

/// Whether two secrets are equal, in time that depends only on their lengths.
fn same_secret(given: &str, stored: &str) -> bool {
    given.len() == stored.len()
        && given
            .bytes()
            .zip(stored.bytes())
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}

impl Store {
    /// Stores a customer's alarm about their container `uid`, evicting the oldest alarms
    /// (by `unix`) that would overflow its ring.
    pub async fn raise_alarm(&self, customer_id: i64, uid: i64, alarm: &NewAlarm) -> Result<Alarm> {
        self.store_alarm(Actor::Customer(customer_id), uid, alarm)
            .await
    }

    /// Stores a platform alarm (level 0) about container `uid`, as its node reports it.
    pub async fn raise_system_alarm(&self, uid: i64, unix: i64, msg: &str) -> Result<Alarm> {
        let alarm = alarm::system_alarm(unix, msg)?;
        self.store_alarm(Actor::Staff, uid, &alarm).await
    }

    async fn store_alarm(&self, actor: Actor, uid: i64, alarm: &NewAlarm) -> Result<Alarm> {
        let unix = alarm.unix.unwrap_or_else(time::now);
        let mut write = self.write().await?;
        let owner = container_ref(&mut write.tx, actor, uid).await?;
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alarms WHERE container_id = $1")
            .bind(owner.id)
            .fetch_one(&mut *write.tx)
            .await?;
        let excess = alarm::ring_excess(stored, owner.max_alarms);
        if excess > 0 {
            sqlx::query(
                "DELETE FROM alarms WHERE id IN (SELECT id FROM alarms WHERE container_id = $1 \
                 ORDER BY unix, id LIMIT $2)",
            )
            .bind(owner.id)
            .bind(excess)
            .execute(&mut *write.tx)
            .await?;
        }
        let details = &alarm.details;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alarms (container_id, level, color, class, vassal, filename, func, line, \
             unix, msg) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(owner.id)
        .bind(details.level)
        .bind(&details.color)
        .bind(&details.class)
        .bind(&details.vassal)
        .bind(&details.filename)
        .bind(&details.func)
        .bind(details.line)
        .bind(unix)
        .bind(&details.msg)
        .fetch_one(&mut *write.tx)
        .await?;
        write.commit().await?;
        Ok(Alarm {
            id,
            container: uid,
            unix,
            details: details.clone(),
        })
    }

    /// A customer's alarms matching `filter`, newest first (or the window's order), and, when
    /// asked, how many matched before the window.
    pub async fn alarms(&self, customer_id: i64, filter: &AlarmFilter) -> Result<AlarmList> {
        let mut conn = self.pool().acquire().await?;
        let mut conditions = Conditions::default();
        conditions.add("c.customer_id = ?", [Param::Int(customer_id)]);
        if let Some(uid) = filter.container {
            let owner = container_ref(&mut conn, Actor::Customer(customer_id), uid).await?;
            conditions.add("a.container_id = ?", [Param::Int(owner.id)]);
        }
        for (column, value) in [
            ("a.vassal", &filter.vassal),
            ("a.class", &filter.class),
            ("a.color", &filter.color),
            ("a.filename", &filter.filename),
            ("a.func", &filter.func),
        ] {
            conditions.equal(column, value.clone().map(Param::Text));
        }
        conditions.equal("a.level", filter.level.map(Param::Int));
        conditions.equal("a.line", filter.line.map(Param::Int));
        let count_sql = format!(
            "SELECT COUNT(*) FROM alarms a JOIN containers c ON c.id = a.container_id WHERE {}",
            conditions.sql()
        );
        let total = if filter.with_total {
            Some(
                conditions
                    .bind(sqlx::query(&count_sql))
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?,
            )
        } else {
            None
        };
        let mut sql = format!("{ALARM_SELECT} WHERE {}", conditions.sql());
        let window = filter.window.unwrap_or(Window {
            oldest_first: false,
            offset: 0,
            limit: i64::MAX,
        });
        let next = conditions.bound() + 1;
        sql.push_str(&format!(
            " ORDER BY a.unix {order}, a.id {order} LIMIT ${next} OFFSET ${}",
            next + 1,
            order = if window.oldest_first { "ASC" } else { "DESC" },
        ));
        let alarms = conditions
            .bind(sqlx::query(&sql))
            .bind(window.limit)
            .bind(window.offset)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(alarm_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(AlarmList { alarms, total })
    }

    /// One of a customer's alarms.
    pub async fn alarm(&self, customer_id: i64, id: i64) -> Result<Alarm> {
        let row = sqlx::query(&format!(
            "{ALARM_SELECT} WHERE a.id = $1 AND c.customer_id = $2"
        ))
        .bind(id)
        .bind(customer_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_yours(id))?;
        alarm_from_row(&row)
    }

    /// Deletes one of a customer's alarms.
    pub async fn delete_alarm(&self, customer_id: i64, id: i64) -> Result<()> {
        let mut write = self.write().await?;
        let deleted = sqlx::query(
            "DELETE FROM alarms WHERE id = $1 AND container_id IN \
             (SELECT id FROM containers WHERE customer_id = $2)",
        )
        .bind(id)
        .bind(customer_id)
        .execute(&mut *write.tx)
        .await?
        .rows_affected();
        if deleted == 0 {
            return Err(not_yours(id));
        }
        write.commit().await
    }

    /// The customer who owns container `uid`, if `key` is its current alarm key.
    pub async fn alarm_key_holder(&self, uid: i64, key: &str) -> Result<Option<i64>> {
        let Some(id) = container::id_of(uid) else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT customer_id, alarm_key FROM containers WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let stored: Option<String> = row.try_get("alarm_key")?;
        Ok(match stored {
            Some(stored) if same_secret(key, &stored) => Some(row.try_get("customer_id")?),
            _ => None,
        })
    }

    /// Sets the size of container `uid`'s alarm ring (staff); alarms beyond it go on the next
    /// raise.
    pub async fn set_max_alarms(&self, uid: i64, max_alarms: i64) -> Result<()> {
        let max_alarms = alarm::ring_capacity(max_alarms)?;
        let mut write = self.write().await?;
        let owner = container_ref(&mut write.tx, Actor::Staff, uid).await?;
        sqlx::query("UPDATE containers SET max_alarms = $1 WHERE id = $2")
            .bind(max_alarms)
            .bind(owner.id)
            .execute(&mut *write.tx)
            .await?;
        write.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("", "abc"));
    }
}
