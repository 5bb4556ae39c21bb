//! Containers are products: a container created, resized or deleted places, replaces or
//! ends its order in the same write, priced from its memory and storage by the product the
//! provider marked as the container product. Containers on a server their customer owns are
//! not billed this way: the customer pays for the server.

use berth_model::billing::{ContainerSize, OrderTerms, RecurringPeriod};

use crate::order_subjects::{active_address_in, open_order_of, Subject};
use crate::orders::{insert_order, plan_replacement, NewOrder, OrderQuote};
use crate::products::{product_from_row, Product, PRODUCT_COLUMNS};
use crate::write::Write;
use crate::Result;

/// The active product that prices containers, if the provider configured one.
async fn container_product(write: &mut Write) -> Result<Option<Product>> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE active = 1 AND resource_prices <> ''"
    );
    sqlx::query(&sql)
        .fetch_optional(&mut *write.tx)
        .await?
        .as_ref()
        .map(product_from_row)
        .transpose()
}

/// Whether containers of `customer_id` on `server_id` are billed by their resources: not on
/// a server the customer owns.
pub(crate) async fn billed_by_resources(
    write: &mut Write,
    customer_id: i64,
    server_id: i64,
) -> Result<bool> {
    let owner: Option<i64> = sqlx::query_scalar("SELECT owner_id FROM servers WHERE id = $1")
        .bind(server_id)
        .fetch_one(&mut *write.tx)
        .await?;
    Ok(owner != Some(customer_id))
}

/// A container whose order is placed, replaced or ended.
pub(crate) struct BilledContainer {
    /// Its owner.
    pub customer_id: i64,
    /// Its server.
    pub server_id: i64,
    /// Its database id.
    pub id: i64,
    /// Its size from now on.
    pub size: ContainerSize,
}

/// Places the order of a new container starting at `at`, for `period` or the product's
/// first; nothing when no product prices containers or the customer owns the server.
pub(crate) async fn order_new_container(
    write: &mut Write,
    billed: &BilledContainer,
    period: Option<RecurringPeriod>,
    at: i64,
) -> Result<Option<i64>> {
    if !billed_by_resources(write, billed.customer_id, billed.server_id).await? {
        return Ok(None);
    }
    let Some(product) = container_product(write).await? else {
        return Ok(None);
    };
    let address_id = active_address_in(write, billed.customer_id, "containers").await?;
    let period = match period.or(product.pricing.default_container_period()) {
        Some(period) => period,
        None => return Ok(None),
    };
    let terms = OrderTerms {
        starts_at: at,
        ends_at: None,
        period,
        one_time_price: product.pricing.one_time_price,
        recurring_price: product.pricing.container_price(period, billed.size)?,
    };
    let id = insert_container_order(write, billed, product.id, address_id, &terms, None).await?;
    Ok(Some(id))
}

/// Inserts the order of `billed` for `product_id` with `terms`, replacing `replaces`.
async fn insert_container_order(
    write: &mut Write,
    billed: &BilledContainer,
    product_id: i64,
    address_id: i64,
    terms: &OrderTerms,
    replaces: Option<i64>,
) -> Result<i64> {
    let order = NewOrder {
        customer_id: billed.customer_id,
        address_id,
        product_id,
        terms,
        replaces,
        container: Some((billed.id, billed.size)),
        vpn_network: None,
    };
    insert_order(write, &order).await
}

/// Replaces a resized container's open order at `at` by one priced from its new size, for
/// the same period: an upgrade at once, a downgrade when the committed period ends. A
/// container without an open order, or with no product pricing containers any more, keeps
/// what it has (`None`); otherwise the quote of the change (the new order's lines with
/// order id 0, as in a preview).
pub(crate) async fn reorder_resized_container(
    write: &mut Write,
    billed: &BilledContainer,
    at: i64,
) -> Result<Option<OrderQuote>> {
    let Some(open) = open_order_of(write, Subject::Container(billed.id)).await? else {
        return Ok(None);
    };
    let Some(product) = container_product(write).await? else {
        return Ok(None);
    };
    let address_id = active_address_in(write, billed.customer_id, "containers").await?;
    let mut terms = OrderTerms {
        starts_at: at,
        ends_at: None,
        period: open.terms.period,
        one_time_price: berth_model::billing::Decimal::ZERO,
        recurring_price: product
            .pricing
            .container_price(open.terms.period, billed.size)?,
    };
    let plan = plan_replacement(&mut write.tx, &open, &terms, at).await?;
    terms.starts_at = plan.change.new_starts_at;
    plan.apply(write, billed.customer_id, open.id, "replaced")
        .await?;
    insert_container_order(write, billed, product.id, address_id, &terms, Some(open.id)).await?;
    Ok(Some(plan.quote(&open, terms)))
}
