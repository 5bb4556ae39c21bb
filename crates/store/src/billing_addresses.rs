//! Billing addresses: where a customer's bills go. A customer has at most one active
//! address; adding one deactivates the previous one, whose bills and orders keep it.

use berth_model::billing::BillingAddress;
use sqlx::Row;

use crate::{time, Result, Store, StoreError};

/// A stored billing address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAddress {
    /// Database id.
    pub id: i64,
    /// The address.
    pub address: BillingAddress,
    /// Whether new orders are billed to it.
    pub active: bool,
}

pub(crate) fn address_from_row(row: &sqlx::any::AnyRow) -> Result<StoredAddress> {
    Ok(StoredAddress {
        id: row.try_get("id")?,
        address: BillingAddress {
            name: row.try_get("name")?,
            street: row.try_get("street")?,
            postal_code: row.try_get("postal_code")?,
            city: row.try_get("city")?,
            country: row.try_get("country")?,
            vat_number: row.try_get("vat_number")?,
        },
        active: row.try_get::<i64, _>("active")? != 0,
    })
}

pub(crate) const ADDRESS_COLUMNS: &str =
    "id, name, street, postal_code, city, country, vat_number, active";

impl Store {
    /// A customer's addresses, the active one first, then newest first.
    pub async fn billing_addresses(&self, customer_id: i64) -> Result<Vec<StoredAddress>> {
        let sql = format!(
            "SELECT {ADDRESS_COLUMNS} FROM billing_addresses WHERE customer_id = $1 \
             ORDER BY active DESC, id DESC"
        );
        sqlx::query(&sql)
            .bind(customer_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(address_from_row)
            .collect()
    }

    /// Adds an address and makes it the active one.
    pub async fn set_billing_address(
        &self,
        customer_id: i64,
        address: &BillingAddress,
    ) -> Result<StoredAddress> {
        let mut write = self.write().await?;
        sqlx::query("UPDATE billing_addresses SET active = 0 WHERE customer_id = $1")
            .bind(customer_id)
            .execute(&mut *write.tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO billing_addresses (customer_id, name, street, postal_code, city, \
             country, vat_number, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) \
             RETURNING id",
        )
        .bind(customer_id)
        .bind(&address.name)
        .bind(&address.street)
        .bind(&address.postal_code)
        .bind(&address.city)
        .bind(&address.country)
        .bind(&address.vat_number)
        .bind(time::now())
        .fetch_one(&mut *write.tx)
        .await?;
        write.commit().await?;
        Ok(StoredAddress {
            id,
            address: address.clone(),
            active: true,
        })
    }

    /// The customer's active address; a conflict when there is none, since nothing can be
    /// ordered without one.
    pub async fn active_billing_address(&self, customer_id: i64) -> Result<StoredAddress> {
        let sql = format!(
            "SELECT {ADDRESS_COLUMNS} FROM billing_addresses WHERE customer_id = $1 AND active = 1"
        );
        let row = sqlx::query(&sql)
            .bind(customer_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| {
                StoreError::Conflict("add a billing address before ordering".to_owned())
            })?;
        address_from_row(&row)
    }
}
