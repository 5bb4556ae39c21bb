//! `berth admin`: the staff's tooling, with the same `--data` / `--database-url` as
//! `berth up`. Every command is a request to the staff API (`/v1/admin`), sent in-process
//! over the store (see [`berth_api::local`]): the CLI only turns flags into a request and the
//! answer into a table or JSON, so `berth admin` and `/v1/admin` cannot disagree.

use anyhow::{anyhow, Context};
use berth_api::error::{phrase, ApiError};
use berth_api::local::StaffClient;
use clap::{Args, Subcommand};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::store_args::StoreArgs;

mod accounts;
mod billing;
mod containers;
mod domains;
mod infrastructure;
mod legions;
mod products;
mod vpn;

/// Flags of `berth admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Customer accounts.
    #[command(subcommand)]
    Customer(accounts::CustomerCommand),
    /// Staff accounts.
    #[command(subcommand)]
    Staff(accounts::StaffCommand),
    /// Servers containers run on.
    #[command(subcommand)]
    Server(infrastructure::ServerCommand),
    /// Distros containers boot from.
    #[command(subcommand)]
    Distro(infrastructure::DistroCommand),
    /// Legions: servers sharing a failover address.
    #[command(subcommand)]
    Legion(legions::LegionCommand),
    /// Containers of any customer.
    #[command(subcommand)]
    Container(containers::ContainerCommand),
    /// Domains of any customer.
    #[command(subcommand)]
    Domain(domains::DomainCommand),
    /// News shown to customers (and, when public, to visitors).
    #[command(subcommand)]
    News(domains::NewsCommand),
    /// Products customers can order.
    #[command(subcommand)]
    Product(products::ProductCommand),
    /// Billing: orders, bills, payments, balances and VAT rates.
    #[command(flatten)]
    Billing(billing::BillingCommand),
    /// WireGuard VPN pools, and the networks customers hold.
    #[command(subcommand)]
    Vpn(vpn::VpnCommand),
}

/// The staff API as `berth admin` calls it: answers as JSON, failures as the API's reason.
pub(crate) struct Staff {
    client: StaffClient,
    /// Print JSON instead of tables.
    pub json: bool,
}

impl Staff {
    /// `GET path`.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.client.get(path).await.map_err(failure)
    }

    /// `POST path` with `body`.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.client.post(path, body).await.map_err(failure)
    }

    /// `DELETE path`, with `body` when the operation takes one.
    pub async fn delete(&self, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        self.client.delete(path, body).await.map_err(failure)
    }
}

/// An API failure as the CLI reports it: the reason, or else the status's phrase.
fn failure(error: ApiError) -> anyhow::Error {
    anyhow!(error
        .reason
        .unwrap_or_else(|| phrase(error.status).to_owned()))
}

/// What stays as it is in a path segment or query value: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` as one path segment or query value (percent-encoded).
pub(crate) fn encoded(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// `body` without the fields that are `null` (flags not given), so the API applies its
/// defaults.
pub(crate) fn given(body: Value) -> Value {
    match body {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    }
}

/// The rows of a listing the API answered (an array).
pub(crate) fn rows_of(answer: &Value) -> &[Value] {
    answer.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Reads a file the operator names (a CSV, a key), with its name in the error.
pub(crate) fn read_file(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Runs an admin command.
pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let staff = Staff {
        client: StaffClient::new(store).map_err(failure)?,
        json: args.json,
    };
    match args.command {
        AdminCommand::Customer(command) => accounts::customer(&staff, command).await,
        AdminCommand::Staff(command) => accounts::staff(&staff, command).await,
        AdminCommand::Server(command) => infrastructure::server(&staff, command).await,
        AdminCommand::Distro(command) => infrastructure::distro(&staff, command).await,
        AdminCommand::Legion(command) => legions::run(&staff, command).await,
        AdminCommand::Container(command) => containers::run(&staff, command).await,
        AdminCommand::Domain(command) => domains::domain(&staff, command).await,
        AdminCommand::News(command) => domains::news(&staff, command).await,
        AdminCommand::Product(command) => products::run(&staff, command).await,
        AdminCommand::Billing(command) => billing::run(&staff, command).await,
        AdminCommand::Vpn(command) => vpn::run(&staff, command).await,
    }
}
