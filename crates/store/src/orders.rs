//! Orders: immutable, replaced rather than edited. Placing or replacing an order can be
//! previewed: the same computation, not committed.

use berth_model::billing::{
    bill_records, billing_time, round_money, BillRecordLine, BillWindow, ChangeKind, Decimal,
    OrderTerms, RecurringPeriod,
};
use sqlx::Row;

use crate::products::decimal;
use crate::write::Write;
use crate::{time, Result, Store, StoreError};

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Database id.
    pub id: i64,
    /// The product ordered.
    pub product_id: i64,
    /// The billing address it is billed to.
    pub billing_address_id: i64,
    /// Its terms: dates, period and prices.
    pub terms: OrderTerms,
    /// The order it replaced.
    pub replaces_id: Option<i64>,
    /// The order that replaced it.
    pub replaced_by_id: Option<i64>,
}

/// What to order: a product for one of its periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRequest {
    /// The product.
    pub product_id: i64,
    /// One of the product's periods.
    pub period: RecurringPeriod,
}

/// What placing or replacing an order charges: the records of the orders involved from the
/// start of the current committed period to the end of the new order's first period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderQuote {
    /// Upgrade or downgrade, for a replacement.
    pub change: Option<ChangeKind>,
    /// The new order's terms.
    pub terms: OrderTerms,
    /// The replaced order's id and new end, for a replacement.
    pub replaced: Option<(i64, i64)>,
    /// The window the records cover.
    pub window: BillWindow,
    /// What is charged in the window; the new order's records have order id 0 in a preview.
    pub records: Vec<BillRecordLine>,
    /// Σ record sums, before VAT.
    pub total: Decimal,
    /// The placed order's id; `None` for a preview.
    pub order_id: Option<i64>,
}

const ORDER_COLUMNS: &str = "o.id, o.product_id, o.billing_address_id, o.period, \
     o.one_time_price, o.recurring_price, o.starts_at, o.ends_at, o.replaces_id, \
     (SELECT r.id FROM orders r WHERE r.replaces_id = o.id) AS replaced_by_id";

pub(crate) fn order_from_row(row: &sqlx::any::AnyRow) -> Result<Order> {
    let period: String = row.try_get("period")?;
    Ok(Order {
        id: row.try_get("id")?,
        product_id: row.try_get("product_id")?,
        billing_address_id: row.try_get("billing_address_id")?,
        terms: OrderTerms {
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
            period: period.parse()?,
            one_time_price: decimal(row, "one_time_price")?,
            recurring_price: decimal(row, "recurring_price")?,
        },
        replaces_id: row.try_get("replaces_id")?,
        replaced_by_id: row.try_get("replaced_by_id")?,
    })
}

/// The orders billed to `address_id` that may still bill seconds at or after `from`.
pub(crate) async fn orders_of_address(
    conn: &mut sqlx::AnyConnection,
    address_id: i64,
    from: i64,
) -> Result<Vec<Order>> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders o WHERE o.billing_address_id = $1 \
         AND (o.ends_at IS NULL OR o.ends_at >= $2 OR o.starts_at >= $2) ORDER BY o.id"
    );
    sqlx::query(&sql)
        .bind(address_id)
        .bind(from)
        .fetch_all(conn)
        .await?
        .iter()
        .map(order_from_row)
        .collect()
}

fn quote(
    change: Option<ChangeKind>,
    old: Option<(i64, OrderTerms)>,
    terms: OrderTerms,
) -> OrderQuote {
    let period = terms.period.seconds();
    let new_end = if period == 0 {
        terms.starts_at
    } else {
        terms.starts_at + period - 1
    };
    let window_start = match &old {
        // The start of the old order's period holding its last second.
        Some((_, old)) => match old.ends_at {
            Some(end) if end >= old.starts_at => {
                let period = old.period.seconds().max(1);
                old.starts_at + (end - old.starts_at) / period * period
            }
            _ => terms.starts_at,
        },
        None => terms.starts_at,
    };
    let window = BillWindow {
        starts_at: window_start,
        ends_at: new_end,
    };
    let replaced = old
        .as_ref()
        .and_then(|(id, o)| o.ends_at.map(|end| (*id, end)));
    let mut orders: Vec<(i64, OrderTerms)> = old.into_iter().collect();
    orders.push((0, terms.clone()));
    let records = bill_records(&orders, window);
    let total = round_money(records.iter().map(|r| r.sum).sum());
    OrderQuote {
        change,
        terms,
        replaced,
        window,
        records,
        total,
        order_id: None,
    }
}

