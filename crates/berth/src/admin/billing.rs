//! `berth admin order|bills|payment|balance|vat`: a customer's account and the VAT rates,
//! over `/v1/admin/orders`, `/bills`, `/payments`, `/balance` and `/vat-rates`.

use std::collections::HashMap;

use berth_model::billing::{parse_day, utc_text};
use clap::Subcommand;
use serde_json::{json, Value};

use super::products::find_product;
use super::{encoded, given, read_file, rows_of, Staff};
use crate::output::{print_object, print_rows};

/// The billing subcommands of `berth admin`.
#[derive(Debug, Subcommand)]
pub enum BillingCommand {
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

/// Orders.
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

/// Bills.
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

/// Payments.
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

/// VAT rates.
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
pub async fn run(staff: &Staff, command: BillingCommand) -> anyhow::Result<()> {
    match command {
        BillingCommand::Order(command) => order(staff, command).await,
        BillingCommand::Bills(command) => bills(staff, command).await,
        BillingCommand::Payment(command) => payment(staff, command).await,
        BillingCommand::Balance { customer } => {
            let answer = staff.get(&of("balance", &customer)).await?;
            print_object(&answer, staff.json);
            Ok(())
        }
        BillingCommand::Vat(command) => vat(staff, command).await,
    }
}

/// `/v1/admin/<what>?customer=<username>`.
fn of(what: &str, customer: &str) -> String {
    format!("/v1/admin/{what}?customer={}", encoded(customer))
}

async fn order(staff: &Staff, command: OrderCommand) -> anyhow::Result<()> {
    match command {
        OrderCommand::Add {
            customer,
            product,
            period,
            start,
            preview,
        } => {
            let product = find_product(staff, &product).await?;
            let starts_at = match start {
                Some(day) => parse_day("start", &day)?,
                None => berth_store::time::now(),
            };
            let query = if preview { "?preview=1" } else { "" };
            let body = json!({"customer": customer, "product": product, "period": period,
                "starts_at": starts_at});
            let quote = staff
                .post(&format!("/v1/admin/orders{query}"), &body)
                .await?;
            print_object(&quote, staff.json);
        }
        OrderCommand::List { customer } => {
            let orders = staff.get(&of("orders", &customer)).await?;
            let mut rows = rows_of(&orders).to_vec();
            if !staff.json {
                let names = product_names(staff).await?;
                for row in &mut rows {
                    let name = row["product"].as_i64().and_then(|id| names.get(&id));
                    row["product"] = json!(name);
                    readable_times(row, &["starts_at", "ends_at"]);
                }
            }
            let columns = [
                "id",
                "product",
                "period",
                "recurring_price",
                "one_time_price",
                "starts_at",
                "ends_at",
                "replaces",
                "replaced_by",
            ];
            print_rows(&rows, &columns, staff.json);
        }
        OrderCommand::Cancel { customer, id } => {
            let body = json!({"customer": customer, "at": berth_store::time::now()});
            let mut order = staff
                .post(&format!("/v1/admin/orders/{id}/cancel"), &body)
                .await?;
            if !staff.json {
                readable_times(&mut order, &["starts_at", "ends_at"]);
            }
            print_object(&order, staff.json);
        }
    }
    Ok(())
}

/// Product names by id, for tables.
async fn product_names(staff: &Staff) -> anyhow::Result<HashMap<i64, String>> {
    let products = staff.get("/v1/admin/products").await?;
    Ok(rows_of(&products)
        .iter()
        .filter_map(|p| Some((p["id"].as_i64()?, p["name"].as_str()?.to_owned())))
        .collect())
}

async fn bills(staff: &Staff, command: BillsCommand) -> anyhow::Result<()> {
    match command {
        BillsCommand::Generate {
            until,
            provider_country,
        } => {
            let until = match until {
                Some(day) => parse_day("until", &day)? + 86_399,
                None => berth_store::time::now(),
            };
            let body = json!({"until": until, "provider_country": provider_country});
            let report = staff.post("/v1/admin/bills/generate", &body).await?;
            print_object(&report, staff.json);
        }
        BillsCommand::List { customer } => {
            let bills = staff.get(&of("bills", &customer)).await?;
            let mut rows = rows_of(&bills).to_vec();
            if !staff.json {
                rows.iter_mut()
                    .for_each(|row| readable_times(row, &["starts_at", "ends_at"]));
            }
            let columns = [
                "id",
                "starts_at",
                "ends_at",
                "final",
                "net",
                "vat_rate",
                "vat",
                "gross",
            ];
            print_rows(&rows, &columns, staff.json);
        }
        BillsCommand::Close { id } => {
            let bill = staff
                .post(&format!("/v1/admin/bills/{id}/close"), &json!({}))
                .await?;
            print_object(&bill, staff.json);
        }
    }
    Ok(())
}

async fn payment(staff: &Staff, command: PaymentCommand) -> anyhow::Result<()> {
    match command {
        PaymentCommand::Add {
            customer,
            amount,
            source,
            note,
        } => {
            let body = json!({"customer": customer, "amount": amount, "source": source,
                "note": note});
            let mut payment = staff.post("/v1/admin/payments", &given(body)).await?;
            if !staff.json {
                readable_times(&mut payment, &["paid_at"]);
            }
            print_object(&payment, staff.json);
        }
        PaymentCommand::List { customer } => {
            let payments = staff.get(&of("payments", &customer)).await?;
            let mut rows = rows_of(&payments).to_vec();
            if !staff.json {
                rows.iter_mut()
                    .for_each(|row| readable_times(row, &["paid_at"]));
            }
            let columns = ["id", "paid_at", "amount", "source", "note"];
            print_rows(&rows, &columns, staff.json);
        }
    }
    Ok(())
}

async fn vat(staff: &Staff, command: VatCommand) -> anyhow::Result<()> {
    match command {
        VatCommand::Import { csv } => {
            let body = json!({"csv": read_file(&csv)?});
            let answer = staff.post("/v1/admin/vat-rates", &body).await?;
            print_object(&answer, staff.json);
        }
        VatCommand::List => {
            let rates = staff.get("/v1/admin/vat-rates").await?;
            // One line per rate, its territories joined, as the CSV has them.
            let rows: Vec<Value> = rows_of(&rates)
                .iter()
                .map(|rate| {
                    let territories: Vec<&str> = rate["territories"]
                        .as_array()
                        .map(|t| t.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    json!({
                        "from": rate["starts_at"],
                        "until": rate["stops_at"],
                        "territories": territories.join(" "),
                        "rate": rate["rate"],
                        "type": rate["rate_type"],
                    })
                })
                .collect();
            let columns = ["territories", "rate", "type", "from", "until"];
            print_rows(&rows, &columns, staff.json);
        }
    }
    Ok(())
}

/// The unix times in `fields` of `row` written as UTC dates, for tables.
fn readable_times(row: &mut Value, fields: &[&str]) {
    for field in fields {
        if let Some(unix) = row[*field].as_i64() {
            row[*field] = json!(utc_text(unix));
        }
    }
}
