//! Bills: one per customer, billing address and calendar month (or the part of it after a
//! bill closed early). Generation is idempotent: it recomputes the open bills from the orders
//! and never touches a final one.

use std::collections::BTreeMap;

use berth_model::billing::{
    bill_records, bill_until, bill_windows, decide_vat, month_start, BillRecordLine, BillTotals,
    BillWindow, VatRateRow,
};
use sqlx::Row;

use crate::billing_addresses::{address_from_row, ADDRESS_COLUMNS};
use crate::orders::orders_of_address;
use crate::products::decimal;
use crate::write::Write;
use crate::{time, Result, Store, StoreError};

/// A bill with its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    /// Database id.
    pub id: i64,
    /// The customer billed.
    pub customer_id: i64,
    /// The billing address it goes to.
    pub billing_address_id: i64,
    /// The seconds it covers; its date is the last one.
    pub window: BillWindow,
    /// A final bill never changes again.
    pub is_final: bool,
    /// Net, VAT and gross.
    pub totals: BillTotals,
    /// Whether VAT is reverse-charged.
    pub reverse_charge: bool,
    /// Why this VAT rate.
    pub vat_note: String,
    /// Its lines.
    pub records: Vec<BillRecordLine>,
    /// What each order its records bill is called, by order id (read with the records, in
    /// the same query): its product's name, and for a container's order also the container
    /// and the size it was priced from.
    pub products: BTreeMap<i64, String>,
}

/// What a generation run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenerationReport {
    /// Open bills written (created or recomputed).
    pub bills: usize,
    /// Records on them.
    pub records: usize,
}

const BILL_COLUMNS: &str = "id, customer_id, billing_address_id, starts_at, ends_at, is_final, \
     net, vat_rate, vat, gross, reverse_charge, vat_note";

/// A bill's records, and the product name of each order they bill.
async fn records_of(
    conn: &mut sqlx::AnyConnection,
    bill_id: i64,
) -> Result<(Vec<BillRecordLine>, BTreeMap<i64, String>)> {
    // LEFT JOINs: a record is never dropped for want of its product's name.
    let rows = sqlx::query(
        "SELECT r.order_id, r.is_recurring, r.starts_at, r.ends_at, r.seconds, r.quantity, \
         r.price, r.sum, p.name AS product, o.container_id, o.memory, o.storage \
         FROM bill_records r \
         LEFT JOIN orders o ON o.id = r.order_id LEFT JOIN products p ON p.id = o.product_id \
         WHERE r.bill_id = $1 ORDER BY r.order_id, r.is_recurring",
    )
    .bind(bill_id)
    .fetch_all(conn)
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    let mut products = BTreeMap::new();
    for row in &rows {
        let order_id: i64 = row.try_get("order_id")?;
        if let Some(product) = row.try_get::<Option<String>, _>("product")? {
            let name = match row.try_get::<Option<i64>, _>("container_id")? {
                Some(container) => format!(
                    "{product} (container {}: {} MB memory, {} MB storage)",
                    berth_model::container::uid_of(container),
                    row.try_get::<Option<i64>, _>("memory")?.unwrap_or(0),
                    row.try_get::<Option<i64>, _>("storage")?.unwrap_or(0),
                ),
                None => product,
            };
            products.insert(order_id, name);
        }
        records.push(BillRecordLine {
            order_id,
            is_recurring: row.try_get::<i64, _>("is_recurring")? != 0,
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
            seconds: row.try_get("seconds")?,
            quantity: decimal(row, "quantity")?,
            price: decimal(row, "price")?,
            sum: decimal(row, "sum")?,
        });
    }
    Ok((records, products))
}

async fn bill_from_row(conn: &mut sqlx::AnyConnection, row: &sqlx::any::AnyRow) -> Result<Bill> {
    let id: i64 = row.try_get("id")?;
    let (records, products) = records_of(conn, id).await?;
    Ok(Bill {
        id,
        customer_id: row.try_get("customer_id")?,
        billing_address_id: row.try_get("billing_address_id")?,
        window: BillWindow {
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
        },
        is_final: row.try_get::<i64, _>("is_final")? != 0,
        totals: BillTotals {
            net: decimal(row, "net")?,
            vat_rate: decimal(row, "vat_rate")?,
            vat: decimal(row, "vat")?,
            gross: decimal(row, "gross")?,
        },
        reverse_charge: row.try_get::<i64, _>("reverse_charge")? != 0,
        vat_note: row.try_get("vat_note")?,
        records,
        products,
    })
}

