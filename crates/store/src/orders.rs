//! Orders: immutable, replaced rather than edited. Placing or replacing an order can be
//! previewed: the same computation, not committed.

use berth_model::billing::{
    bill_records, billing_time, round_money, BillRecordLine, BillWindow, Change, ChangeKind,
    ContainerSize, Decimal, OrderTerms, RecurringPeriod,
};
use berth_model::container;
use sqlx::Row;

use crate::closed_bills::check_after_closed_bill;
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
    /// For a container's order: the container's uid and the size it was priced from.
    pub container: Option<(i64, ContainerSize)>,
    /// For a VPN network's order: the network's id.
    pub vpn_network: Option<i64>,
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

pub(crate) const ORDER_COLUMNS: &str = "o.id, o.product_id, o.billing_address_id, o.period, \
     o.one_time_price, o.recurring_price, o.starts_at, o.ends_at, o.replaces_id, \
     o.container_id, o.memory, o.storage, o.vpn_network_id, \
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
        container: match row.try_get::<Option<i64>, _>("container_id")? {
            Some(id) => Some((
                container::uid_of(id),
                ContainerSize {
                    memory: row.try_get::<Option<i64>, _>("memory")?.unwrap_or(0),
                    storage: row.try_get::<Option<i64>, _>("storage")?.unwrap_or(0),
                },
            )),
            None => None,
        },
        vpn_network: row.try_get("vpn_network_id")?,
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
        if let Some((uid, _)) = order.container {
            return Err(StoreError::Conflict(format!(
                "order {id} bills container {uid}: it follows the container, which is resized \
                 or deleted instead"
            )));
        }
        if let Some(network) = order.vpn_network {
            return Err(StoreError::Conflict(format!(
                "order {id} bills VPN network {network}: it ends when the network is deleted"
            )));
        }
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
        if !commit {
            let mut conn = self.pool().acquire().await?;
            check_after_closed_bill(&mut conn, address.id, START, starts_at).await?;
        }
        let mut quote = quote(None, None, terms);
        if commit {
            let mut write = self.write().await?;
            let id = insert_order(
                &mut write,
                &NewOrder {
                    customer_id,
                    address_id: address.id,
                    product_id: request.product_id,
                    terms: &quote.terms,
                    replaces: None,
                    container: None,
                    vpn_network: None,
                },
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
        let mut conn = self.pool().acquire().await?;
        let plan = plan_replacement(&mut conn, &old, &terms, at).await?;
        if !commit {
            plan.check_after_closed_bills(&mut conn, &old, address.id)
                .await?;
        }
        drop(conn);
        terms.starts_at = plan.change.new_starts_at;
        let mut quote = plan.quote(&old, terms);
        if commit {
            let mut write = self.write().await?;
            plan.apply(&mut write, customer_id, id, "replaced").await?;
            let new_id = insert_order(
                &mut write,
                &NewOrder {
                    customer_id,
                    address_id: address.id,
                    product_id: request.product_id,
                    terms: &quote.terms,
                    replaces: Some(id),
                    container: None,
                    vpn_network: None,
                },
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

/// What a change that starts an order is called in a refusal.
const START: &str = "the order's start";
/// What a change that ends an order is called in a refusal.
const END: &str = "the end of the order's billing";

/// Refuses a new `end` for order `id` that falls in a closed bill of its address.
async fn check_order_end(conn: &mut sqlx::AnyConnection, id: i64, end: i64) -> Result<()> {
    let address_id: i64 = sqlx::query_scalar("SELECT billing_address_id FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    check_after_closed_bill(conn, address_id, END, end + 1).await
}

/// Gives order `id` its end, unless a concurrent write gave it one first or the end falls in
/// a closed bill.
pub(crate) async fn end_open_order(
    write: &mut Write,
    customer_id: i64,
    id: i64,
    end: i64,
    verb: &str,
) -> Result<()> {
    check_order_end(&mut write.tx, id, end).await?;
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

/// A running order that stops earlier than its end said, because the pending order after it
/// is replaced by an upgrade.
pub(crate) struct Cut {
    /// The running order.
    pub id: i64,
    /// Its end before the cut.
    pub ends_at: i64,
    /// Its terms with the new end.
    pub terms: OrderTerms,
}

/// How a replacement works out: when the old order ends and the new one starts, and the
/// running order it cuts short, if any.
pub(crate) struct Replacement {
    /// The old order's end and the new order's start.
    pub change: Change,
    /// The running order stopped at once, when a pending order is replaced by an upgrade.
    pub cut: Option<Cut>,
}

/// Plans replacing `old` by `new` at `at`. An old order that has not started yet and
/// replaces a running one is replaced as [`OrderTerms::replace_pending`] says.
pub(crate) async fn plan_replacement(
    conn: &mut sqlx::AnyConnection,
    old: &Order,
    new: &OrderTerms,
    at: i64,
) -> Result<Replacement> {
    let running = match old.replaces_id {
        Some(previous) if at < old.terms.starts_at => {
            let sql = format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1");
            let row = sqlx::query(&sql).bind(previous).fetch_one(conn).await?;
            Some(order_from_row(&row)?)
        }
        _ => None,
    };
    let Some(running) = running else {
        return Ok(Replacement {
            change: old.terms.replace(new, at)?,
            cut: None,
        });
    };
    let (change, cut) = old.terms.replace_pending(&running.terms, new, at)?;
    let cut = match (cut, running.terms.ends_at) {
        (Some(new_end), Some(ends_at)) => Some(Cut {
            id: running.id,
            ends_at,
            terms: OrderTerms {
                ends_at: Some(new_end),
                ..running.terms
            },
        }),
        _ => None,
    };
    Ok(Replacement { change, cut })
}

impl Replacement {
    /// Refuses, as a commit would, a replacement of `old` billed to `address_id` from now on
    /// whose changes fall in a closed bill: the old (or cut) order's new end, the new start.
    async fn check_after_closed_bills(
        &self,
        conn: &mut sqlx::AnyConnection,
        old: &Order,
        address_id: i64,
    ) -> Result<()> {
        let end = match &self.cut {
            Some(cut) => cut.terms.ends_at.unwrap_or(cut.ends_at),
            None => self.change.old_ends_at,
        };
        check_after_closed_bill(conn, old.billing_address_id, END, end + 1).await?;
        check_after_closed_bill(conn, address_id, START, self.change.new_starts_at).await
    }

    /// What the replacement of `old` by an order of `terms` charges: the quote shows the
    /// order that stops, the running one when a pending one is cut short.
    pub(crate) fn quote(&self, old: &Order, terms: OrderTerms) -> OrderQuote {
        let stopping = match &self.cut {
            Some(cut) => (cut.id, cut.terms.clone()),
            None => {
                let mut old_terms = old.terms.clone();
                old_terms.ends_at = Some(self.change.old_ends_at);
                (old.id, old_terms)
            }
        };
        quote(Some(self.change.kind), Some(stopping), terms)
    }

    /// Ends the old order `id` and cuts the running one short, in `write`; a concurrent
    /// change to either is a conflict.
    pub(crate) async fn apply(
        &self,
        write: &mut Write,
        customer_id: i64,
        id: i64,
        verb: &str,
    ) -> Result<()> {
        if let Some(cut) = &self.cut {
            let new_end = cut.terms.ends_at.unwrap_or(cut.ends_at);
            check_order_end(&mut write.tx, cut.id, new_end).await?;
            let cut_short = sqlx::query(
                "UPDATE orders SET ends_at = $1 WHERE id = $2 AND customer_id = $3 AND ends_at = $4",
            )
            .bind(new_end)
            .bind(cut.id)
            .bind(customer_id)
            .bind(cut.ends_at)
            .execute(&mut *write.tx)
            .await?
            .rows_affected();
            if cut_short == 0 {
                return Err(StoreError::Conflict(
                    "the order changed meanwhile; try again".to_owned(),
                ));
            }
        }
        end_open_order(write, customer_id, id, self.change.old_ends_at, verb).await
    }
}

fn fix_new_id(quote: &mut OrderQuote, id: i64) {
    for record in quote.records.iter_mut().filter(|r| r.order_id == 0) {
        record.order_id = id;
    }
}

/// An order about to be inserted.
pub(crate) struct NewOrder<'a> {
    /// The customer ordering.
    pub customer_id: i64,
    /// The billing address it is billed to.
    pub address_id: i64,
    /// The product ordered.
    pub product_id: i64,
    /// Its terms; its end is left empty.
    pub terms: &'a OrderTerms,
    /// The order it replaces.
    pub replaces: Option<i64>,
    /// The container (database id) it bills, and the size it was priced from.
    pub container: Option<(i64, ContainerSize)>,
    /// The VPN network (database id) it bills.
    pub vpn_network: Option<i64>,
}

/// Inserts `order` in `write`, returning its id; an order starting in a closed bill is a
/// conflict.
pub(crate) async fn insert_order(write: &mut Write, order: &NewOrder<'_>) -> Result<i64> {
    check_after_closed_bill(
        &mut write.tx,
        order.address_id,
        START,
        order.terms.starts_at,
    )
    .await?;
    let (container_id, size) = match order.container {
        Some((id, size)) => (Some(id), Some(size)),
        None => (None, None),
    };
    Ok(sqlx::query_scalar(
        "INSERT INTO orders (customer_id, billing_address_id, product_id, period, \
         one_time_price, recurring_price, starts_at, ends_at, replaces_id, container_id, \
         memory, storage, vpn_network_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(order.customer_id)
    .bind(order.address_id)
    .bind(order.product_id)
    .bind(order.terms.period.as_str())
    .bind(order.terms.one_time_price.to_string())
    .bind(order.terms.recurring_price.to_string())
    .bind(order.terms.starts_at)
    .bind(order.replaces)
    .bind(container_id)
    .bind(size.map(|s| s.memory))
    .bind(size.map(|s| s.storage))
    .bind(order.vpn_network)
    .bind(time::now())
    .fetch_one(&mut *write.tx)
    .await?)
}
