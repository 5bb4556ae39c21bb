//! Orders that follow a subject besides their product (a container, a VPN network): found,
//! and ended with it.

use crate::orders::{end_open_order, order_from_row, Order, ORDER_COLUMNS};
use crate::write::Write;
use crate::{Result, StoreError};

/// What an order may follow besides its product: it is placed, replaced and ended with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A container (database id).
    Container(i64),
    /// A VPN network (database id).
    VpnNetwork(i64),
}

impl Subject {
    fn column_and_id(self) -> (&'static str, i64) {
        match self {
            Subject::Container(id) => ("container_id", id),
            Subject::VpnNetwork(id) => ("vpn_network_id", id),
        }
    }
}

/// The order of `subject` that has no end yet, if any.
pub(crate) async fn open_order_of(write: &mut Write, subject: Subject) -> Result<Option<Order>> {
    let (column, id) = subject.column_and_id();
    let sql =
        format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.{column} = $1 AND o.ends_at IS NULL");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *write.tx)
        .await?
        .as_ref()
        .map(order_from_row)
        .transpose()
}

/// Ends the open order of `subject`, gone at `at`, with its committed period, as a
/// cancellation.
pub(crate) async fn end_order_of(
    write: &mut Write,
    customer_id: i64,
    subject: Subject,
    at: i64,
) -> Result<()> {
    if let Some(open) = open_order_of(write, subject).await? {
        let end = open.terms.cancel(at)?;
        end_open_order(write, customer_id, open.id, end, "cancelled").await?;
    }
    Ok(())
}

/// The customer's active billing address, read in `write`; a conflict naming `what` when
/// there is none.
pub(crate) async fn active_address_in(
    write: &mut Write,
    customer_id: i64,
    what: &str,
) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM billing_addresses WHERE customer_id = $1 AND active = 1",
    )
    .bind(customer_id)
    .fetch_optional(&mut *write.tx)
    .await?;
    id.ok_or_else(|| {
        StoreError::Conflict(format!(
            "{what} are billed: add a billing address before ordering one"
        ))
    })
}