impl Store {
    /// A customer's bills, oldest first, with their records.
    pub async fn bills(&self, customer_id: i64) -> Result<Vec<Bill>> {
        let mut conn = self.pool().acquire().await?;
        let sql = format!(
            "SELECT {BILL_COLUMNS} FROM bills WHERE customer_id = $1 ORDER BY starts_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(customer_id)
            .fetch_all(&mut *conn)
            .await?;
        let mut bills = Vec::with_capacity(rows.len());
        for row in &rows {
            bills.push(bill_from_row(&mut conn, row).await?);
        }
        Ok(bills)
    }

    /// One bill; with `customer_id`, only if it is that customer's.
    pub async fn bill(&self, customer_id: Option<i64>, id: i64) -> Result<Bill> {
        let mut conn = self.pool().acquire().await?;
        let sql = format!(
            "SELECT {BILL_COLUMNS} FROM bills WHERE id = $1 AND ($2 = 0 OR customer_id = $3)"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(i64::from(customer_id.is_some()))
            .bind(customer_id.unwrap_or(0))
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound("bill"))?;
        bill_from_row(&mut conn, &row).await
    }

    /// Generates or recomputes every open bill up to `until` (inclusive, at most a year from now), with VAT decided
    /// for a provider in `provider_country`. Running it again with the same `until` changes
    /// nothing; a later `until` extends the open bill and opens the next months'.
    pub async fn generate_bills(
        &self,
        until: i64,
        provider_country: &str,
    ) -> Result<GenerationReport> {
        let until = bill_until(until, time::now())?;
        let rates = self.vat_rates().await?;
        let addresses: Vec<i64> =
            sqlx::query_scalar("SELECT DISTINCT billing_address_id FROM orders ORDER BY 1")
                .fetch_all(self.pool())
                .await?;
        let mut report = GenerationReport::default();
        // A transaction per group of addresses: each address's bills change whole, and a
        // commit per address would make the commits the cost.
        for group in addresses.chunks(ADDRESSES_PER_TRANSACTION) {
            let mut write = self.write().await?;
            for &address_id in group {
                let done =
                    generate_for_address(&mut write, address_id, until, provider_country, &rates)
                        .await?;
                report.bills += done.bills;
                report.records += done.records;
            }
            write.commit().await?;
        }
        Ok(report)
    }

    /// Closes a bill: it becomes final and the next generation starts after it. Bills close
    /// in order: an earlier open bill of the same address is a conflict.
    pub async fn close_bill(&self, id: i64) -> Result<Bill> {
        let bill = self.bill(None, id).await?;
        let mut write = self.write().await?;
        let earlier: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bills WHERE billing_address_id = $1 AND is_final = 0 \
             AND starts_at < $2",
        )
        .bind(bill.billing_address_id)
        .bind(bill.window.starts_at)
        .fetch_one(&mut *write.tx)
        .await?;
        if earlier > 0 {
            return Err(StoreError::Conflict(
                "close the earlier open bills of this address first".to_owned(),
            ));
        }
        sqlx::query("UPDATE bills SET is_final = 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *write.tx)
            .await?;
        write.commit().await?;
        self.bill(None, id).await
    }
}

/// Addresses whose bills are generated in one transaction.
const ADDRESSES_PER_TRANSACTION: usize = 500;

/// Bill records written by one INSERT (9 values each: within every store's parameter limit).
const RECORDS_PER_INSERT: usize = 100;

/// `INSERT INTO bill_records … VALUES (…), (…)` for `rows` records, numbered placeholders.
fn insert_records_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO bill_records (bill_id, order_id, is_recurring, starts_at, ends_at, \
         seconds, quantity, price, sum) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        let first = row * 9 + 1;
        let placeholders: Vec<String> = (first..first + 9).map(|n| format!("${n}")).collect();
        sql.push('(');
        sql.push_str(&placeholders.join(", "));
        sql.push(')');
    }
    sql
}

