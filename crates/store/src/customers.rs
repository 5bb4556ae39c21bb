//! Customers: the accounts that own containers, domains and tags, each with a login and a
//! subscription-signing keypair.

use berth_model::account;
use sqlx::Row;

use crate::error::conflict_on_unique;
use crate::{keys, passwords, time, Result, Store, StoreError};

/// What it takes to open a customer account.
#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    /// Login name.
    pub username: String,
    /// Initial password.
    pub password: String,
    /// Contact address (may be empty).
    pub email: String,
    /// Company name.
    pub company: Option<String>,
    /// VAT number.
    pub vat: Option<String>,
}

/// A customer account as the API shows it to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Database id.
    pub id: i64,
    /// Public identifier; domains are proved with a TXT record `uwsgi:<uuid>`.
    pub uuid: String,
    /// Login name.
    pub username: String,
    /// Contact address.
    pub email: String,
    /// Company name.
    pub company: Option<String>,
    /// VAT number.
    pub vat: Option<String>,
    /// Subscription-verification key (PEM).
    pub public_key_pem: String,
}

/// A change of a customer's own profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// New contact address.
    pub email: Option<String>,
    /// New company name.
    pub company: Option<String>,
    /// New VAT number.
    pub vat: Option<String>,
    /// New password.
    pub password: Option<String>,
}

/// One line of the staff's customer list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerListing {
    /// The customer.
    pub customer: Customer,
    /// How many containers it has.
    pub containers: i64,
}

const CUSTOMER_COLUMNS: &str =
    "c.id, c.uuid, u.username, c.email, c.company, c.vat, c.rsa_public_key";

fn customer_from_row(row: &sqlx::any::AnyRow) -> Result<Customer> {
    Ok(Customer {
        id: row.try_get("id")?,
        uuid: row.try_get("uuid")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        company: row.try_get("company")?,
        vat: row.try_get("vat")?,
        public_key_pem: row.try_get("rsa_public_key")?,
    })
}

/// Runs CPU-heavy crypto off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StoreError::Crypto(format!("worker failed: {error}")))?
}

fn optional(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

impl Store {
    /// Opens a customer account: validates it, generates its keypair and hashes its password.
    pub async fn create_customer(&self, new: NewCustomer) -> Result<Customer> {
        let username = account::username(&new.username)?;
        let password = account::password(&new.password)?;
        let email = account::email(&new.email)?;
        let company = new.company.as_deref().map(account::company).transpose()?;
        let vat = new.vat.as_deref().map(account::vat).transpose()?;
        let (keypair, password_hash) =
            blocking(move || Ok((keys::generate()?, passwords::hash(&password)?))).await?;
        let now = time::now();
        let mut write = self.write().await?;
        let customer_id: i64 = sqlx::query_scalar(
            "INSERT INTO customers (uuid, email, company, vat, rsa_private_key, rsa_public_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&email)
        .bind(optional(company))
        .bind(optional(vat))
        .bind(&keypair.private_pem)
        .bind(&keypair.public_pem)
        .bind(now)
        .fetch_one(&mut *write.tx)
        .await?;
        sqlx::query(
            "INSERT INTO users (username, password_hash, customer_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&username)
        .bind(&password_hash)
        .bind(customer_id)
        .bind(now)
        .execute(&mut *write.tx)
        .await
        .map_err(conflict_on_unique(format!("the username {username} is taken")))?;
        write.commit().await?;
        self.customer(customer_id).await
    }

    /// The customer with database id `id`.
    pub async fn customer(&self, id: i64) -> Result<Customer> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers c JOIN users u ON u.customer_id = c.id WHERE c.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("customer"))?;
        customer_from_row(&row)
    }

    /// The customer who logs in as `username`.
    pub async fn customer_by_username(&self, username: &str) -> Result<Customer> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers c JOIN users u ON u.customer_id = c.id WHERE u.username = $1"
        );
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("customer"))?;
        customer_from_row(&row)
    }

    /// Every customer, by username, with their container count.
    pub async fn customers(&self) -> Result<Vec<CustomerListing>> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS}, \
             (SELECT COUNT(*) FROM containers k WHERE k.customer_id = c.id) AS containers \
             FROM customers c JOIN users u ON u.customer_id = c.id ORDER BY u.username"
        );
        sqlx::query(&sql)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| {
                Ok(CustomerListing {
                    customer: customer_from_row(row)?,
                    containers: row.try_get("containers")?,
                })
            })
            .collect()
    }

    /// The container uids and the addresses of the servers a customer owns, for `/me`, in
    /// one query.
    pub async fn customer_holdings(&self, customer_id: i64) -> Result<(Vec<i64>, Vec<String>)> {
        let rows = sqlx::query(
            "SELECT CAST(0 AS BIGINT) AS kind, id, '' AS address FROM containers WHERE customer_id = $1 \
             UNION ALL \
             SELECT CAST(1 AS BIGINT) AS kind, CAST(0 AS BIGINT) AS id, address FROM servers WHERE owner_id = $1 \
             ORDER BY kind, id, address",
        )
        .bind(customer_id)
        .fetch_all(self.pool())
        .await?;
        let mut containers = Vec::new();
        let mut servers = Vec::new();
        for row in &rows {
            if row.try_get::<i64, _>("kind")? == 0 {
                containers.push(berth_model::container::uid_of(row.try_get("id")?));
            } else {
                servers.push(row.try_get("address")?);
            }
        }
        Ok((containers, servers))
    }

    /// Changes a customer's own profile; every field is validated before anything is written.
    pub async fn update_profile(
        &self,
        customer_id: i64,
        update: ProfileUpdate,
    ) -> Result<Customer> {
        let email = update.email.as_deref().map(account::email).transpose()?;
        let company = update
            .company
            .as_deref()
            .map(account::company)
            .transpose()?;
        let vat = update.vat.as_deref().map(account::vat).transpose()?;
        let password_hash = match update.password {
            Some(password) => {
                let password = account::password(&password)?;
                Some(blocking(move || passwords::hash(&password)).await?)
            }
            None => None,
        };
        let mut write = self.write().await?;
        // Read inside the write, after the revision bump has serialised writers.
        let current = sqlx::query("SELECT email, company, vat FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(&mut *write.tx)
            .await?
            .ok_or(StoreError::NotFound("customer"))?;
        let current_email: String = current.try_get("email")?;
        let current_company: Option<String> = current.try_get("company")?;
        let current_vat: Option<String> = current.try_get("vat")?;
        sqlx::query("UPDATE customers SET email = $1, company = $2, vat = $3 WHERE id = $4")
            .bind(email.unwrap_or(current_email))
            .bind(company.map_or(current_company, |c| optional(Some(c))))
            .bind(vat.map_or(current_vat, |v| optional(Some(v))))
            .bind(customer_id)
            .execute(&mut *write.tx)
            .await?;
        if let Some(hash) = password_hash {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE customer_id = $2")
                .bind(hash)
                .bind(customer_id)
                .execute(&mut *write.tx)
                .await?;
        }
        write.commit().await?;
        self.customer(customer_id).await
    }
}
