//! Closed bills: what a final bill covers is never billed again, so a change that would
//! reach into it (an order starting or ending inside it) is refused.

use berth_model::billing::{check_after_closed, ClosedBill};

use crate::{Result, StoreError};

/// The last closed bill of billing address `address_id`, if any.
async fn last_closed_bill(
    conn: &mut sqlx::AnyConnection,
    address_id: i64,
) -> Result<Option<ClosedBill>> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, starts_at, ends_at FROM bills WHERE billing_address_id = $1 AND is_final = 1 \
         ORDER BY ends_at DESC LIMIT 1",
    )
    .bind(address_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, starts_at, ends_at)| ClosedBill {
        id,
        starts_at,
        ends_at,
    }))
}

/// Refuses (409, naming the bill) a change to what address `address_id` is billed that
/// first takes effect at second `at`, when that falls in its last closed bill
/// ([`check_after_closed`]).
pub(crate) async fn check_after_closed_bill(
    conn: &mut sqlx::AnyConnection,
    address_id: i64,
    what: &str,
    at: i64,
) -> Result<()> {
    let closed = last_closed_bill(conn, address_id).await?;
    check_after_closed(what, at, closed).map_err(|error| StoreError::Conflict(error.to_string()))
}
