//! VAT rates, imported from the vat-rates CSV (spec §6.3).

use berth_model::billing::VatRateRow;
use sqlx::Row;

use crate::products::decimal;
use crate::{Result, Store};

pub(crate) async fn all_rates(conn: &mut sqlx::AnyConnection) -> Result<Vec<VatRateRow>> {
    sqlx::query(
        "SELECT starts_at, stops_at, territories, currency, rate, rate_type, description \
         FROM vat_rates ORDER BY id",
    )
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| {
        let territories: String = row.try_get("territories")?;
        Ok(VatRateRow {
            starts_at: row.try_get("starts_at")?,
            stops_at: row.try_get("stops_at")?,
            territories: territories.lines().map(str::to_owned).collect(),
            currency: row.try_get("currency")?,
            rate: decimal(row, "rate")?,
            rate_type: row.try_get("rate_type")?,
            description: row.try_get("description")?,
        })
    })
    .collect()
}

impl Store {
    /// Every VAT rate, in the order of the imported file.
    pub async fn vat_rates(&self) -> Result<Vec<VatRateRow>> {
        let mut conn = self.pool().acquire().await?;
        all_rates(&mut conn).await
    }

    /// Replaces the VAT rates with `rows` in one transaction: importing the same file twice
    /// leaves the same rates, and a corrected file replaces the old one.
    pub async fn import_vat_rates(&self, rows: &[VatRateRow]) -> Result<usize> {
        let mut write = self.write().await?;
        sqlx::query("DELETE FROM vat_rates")
            .execute(&mut *write.tx)
            .await?;
        for row in rows {
            sqlx::query(
                "INSERT INTO vat_rates (starts_at, stops_at, territories, currency, rate, \
                 rate_type, description) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(row.starts_at)
            .bind(row.stops_at)
            .bind(row.territories.join("\n"))
            .bind(&row.currency)
            .bind(row.rate.to_string())
            .bind(&row.rate_type)
            .bind(&row.description)
            .execute(&mut *write.tx)
            .await?;
        }
        write.commit().await?;
        Ok(rows.len())
    }
}
