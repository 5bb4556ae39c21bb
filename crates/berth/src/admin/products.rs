//! `berth admin product`: the catalogue, over `/v1/admin/products`.

use anyhow::Context;
use clap::Subcommand;
use serde_json::{json, Value};

use super::{given, rows_of, Staff};
use crate::output::{print_object, print_rows};

/// Products.
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

/// Runs a `berth admin product` command.
pub async fn run(staff: &Staff, command: ProductCommand) -> anyhow::Result<()> {
    let product = match command {
        ProductCommand::Add {
            name,
            description,
            one_time_price,
            prices,
            resource_prices,
        } => {
            let mut body = json!({"name": name, "description": description,
                "one_time_price": one_time_price, "prices": price_list(&prices)?});
            if !resource_prices.is_empty() {
                body["resource_prices"] = resource_list(&resource_prices)?;
            }
            staff.post("/v1/admin/products", &given(body)).await?
        }
        ProductCommand::List { all } => {
            let products = staff.get("/v1/admin/products").await?;
            let rows: Vec<Value> = rows_of(&products)
                .iter()
                .filter(|product| all || product["active"] == true)
                .map(|product| readable(product, staff.json))
                .collect();
            let columns = [
                "id",
                "name",
                "prices",
                "one_time_price",
                "resource_prices",
                "active",
                "description",
            ];
            print_rows(&rows, &columns, staff.json);
            return Ok(());
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
            let id = find_product(staff, &product).await?;
            let mut body = given(json!({"description": description,
                "one_time_price": one_time_price, "active": active}));
            if !prices.is_empty() {
                body["prices"] = price_list(&prices)?;
            }
            if no_resource_prices {
                body["resource_prices"] = Value::Null;
            } else if !resource_prices.is_empty() {
                body["resource_prices"] = resource_list(&resource_prices)?;
            }
            if body.as_object().is_none_or(|fields| fields.is_empty()) {
                anyhow::bail!(
                    "give --description, --one-time-price, --price, --resource-price, \
                     --no-resource-prices and/or --active"
                );
            }
            staff
                .post(&format!("/v1/admin/products/{id}"), &body)
                .await?
        }
    };
    print_object(&readable(&product, staff.json), staff.json);
    Ok(())
}

/// The id of the product named `key`, or else the one whose id it is; inactive ones too.
pub async fn find_product(staff: &Staff, key: &str) -> anyhow::Result<i64> {
    let products = staff.get("/v1/admin/products").await?;
    let products = rows_of(&products);
    let id = key.parse::<i64>().ok();
    products
        .iter()
        .find(|p| p["name"] == key)
        .or_else(|| {
            products
                .iter()
                .find(|p| p["id"].as_i64() == id && id.is_some())
        })
        .and_then(|p| p["id"].as_i64())
        .with_context(|| format!("no product {key} (`berth admin product list --all` lists them)"))
}

/// `--price PERIOD=PRICE` values as the API's `[{period, price}]`, in the order given.
fn price_list(prices: &[String]) -> anyhow::Result<Value> {
    prices
        .iter()
        .map(|given| {
            given
                .split_once('=')
                .map(|(period, price)| json!({"period": period.trim(), "price": price.trim()}))
                .with_context(|| format!("--price {given:?}: give PERIOD=PRICE, such as 30d=10.00"))
        })
        .collect()
}

/// `--resource-price PERIOD=MEMORY,STORAGE` values as the API's `[{period, memory_mb,
/// storage_mb}]`.
fn resource_list(prices: &[String]) -> anyhow::Result<Value> {
    prices
        .iter()
        .map(|given| {
            let (period, units) = given.split_once('=').unwrap_or((given, ""));
            units
                .split_once(',')
                .map(|(memory, storage)| {
                    json!({"period": period.trim(), "memory_mb": memory.trim(),
                        "storage_mb": storage.trim()})
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

/// A product as printed: the API's JSON with `--json`; for people, its prices as
/// `30d=10.00 365d=100.00` and its resource prices as `30d=0.01,0.0005`.
fn readable(product: &Value, json: bool) -> Value {
    if json {
        return product.clone();
    }
    let joined = |field: &str, entry: &dyn Fn(&Value) -> String| {
        let items = product[field]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        items.iter().map(entry).collect::<Vec<_>>().join(" ")
    };
    let text = |value: &Value| {
        value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned)
    };
    let mut row = product.clone();
    row["prices"] = json!(joined("prices", &|p| format!(
        "{}={}",
        text(&p["period"]),
        text(&p["price"])
    )));
    row["resource_prices"] = json!(joined("resource_prices", &|r| format!(
        "{}={},{}",
        text(&r["period"]),
        text(&r["memory_mb"]),
        text(&r["storage_mb"])
    )));
    row
}
