//! Payments booked by staff, and the balance: payments − bills.

use berth_model::billing::{round_money, Decimal};
use sqlx::Row;

use crate::products::decimal;
use crate::{time, Result, Store};

/// A payment on a customer's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Database id.
    pub id: i64,
    /// The amount, positive.
    pub amount: Decimal,
    /// Where it came from: `wire`, `voucher`, `referral`, …
    pub source: String,
    /// Free note.
    pub note: Option<String>,
    /// When it was paid, unix time.
    pub paid_at: i64,
}

/// A customer's account: what was paid, what was billed, and the difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// Σ payments.
    pub paid: Decimal,
    /// Σ bill totals with VAT, open bills included.
    pub billed: Decimal,
    /// paid − billed; negative means the customer owes.
    pub balance: Decimal,
}

impl Store {
    /// Books a payment; `amount` is validated by the caller (berth-model's `parse_money`).
    pub async fn book_payment(
        &self,
        customer_id: i64,
        amount: Decimal,
        source: &str,
        note: Option<&str>,
    ) -> Result<Payment> {
        let source = berth_model::text::required_line("source", source, 50)?;
        let note = crate::tags::clean_note(note)?;
        let paid_at = time::now();
        let mut write = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO payments (customer_id, amount, source, note, paid_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(customer_id)
        .bind(amount.to_string())
        .bind(&source)
        .bind(&note)
        .bind(paid_at)
        .fetch_one(&mut *write.tx)
        .await?;
        write.commit().await?;
        Ok(Payment {
            id,
            amount,
            source,
            note,
            paid_at,
        })
    }

    /// A customer's payments, oldest first.
    pub async fn payments(&self, customer_id: i64) -> Result<Vec<Payment>> {
        sqlx::query(
            "SELECT id, amount, source, note, paid_at FROM payments WHERE customer_id = $1 \
             ORDER BY id",
        )
        .bind(customer_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(Payment {
                id: row.try_get("id")?,
                amount: decimal(row, "amount")?,
                source: row.try_get("source")?,
                note: row.try_get("note")?,
                paid_at: row.try_get("paid_at")?,
            })
        })
        .collect()
    }

    /// A customer's balance: payments − bills (spec §3.9).
    pub async fn balance(&self, customer_id: i64) -> Result<Balance> {
        let paid: Decimal = self
            .payments(customer_id)
            .await?
            .iter()
            .map(|p| p.amount)
            .sum();
        let billed: Decimal = self
            .bills(customer_id)
            .await?
            .iter()
            .map(|b| b.totals.gross)
            .sum();
        Ok(Balance {
            paid: round_money(paid),
            billed: round_money(billed),
            balance: round_money(paid - billed),
        })
    }
}
