//! Products: what customers can order, with a one-time price and a recurring price for each
//! allowed period. Editing a product never changes existing orders: an order copies its
//! prices when it is placed.

use berth_model::billing::{
    product_name, Decimal, PeriodPrice, ProductPricing, ResourcePrice, ResourcePriceRow,
};
use sqlx::Row;

use crate::error::conflict_on_unique;
use crate::{time, Result, Store, StoreError};

/// A product in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Database id.
    pub id: i64,
    /// Name, unique.
    pub name: String,
    /// Free text shown to customers.
    pub description: String,
    /// Prices.
    pub pricing: ProductPricing,
    /// Whether customers may order it.
    pub active: bool,
}

/// A change to a product; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProductEdit {
    /// A new description.
    pub description: Option<String>,
    /// New prices, already validated.
    pub pricing: Option<ProductPricing>,
    /// Whether customers may order it.
    pub active: Option<bool>,
}

/// Reads a decimal stored as text.
pub(crate) fn decimal(row: &sqlx::any::AnyRow, column: &str) -> Result<Decimal> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|_| {
        StoreError::Database(sqlx::Error::Decode(format!("{column}: {text:?}").into()))
    })
}

fn prices_text(prices: &[PeriodPrice]) -> String {
    let lines: Vec<String> = prices
        .iter()
        .map(|p| format!("{}={}", p.period, p.price))
        .collect();
    lines.join("\n")
}

fn resource_prices_text(prices: &[ResourcePrice]) -> String {
    let lines: Vec<String> = prices
        .iter()
        .map(|p| format!("{}={},{}", p.period, p.memory_mb, p.storage_mb))
        .collect();
    lines.join("\n")
}

pub(crate) fn product_from_row(row: &sqlx::any::AnyRow) -> Result<Product> {
    let prices: String = row.try_get("prices")?;
    let pairs: Vec<(String, String)> = prices
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(period, price)| (period.to_owned(), price.to_owned()))
        .collect();
    let one_time: String = row.try_get("one_time_price")?;
    let mut pricing = ProductPricing::parse(&one_time, &pairs)?;
    let resource_prices: String = row.try_get("resource_prices")?;
    if !resource_prices.is_empty() {
        let triples: Vec<ResourcePriceRow> = resource_prices
            .lines()
            .filter_map(|line| {
                let (period, units) = line.split_once('=')?;
                let (memory, storage) = units.split_once(',')?;
                Some((period.to_owned(), memory.to_owned(), storage.to_owned()))
            })
            .collect();
        pricing = pricing.with_resource_prices(&triples)?;
    }
    Ok(Product {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        pricing,
        active: row.try_get::<i64, _>("active")? != 0,
    })
}

pub(crate) const PRODUCT_COLUMNS: &str =
    "id, name, description, one_time_price, prices, resource_prices, active";

/// Refuses to make a second active product that prices containers: new containers must know
/// which product they are ordered as.
async fn one_container_product(
    write: &mut crate::write::Write,
    id: Option<i64>,
    pricing: &ProductPricing,
    active: bool,
) -> Result<()> {
    if !(active && pricing.prices_containers()) {
        return Ok(());
    }
    let other: Option<String> = sqlx::query_scalar(
        "SELECT name FROM products WHERE active = 1 AND resource_prices <> '' AND id <> $1",
    )
    .bind(id.unwrap_or(0))
    .fetch_optional(&mut *write.tx)
    .await?;
    match other {
        Some(name) => Err(StoreError::Conflict(format!(
            "product {name} already prices containers; deactivate it first"
        ))),
        None => Ok(()),
    }
}

impl Store {
    /// The catalogue by name; inactive products only when `with_inactive`.
    pub async fn products(&self, with_inactive: bool) -> Result<Vec<Product>> {
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE active = 1 OR $1 = 1 ORDER BY name"
        );
        sqlx::query(&sql)
            .bind(i64::from(with_inactive))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(product_from_row)
            .collect()
    }

    /// One product.
    pub async fn product(&self, id: i64) -> Result<Product> {
        let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("product"))?;
        product_from_row(&row)
    }

    /// Adds a product to the catalogue; a name in use is a conflict.
    pub async fn create_product(
        &self,
        name: &str,
        description: &str,
        pricing: &ProductPricing,
    ) -> Result<Product> {
        let name = product_name(name)?;
        let description = berth_model::text::note("description", description, 2000)?;
        let mut write = self.write().await?;
        one_container_product(&mut write, None, pricing, true).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO products (name, description, one_time_price, prices, resource_prices, \
             active, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
        )
        .bind(&name)
        .bind(&description)
        .bind(pricing.one_time_price.to_string())
        .bind(prices_text(&pricing.prices))
        .bind(resource_prices_text(&pricing.resource_prices))
        .bind(time::now())
        .fetch_one(&mut *write.tx)
        .await
        .map_err(conflict_on_unique(format!("a product named {name} exists")))?;
        write.commit().await?;
        self.product(id).await
    }

    /// Edits a product; existing orders keep their prices.
    pub async fn update_product(&self, id: i64, edit: ProductEdit) -> Result<Product> {
        let description = edit
            .description
            .map(|d| berth_model::text::note("description", &d, 2000))
            .transpose()?;
        let current = self.product(id).await?;
        let pricing = edit.pricing.unwrap_or(current.pricing);
        let active = edit.active.unwrap_or(current.active);
        let mut write = self.write().await?;
        one_container_product(&mut write, Some(id), &pricing, active).await?;
        sqlx::query(
            "UPDATE products SET description = $1, one_time_price = $2, prices = $3, \
             resource_prices = $4, active = $5 WHERE id = $6",
        )
        .bind(description.unwrap_or(current.description))
        .bind(pricing.one_time_price.to_string())
        .bind(prices_text(&pricing.prices))
        .bind(resource_prices_text(&pricing.resource_prices))
        .bind(i64::from(active))
        .bind(id)
        .execute(&mut *write.tx)
        .await?;
        write.commit().await?;
        self.product(id).await
    }
}
