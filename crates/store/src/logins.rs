//! Logins: the users behind HTTP credentials, customers and staff alike.

use berth_model::account;
use sqlx::Row;

use crate::customers::blocking;
use crate::error::conflict_on_unique;
use crate::{passwords, time, Result, Store, StoreError};

/// What authentication needs to know about a user, read in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Database id of the user.
    pub user_id: i64,
    /// The stored argon2 PHC string.
    pub password_hash: String,
    /// Whether the account may log in.
    pub is_active: bool,
    /// Whether the user is platform staff.
    pub is_staff: bool,
    /// The customer the user is, if any.
    pub customer_id: Option<i64>,
    /// That customer's profile, read in the same query.
    pub profile: Option<Profile>,
}

/// A customer's own profile fields, as `/me` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Public identifier.
    pub uuid: String,
    /// Contact address.
    pub email: String,
    /// Company name.
    pub company: Option<String>,
    /// VAT number.
    pub vat: Option<String>,
}

impl Store {
    /// The user who logs in as `username`, if any.
    pub async fn login(&self, username: &str) -> Result<Option<Login>> {
        let row = sqlx::query(
            "SELECT u.id, u.password_hash, u.is_active, u.is_staff, u.customer_id, \
             c.uuid, c.email, c.company, c.vat \
             FROM users u LEFT JOIN customers c ON c.id = u.customer_id WHERE u.username = $1",
        )
        .bind(username)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(Login {
                user_id: row.try_get("id")?,
                password_hash: row.try_get("password_hash")?,
                is_active: row.try_get::<i64, _>("is_active")? != 0,
                is_staff: row.try_get::<i64, _>("is_staff")? != 0,
                customer_id: row.try_get("customer_id")?,
                profile: match row.try_get::<Option<String>, _>("uuid")? {
                    Some(uuid) => Some(Profile {
                        uuid,
                        email: row.try_get("email")?,
                        company: row.try_get("company")?,
                        vat: row.try_get("vat")?,
                    }),
                    None => None,
                },
            })
        })
        .transpose()
    }

    /// Creates a staff user (no customer account).
    pub async fn create_staff(&self, username: &str, password: &str) -> Result<()> {
        let username = account::username(username)?;
        let password = account::password(password)?;
        let hash = blocking(move || passwords::hash(&password)).await?;
        let mut write = self.write().await?;
        sqlx::query(
            "INSERT INTO users (username, password_hash, is_staff, created_at) VALUES ($1, $2, 1, $3)",
        )
        .bind(&username)
        .bind(hash)
        .bind(time::now())
        .execute(&mut *write.tx)
        .await
        .map_err(conflict_on_unique(format!("the username {username} is taken")))?;
        write.commit().await
    }

    /// Sets the password of any user (customer or staff), by username.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<()> {
        let password = account::password(password)?;
        let hash = blocking(move || passwords::hash(&password)).await?;
        let mut write = self.write().await?;
        let changed = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(hash)
            .bind(username)
            .execute(&mut *write.tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound("user"));
        }
        write.commit().await
    }

    /// Whether a user with this name exists.
    pub async fn user_exists(&self, username: &str) -> Result<bool> {
        Ok(self.login(username).await?.is_some())
    }
}
