//! `berth admin` billing: products, orders placed by staff, bills, payments, the balance and
//! VAT rates. Every command calls the store methods and the berth-model validation the
//! `/v1/admin` billing routes call; `--json` prints the API's JSON shapes.

use anyhow::Context;
use berth_api::admin::views;
use berth_api::customer::billing::{bill_json, order_json, product_json, quote_json};
use berth_model::billing::{
    parse_day, parse_payment_amount, parse_vat_csv, utc_text, PricingEdit, ProductPricing,
    ProviderCountry, RecurringPeriod, ResourcePriceRow,
};
use berth_store::orders::OrderRequest;
use berth_store::products::{Product, ProductEdit};
use berth_store::Store;
use clap::Subcommand;
use serde_json::{json, Value};

use crate::output::{print_object, print_rows};

/// The billing subcommands of `berth admin`.
#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Products customers can order.
    #[command(subcommand)]
    Product(ProductCommand),
    /// Orders of a customer, placed by staff at a chosen start date.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Bills: generation, listing and closing.
    #[command(subcommand)]
    Bills(BillsCommand),
    /// Payments booked on a customer's account.
    #[command(subcommand)]
    Payment(PaymentCommand),
    /// A customer's balance: payments − bills (open bills included); negative means they owe.
    Balance {
        /// The customer's username.
        customer: String,
    },
    /// VAT rates.
    #[command(subcommand)]
    Vat(VatCommand),
}