impl Store {
    /// A customer's orders, oldest first.
    pub async fn orders(&self, customer_id: i64) -> Result<Vec<Order>> {
        let sql =
            format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.customer_id = $1 ORDER BY o.id");
        sqlx::query(&sql)
            .bind(customer_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(order_from_row)
            .collect()
    }

    /// One of a customer's orders; another customer's answers not found.
    pub async fn order(&self, customer_id: i64, id: i64) -> Result<Order> {
        let sql =
            format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.customer_id = $1 AND o.id = $2");
        let row = sqlx::query(&sql)
            .bind(customer_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("order"))?;
        order_from_row(&row)
    }

    /// One of a customer's orders that has no end yet; an ended one is a conflict.
    async fn open_order(&self, customer_id: i64, id: i64, verb: &str) -> Result<Order> {
        let order = self.order(customer_id, id).await?;
        if order.terms.has_end() {
            return Err(already_ends(verb));
        }
        Ok(order)
    }

    /// The terms ordering `request` gives, starting at `starts_at`.
    async fn terms_for(&self, request: OrderRequest, starts_at: i64) -> Result<OrderTerms> {
        let product = self.product(request.product_id).await?;
        if !product.active {
            return Err(StoreError::Conflict(format!(
                "product {} is no longer sold",
                product.name
            )));
        }
        Ok(OrderTerms {
            starts_at,
            ends_at: None,
            period: request.period,
            one_time_price: product.pricing.one_time_price,
            recurring_price: product.pricing.price_for(request.period)?,
        })
    }

    /// Places an order starting at `starts_at` (now, or a date staff chose), billed to the
    /// customer's active address; with `commit` false only quotes it.
    pub async fn place_order(
        &self,
        customer_id: i64,
        request: OrderRequest,
        starts_at: i64,
        commit: bool,
    ) -> Result<OrderQuote> {
        let starts_at = billing_time("starts_at", starts_at)?;
        let address = self.active_billing_address(customer_id).await?;
        let terms = self.terms_for(request, starts_at).await?;
        let mut quote = quote(None, None, terms);
        if commit {
            let mut write = self.write().await?;
            let id = insert_order(
                &mut write.tx,
                customer_id,
                address.id,
                request,
                &quote.terms,
                None,
            )
            .await?;
            write.commit().await?;
            quote.order_id = Some(id);
            fix_new_id(&mut quote, id);
        }
        Ok(quote)
    }

    /// Replaces order `id` with `request` at `at`: an upgrade at once, a downgrade at the
    /// end of the committed period (spec §3.4). With `commit` false only quotes it.
    pub async fn replace_order(
        &self,
        customer_id: i64,
        id: i64,
        request: OrderRequest,
        at: i64,
        commit: bool,
    ) -> Result<OrderQuote> {
        let at = billing_time("at", at)?;
        let old = self.open_order(customer_id, id, "replaced").await?;
        let address = self.active_billing_address(customer_id).await?;
        let mut terms = self.terms_for(request, at).await?;
        let change = old.terms.replace(&terms, at)?;
        terms.starts_at = change.new_starts_at;
        let mut old_terms = old.terms.clone();
        old_terms.ends_at = Some(change.old_ends_at);
        let mut quote = quote(Some(change.kind), Some((id, old_terms)), terms);
        if commit {
            let mut write = self.write().await?;
            end_open_order(&mut write, customer_id, id, change.old_ends_at, "replaced").await?;
            let new_id = insert_order(
                &mut write.tx,
                customer_id,
                address.id,
                request,
                &quote.terms,
                Some(id),
            )
            .await?;
            write.commit().await?;
            quote.order_id = Some(new_id);
            fix_new_id(&mut quote, new_id);
        }
        Ok(quote)
    }

    /// Cancels order `id` at `at`: it ends with its committed period.
    pub async fn cancel_order(&self, customer_id: i64, id: i64, at: i64) -> Result<Order> {
        let at = billing_time("at", at)?;
        let old = self.open_order(customer_id, id, "cancelled").await?;
        let end = old.terms.cancel(at)?;
        let mut write = self.write().await?;
        end_open_order(&mut write, customer_id, id, end, "cancelled").await?;
        write.commit().await?;
        self.order(customer_id, id).await
    }
}

fn already_ends(verb: &str) -> StoreError {
    StoreError::Conflict(format!("the order already ends; it cannot be {verb}"))
}

/// Gives order `id` its end, unless a concurrent write gave it one first.
async fn end_open_order(
    write: &mut Write,
    customer_id: i64,
    id: i64,
    end: i64,
    verb: &str,
) -> Result<()> {
    let ended = sqlx::query(
        "UPDATE orders SET ends_at = $1 WHERE id = $2 AND customer_id = $3 AND ends_at IS NULL",
    )
    .bind(end)
    .bind(id)
    .bind(customer_id)
    .execute(&mut *write.tx)
    .await?
    .rows_affected();
    if ended == 0 {
        return Err(already_ends(verb));
    }
    Ok(())
}

fn fix_new_id(quote: &mut OrderQuote, id: i64) {
    for record in quote.records.iter_mut().filter(|r| r.order_id == 0) {
        record.order_id = id;
    }
}

async fn insert_order(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    customer_id: i64,
    address_id: i64,
    request: OrderRequest,
    terms: &OrderTerms,
    replaces: Option<i64>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO orders (customer_id, billing_address_id, product_id, period, \
         one_time_price, recurring_price, starts_at, ends_at, replaces_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9) RETURNING id",
    )
    .bind(customer_id)
    .bind(address_id)
    .bind(request.product_id)
    .bind(request.period.as_str())
    .bind(terms.one_time_price.to_string())
    .bind(terms.recurring_price.to_string())
    .bind(terms.starts_at)
    .bind(replaces)
    .bind(time::now())
    .fetch_one(&mut **tx)
    .await?)
}