async fn generate_for_address(
    write: &mut Write,
    address_id: i64,
    until: i64,
    provider_country: &str,
    rates: &[VatRateRow],
) -> Result<GenerationReport> {
    // The address, where its next bill starts and its open bills, in two round trips: on
    // PostgreSQL the round trips are the cost of generating thousands of bills.
    let sql = format!(
        "SELECT {ADDRESS_COLUMNS}, customer_id, \
         (SELECT MAX(ends_at) FROM bills WHERE billing_address_id = $1 AND is_final = 1) \
         AS last_final, \
         (SELECT MIN(starts_at) FROM orders WHERE billing_address_id = $1) AS first_order \
         FROM billing_addresses WHERE id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(address_id)
        .fetch_one(&mut *write.tx)
        .await?;
    let customer_id: i64 = row.try_get("customer_id")?;
    let last_final: Option<i64> = row.try_get("last_final")?;
    let first_order: Option<i64> = row.try_get("first_order")?;
    let address = address_from_row(&row)?.address;
    let Some(from) = last_final
        .map(|end| end + 1)
        .or(first_order.map(month_start))
    else {
        return Ok(GenerationReport::default());
    };
    let open: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, starts_at FROM bills WHERE billing_address_id = $1 AND is_final = 0",
    )
    .bind(address_id)
    .fetch_all(&mut *write.tx)
    .await?;
    let orders: Vec<_> = orders_of_address(&mut write.tx, address_id, from)
        .await?
        .into_iter()
        .map(|order| (order.id, order.terms))
        .collect();
    let mut report = GenerationReport::default();
    let mut kept = Vec::new();
    for window in bill_windows(from, until) {
        let records = bill_records(&orders, window);
        let existing = open
            .iter()
            .find(|(_, starts_at)| *starts_at == window.starts_at)
            .map(|(id, _)| *id);
        if records.is_empty() && existing.is_none() {
            continue;
        }
        let vat = decide_vat(provider_country, &address, rates, window.ends_at);
        let totals = BillTotals::of(&records, &vat);
        if let Some(id) = existing {
            sqlx::query("DELETE FROM bill_records WHERE bill_id = $1")
                .bind(id)
                .execute(&mut *write.tx)
                .await?;
        }
        // The open bill of this window, made or brought up to date in one statement.
        let bill_id: i64 = sqlx::query_scalar(
            "INSERT INTO bills (customer_id, billing_address_id, starts_at, ends_at, \
             is_final, net, vat_rate, vat, gross, reverse_charge, vat_note, created_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (billing_address_id, starts_at) DO UPDATE SET \
             ends_at = excluded.ends_at, net = excluded.net, vat_rate = excluded.vat_rate, \
             vat = excluded.vat, gross = excluded.gross, \
             reverse_charge = excluded.reverse_charge, vat_note = excluded.vat_note \
             RETURNING id",
        )
        .bind(customer_id)
        .bind(address_id)
        .bind(window.starts_at)
        .bind(window.ends_at)
        .bind(totals.net.to_string())
        .bind(totals.vat_rate.to_string())
        .bind(totals.vat.to_string())
        .bind(totals.gross.to_string())
        .bind(i64::from(vat.reverse_charge))
        .bind(&vat.note)
        .bind(time::now())
        .fetch_one(&mut *write.tx)
        .await?;
        for batch in records.chunks(RECORDS_PER_INSERT) {
            let sql = insert_records_sql(batch.len());
            let mut insert = sqlx::query(&sql);
            for record in batch {
                insert = insert
                    .bind(bill_id)
                    .bind(record.order_id)
                    .bind(i64::from(record.is_recurring))
                    .bind(record.starts_at)
                    .bind(record.ends_at)
                    .bind(record.seconds)
                    .bind(record.quantity.to_string())
                    .bind(record.price.to_string())
                    .bind(record.sum.to_string());
            }
            insert.execute(&mut *write.tx).await?;
        }
        kept.push(bill_id);
        report.bills += 1;
        report.records += records.len();
    }
    // Open bills a shorter run no longer covers go away, records first.
    for (id, _) in open.into_iter().filter(|(id, _)| !kept.contains(id)) {
        sqlx::query("DELETE FROM bill_records WHERE bill_id = $1")
            .bind(id)
            .execute(&mut *write.tx)
            .await?;
        sqlx::query("DELETE FROM bills WHERE id = $1")
            .bind(id)
            .execute(&mut *write.tx)
            .await?;
    }
    Ok(report)
}