#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Add a product to the catalogue.
    Add {
        /// Unique name.
        name: String,
        /// Free text shown to customers.
        #[arg(long)]
        description: Option<String>,
        /// Charged once, on the bill of the month an order starts (default 0).
        #[arg(long)]
        one_time_price: Option<String>,
        /// A period it is sold for and its recurring price, PERIOD=PRICE (30d=10.00); repeat
        /// for each period (one-time, 365d, 30d, week, day, hour, second).
        #[arg(long = "price", value_name = "PERIOD=PRICE", required = true)]
        prices: Vec<String>,
        /// Makes it the container product: per recurring period, the price of one MB of
        /// memory and of one MB of storage, PERIOD=MEMORY,STORAGE (30d=0.01,0.0005); repeat
        /// for each recurring period. Containers then cost the period's price plus their
        /// resources.
        #[arg(long = "resource-price", value_name = "PERIOD=MEMORY,STORAGE")]
        resource_prices: Vec<String>,
    },
    /// List the products customers can order.
    List {
        /// Inactive products too.
        #[arg(long)]
        all: bool,
    },
    /// Edit a product. Existing orders keep the prices they were placed with: new prices
    /// apply to orders placed from now on.
    Edit {
        /// The product's name or id.
        product: String,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// A new one-time price (the periods are kept unless --price is given).
        #[arg(long)]
        one_time_price: Option<String>,
        /// The new periods and prices, PERIOD=PRICE, replacing all current ones; repeat for
        /// each period.
        #[arg(long = "price", value_name = "PERIOD=PRICE")]
        prices: Vec<String>,
        /// New prices per MB of memory and storage, PERIOD=MEMORY,STORAGE, replacing all
        /// current ones; repeat for each recurring period.
        #[arg(long = "resource-price", value_name = "PERIOD=MEMORY,STORAGE")]
        resource_prices: Vec<String>,
        /// The product stops pricing containers.
        #[arg(long, conflicts_with = "resource_prices")]
        no_resource_prices: bool,
        /// Whether customers may order it (false withdraws it; existing orders run on).
        #[arg(long)]
        active: Option<bool>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Place an order for a customer, billed to their active billing address; a start date
    /// in the past migrates an existing customer. Prints what its first period charges.
    Add {
        /// The customer's username.
        customer: String,
        /// The product's name or id.
        product: String,
        /// One of the product's periods (one-time, 365d, 30d, week, day, hour, second).
        #[arg(long)]
        period: String,
        /// Start at midnight UTC of this day (YYYY-MM-DD); default: now.
        #[arg(long)]
        start: Option<String>,
        /// Only show what it would charge; place nothing.
        #[arg(long)]
        preview: bool,
    },
    /// List a customer's orders, oldest first.
    List {
        /// The customer's username.
        customer: String,
    },
    /// Cancel a customer's order now: it ends with its committed period.
    Cancel {
        /// The customer's username.
        customer: String,
        /// The order's id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum BillsCommand {
    /// Generate or recompute the open bills; running it again changes nothing.
    Generate {
        /// Bill up to the end of this day (YYYY-MM-DD, UTC); default: up to now.
        #[arg(long)]
        until: Option<String>,
        /// The provider's country, which decides VAT.
        #[arg(long, env = "BERTH_PROVIDER_COUNTRY", default_value = "CH")]
        provider_country: String,
    },
    /// List a customer's bills, oldest first (`--json` includes their records).
    List {
        /// The customer's username.
        customer: String,
    },
    /// Close a bill: it becomes final and is never recomputed.
    Close {
        /// The bill's id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum PaymentCommand {
    /// Book a payment on a customer's account, paid now.
    Add {
        /// The customer's username.
        customer: String,
        /// The amount, such as 25 or 25.50.
        amount: String,
        /// Where it came from: wire, voucher, referral, …
        #[arg(long)]
        source: String,
        /// A free note.
        #[arg(long)]
        note: Option<String>,
    },
    /// List a customer's payments, oldest first.
    List {
        /// The customer's username.
        customer: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum VatCommand {
    /// Replace the VAT rates with those of a vat-rates CSV file (7- or 5-column format).
    Import {
        /// The CSV file.
        csv: std::path::PathBuf,
    },
    /// List the VAT rates.
    List,
}

/// Runs a billing command.
pub async fn run(store: &Store, command: BillingCommand, json: bool) -> anyhow::Result<()> {
    match command {
        BillingCommand::Product(command) => product(store, command, json).await,
        BillingCommand::Order(command) => order(store, command, json).await,
        BillingCommand::Bills(command) => bills(store, command, json).await,
        BillingCommand::Payment(command) => payment(store, command, json).await,
        BillingCommand::Balance { customer } => {
            let balance = store.balance(customer_id(store, &customer).await?).await?;
            print_object(
                &json!({
                    "customer": customer,
                    "paid": balance.paid,
                    "billed": balance.billed,
                    "balance": balance.balance,
                }),
                json,
            );
            Ok(())
        }
        BillingCommand::Vat(command) => vat(store, command, json).await,
    }
}

async fn product(store: &Store, command: ProductCommand, json: bool) -> anyhow::Result<()> {
    match command {
        ProductCommand::Add {
            name,
            description,
            one_time_price,
            prices,
            resource_prices,
        } => {
            let mut pricing =
                ProductPricing::parse(one_time_price.as_deref().unwrap_or("0"), &pairs(&prices)?)?;
            if !resource_prices.is_empty() {
                pricing = pricing.with_resource_prices(&resource_rows(&resource_prices)?)?;
            }
            let product = store
                .create_product(&name, description.as_deref().unwrap_or_default(), &pricing)
                .await?;
            print_product(&product, json);
        }
        ProductCommand::List { all } => {
            let rows: Vec<_> = store
                .products(all)
                .await?
                .iter()
                .map(|p| {
                    if json {
                        product_json(p)
                    } else {
                        product_row(p)
                    }
                })
                .collect();
            print_rows(
                &rows,
                &[
                    "id",
                    "name",
                    "prices",
                    "one_time_price",
                    "resource_prices",
                    "active",
                    "description",
                ],
                json,
            );
        }
        ProductCommand::Edit {
            product,
            description,
            one_time_price,
            prices,
            resource_prices,
            no_resource_prices,
            active,
        } => {
            let current = find_product(store, &product).await?;
            let prices = (!prices.is_empty()).then(|| pairs(&prices)).transpose()?;
            let resources = if no_resource_prices {
                Some(None)
            } else if resource_prices.is_empty() {
                None
            } else {
                Some(Some(resource_rows(&resource_prices)?))
            };
            let edit = PricingEdit {
                one_time_price: one_time_price.as_deref(),
                prices: prices.as_deref(),
                resource_prices: resources.as_ref().map(Option::as_deref),
            };
            let reprices =
                edit.one_time_price.is_some() || edit.prices.is_some() || resources.is_some();
            // What is not given stays as it is, and the whole is validated again.
            let pricing = reprices
                .then(|| current.pricing.edited(&edit))
                .transpose()?;
            if description.is_none() && pricing.is_none() && active.is_none() {
                anyhow::bail!(
                    "give --description, --one-time-price, --price, --resource-price, \
                     --no-resource-prices and/or --active"
                );
            }
            let edit = ProductEdit {
                description,
                pricing,
                active,
            };
            let product = store.update_product(current.id, edit).await?;
            print_product(&product, json);
        }
    }
    Ok(())
}

async fn order(store: &Store, command: OrderCommand, json: bool) -> anyhow::Result<()> {
    match command {
        OrderCommand::Add {
            customer,
            product,
            period,
            start,
            preview,
        } => {
            let customer_id = customer_id(store, &customer).await?;
            let product = find_product(store, &product).await?;
            let period: RecurringPeriod = period.parse()?;
            let starts_at = match start {
                Some(day) => parse_day("start", &day)?,
                None => berth_store::time::now(),
            };
            let request = OrderRequest {
                product_id: product.id,
                period,
            };
            let quote = store
                .place_order(customer_id, request, starts_at, !preview)
                .await?;
            if json {
                print_object(&quote_json(&quote), true);
            } else {
                print_object(
                    &json!({
                        "order": quote.order_id.map_or_else(|| json!("- (preview)"), |id| json!(id)),
                        "customer": customer,
                        "product": product.name,
                        "period": quote.terms.period,
                        "starts_at": utc_text(quote.terms.starts_at),
                        "one_time_price": quote.terms.one_time_price,
                        "recurring_price": quote.terms.recurring_price,
                        "first_period_net": quote.total,
                    }),
                    false,
                );
            }
        }
        OrderCommand::List { customer } => {
            let orders = store.orders(customer_id(store, &customer).await?).await?;
            let names: std::collections::HashMap<i64, String> = store
                .products(true)
                .await?
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect();
            let rows: Vec<_> = orders
                .iter()
                .map(|order| {
                    let mut row = order_json(order);
                    if !json {
                        row["product"] = json!(names.get(&order.product_id));
                        row = readable_times(row, &["starts_at", "ends_at"]);
                    }
                    row
                })
                .collect();
            print_rows(
                &rows,
                &[
                    "id",
                    "product",
                    "period",
                    "recurring_price",
                    "one_time_price",
                    "starts_at",
                    "ends_at",
                    "replaces",
                    "replaced_by",
                ],
                json,
            );
        }
        OrderCommand::Cancel { customer, id } => {
            let customer_id = customer_id(store, &customer).await?;
            let order = store
                .cancel_order(customer_id, id, berth_store::time::now())
                .await?;
            if json {
                print_object(&order_json(&order), true);
            } else {
                let mut row = order_json(&order);
                row["product"] = json!(store.product(order.product_id).await?.name);
                print_object(&readable_times(row, &["starts_at", "ends_at"]), false);
            }
        }
    }
    Ok(())
}

async fn bills(store: &Store, command: BillsCommand, json: bool) -> anyhow::Result<()> {
    match command {
        BillsCommand::Generate {
            until,
            provider_country,
        } => {
            let country = ProviderCountry::parse(&provider_country)?;
            let until = match until {
                Some(day) => parse_day("until", &day)? + 86_399,
                None => berth_store::time::now(),
            };
            let report = store.generate_bills(until, &country.0).await?;
            print_object(
                &json!({"bills": report.bills, "records": report.records, "until": until}),
                json,
            );
        }
        BillsCommand::List { customer } => {
            let rows: Vec<_> = store
                .bills(customer_id(store, &customer).await?)
                .await?
                .iter()
                .map(|bill| {
                    let row = bill_json(bill);
                    if json {
                        row
                    } else {
                        readable_times(row, &["starts_at", "ends_at"])
                    }
                })
                .collect();
            print_rows(
                &rows,
                &[
                    "id",
                    "starts_at",
                    "ends_at",
                    "final",
                    "net",
                    "vat_rate",
                    "vat",
                    "gross",
                ],
                json,
            );
        }
        BillsCommand::Close { id } => {
            let bill = store.close_bill(id).await?;
            print_object(&bill_json(&bill), json);
        }
    }
    Ok(())
}

async fn payment(store: &Store, command: PaymentCommand, json: bool) -> anyhow::Result<()> {
    match command {
        PaymentCommand::Add {
            customer,
            amount,
            source,
            note,
        } => {
            let customer_id = customer_id(store, &customer).await?;
            let amount = parse_payment_amount("amount", &amount)?;
            let payment = store
                .book_payment(customer_id, amount, &source, note.as_deref())
                .await?;
            let payment = views::payment(&payment);
            if json {
                print_object(&payment, true);
            } else {
                print_object(&readable_times(payment, &["paid_at"]), false);
            }
        }
        PaymentCommand::List { customer } => {
            let rows: Vec<_> = store
                .payments(customer_id(store, &customer).await?)
                .await?
                .iter()
                .map(|p| {
                    let row = views::payment(p);
                    if json {
                        row
                    } else {
                        readable_times(row, &["paid_at"])
                    }
                })
                .collect();
            print_rows(&rows, &["id", "paid_at", "amount", "source", "note"], json);
        }
    }
    Ok(())
}

async fn vat(store: &Store, command: VatCommand, json: bool) -> anyhow::Result<()> {
    match command {
        VatCommand::Import { csv } => {
            let text = std::fs::read_to_string(&csv)
                .with_context(|| format!("cannot read {}", csv.display()))?;
            let rows = parse_vat_csv(&text)?;
            let imported = store.import_vat_rates(&rows).await?;
            print_object(&json!({"imported": imported}), json);
        }
        VatCommand::List => {
            let rows: Vec<_> = store
                .vat_rates()
                .await?
                .iter()
                .map(|rate| {
                    json!({
                        "from": rate.starts_at,
                        "until": rate.stops_at,
                        "territories": rate.territories.join(" "),
                        "rate": rate.rate,
                        "type": rate.rate_type,
                    })
                })
                .collect();
            print_rows(
                &rows,
                &["territories", "rate", "type", "from", "until"],
                json,
            );
        }
    }
    Ok(())
}

/// The id of the customer named `username`.
pub(super) async fn customer_id(store: &Store, username: &str) -> anyhow::Result<i64> {
    let customer = store
        .customer_by_username(username)
        .await
        .with_context(|| format!("no customer {username}"))?;
    Ok(customer.id)
}

/// The product named `key`, or else the one whose id it is; inactive products too.
pub(super) async fn find_product(store: &Store, key: &str) -> anyhow::Result<Product> {
    let products = store.products(true).await?;
    let id = key.parse::<i64>().ok();
    let found = products
        .iter()
        .find(|p| p.name == key)
        .or_else(|| products.iter().find(|p| Some(p.id) == id));
    found
        .cloned()
        .with_context(|| format!("no product {key} (`berth admin product list --all` lists them)"))
}

/// `--price PERIOD=PRICE` values as the (period, price) pairs berth-model validates.
fn pairs(prices: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    prices
        .iter()
        .map(|given| {
            given
                .split_once('=')
                .map(|(period, price)| (period.trim().to_owned(), price.trim().to_owned()))
                .with_context(|| format!("--price {given:?}: give PERIOD=PRICE, such as 30d=10.00"))
        })
        .collect()
}

/// `--resource-price PERIOD=MEMORY,STORAGE` values as the rows berth-model validates.
fn resource_rows(prices: &[String]) -> anyhow::Result<Vec<ResourcePriceRow>> {
    prices
        .iter()
        .map(|given| {
            let (period, units) = given.split_once('=').unwrap_or((given, ""));
            units
                .split_once(',')
                .map(|(memory, storage)| {
                    let trimmed = |text: &str| text.trim().to_owned();
                    (trimmed(period), trimmed(memory), trimmed(storage))
                })
                .with_context(|| {
                    format!(
                        "--resource-price {given:?}: give PERIOD=MEMORY,STORAGE, such as \
                         30d=0.01,0.0005"
                    )
                })
        })
        .collect()
}

/// A product for people: its prices as `30d=10.00 365d=100.00`, and its resource prices as
/// `30d=0.01,0.0005`.
fn product_row(product: &Product) -> Value {
    let mut row = product_json(product);
    let prices: Vec<String> = product
        .pricing
        .prices
        .iter()
        .map(|p| format!("{}={}", p.period, p.price))
        .collect();
    row["prices"] = json!(prices.join(" "));
    let resources: Vec<String> = product
        .pricing
        .resource_prices
        .iter()
        .map(|r| format!("{}={},{}", r.period, r.memory_mb, r.storage_mb))
        .collect();
    row["resource_prices"] = json!(resources.join(" "));
    row
}

fn print_product(product: &Product, json: bool) {
    if json {
        print_object(&product_json(product), true);
    } else {
        print_object(&product_row(product), false);
    }
}

/// `row` with the unix times in `fields` written as UTC dates, for tables.
fn readable_times(mut row: Value, fields: &[&str]) -> Value {
    for field in fields {
        if let Some(unix) = row[*field].as_i64() {
            row[*field] = json!(utc_text(unix));
        }
    }
    row
}
