//! `berth admin`: the staff's tooling, working on the store directly (like Django's
//! manage.py), with the same `--data` / `--database-url` as `berth up`.

use anyhow::Context;
use berth_api::admin::views;
use berth_model::container::ContainerUpdate;
use berth_model::domain::DomainName;
use berth_store::containers::{Actor, ContainerRelations};
use berth_store::customers::NewCustomer;
use berth_store::passwords;
use berth_store::servers::NewServer;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::output::{print_object, print_rows};
use crate::store_args::StoreArgs;

mod billing;
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
    Customer(CustomerCommand),
    /// Staff accounts.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Servers containers run on.
    #[command(subcommand)]
    Server(ServerCommand),
    /// Distros containers boot from.
    #[command(subcommand)]
    Distro(DistroCommand),
    /// Containers of any customer.
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Domains of any customer.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// News shown to customers (and, when public, to visitors).
    #[command(subcommand)]
    News(NewsCommand),
    /// Billing: products, orders, bills, payments, balances and VAT rates.
    #[command(flatten)]
    Billing(billing::BillingCommand),
    /// WireGuard VPN pools, and the networks customers hold.
    #[command(subcommand)]
    Vpn(vpn::VpnCommand),
}

#[derive(Debug, Subcommand)]
enum NewsCommand {
    /// Publish a news item (private to customers unless --public).
    Add {
        /// The text.
        content: String,
        /// Show it to visitors who are not logged in, too.
        #[arg(long)]
        public: bool,
    },
    /// List every news item, newest first.
    List,
}

#[derive(Debug, Subcommand)]
enum CustomerCommand {
    /// Open a customer account (prints a generated password when none is given).
    Create {
        /// Login name.
        username: String,
        /// Password (generated when absent).
        #[arg(long)]
        password: Option<String>,
        /// Contact e-mail.
        #[arg(long)]
        email: Option<String>,
        /// Company name.
        #[arg(long)]
        company: Option<String>,
        /// VAT number.
        #[arg(long)]
        vat: Option<String>,
    },
    /// List customers.
    List,
    /// Set a customer's password (prints a generated one when none is given).
    Passwd {
        /// Login name.
        username: String,
        /// New password (generated when absent).
        #[arg(long)]
        password: Option<String>,
    },
    /// Set a customer's billing address (it becomes the active one; earlier bills keep
    /// theirs), as the customer would at /v1/my/billing-address.
    Address {
        /// Login name.
        username: String,
        /// Name on the bills (person or company).
        #[arg(long)]
        name: String,
        /// Street and number.
        #[arg(long)]
        street: String,
        /// Postal code.
        #[arg(long)]
        postal_code: String,
        /// City.
        #[arg(long)]
        city: String,
        /// Country, two letters (ISO 3166-1), which decides VAT.
        #[arg(long)]
        country: String,
        /// VAT number of a business (EU businesses get the reverse charge).
        #[arg(long)]
        vat_number: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Create a staff user (prints a generated password when none is given).
    Create {
        /// Login name.
        username: String,
        /// Password (generated when absent).
        #[arg(long)]
        password: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ServerCommand {
    /// Register a server; prints a one-time join token for its `berth node`.
    Add {
        /// Unique name.
        name: String,
        /// IP address.
        #[arg(long)]
        address: String,
        /// Memory offered to containers, MB.
        #[arg(long)]
        memory: i64,
        /// Storage offered to containers, MB.
        #[arg(long)]
        storage: i64,
        /// Weight among servers.
        #[arg(long)]
        weight: Option<i64>,
        /// Datacenter name.
        #[arg(long)]
        datacenter: Option<String>,
        /// Username of the customer who owns it (a dedicated server).
        #[arg(long)]
        owner: Option<String>,
    },
    /// List servers with their capacity and use.
    List,
    /// Issue a new one-time join token for a server (`berth node --token`); once used, it
    /// replaces the server's credential.
    Token {
        /// The server's name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum DistroCommand {
    /// Register a distro.
    Add {
        /// Unique name.
        name: String,
        /// Root directory on every server.
        #[arg(long)]
        path: String,
    },
    /// List distros.
    List,
}

#[derive(Debug, Subcommand)]
enum ContainerCommand {
    /// Create a container (prints its uid).
    Create {
        /// Owner's username.
        #[arg(long)]
        customer: String,
        /// Server name.
        #[arg(long)]
        server: String,
        /// Container name.
        #[arg(long)]
        name: String,
        /// Memory limit, MB.
        #[arg(long)]
        memory: i64,
        /// Storage quota, MB.
        #[arg(long)]
        storage: i64,
        /// The period its order is placed for, when a product prices containers (default:
        /// that product's first period).
        #[arg(long)]
        period: Option<String>,
    },
    /// Start billing a container that has no order (made before a product priced
    /// containers, or migrated): places its order, priced from its size.
    Bill {
        /// Container uid.
        uid: i64,
        /// The order's period (default: the container product's first).
        #[arg(long)]
        period: Option<String>,
        /// The first day billed, YYYY-MM-DD (UTC); default: now.
        #[arg(long)]
        start: Option<String>,
    },
    /// Change a container's memory and/or storage; a billed container's order follows
    /// (more is an upgrade at once, less a downgrade when the committed period ends).
    Resize {
        /// Container uid.
        uid: i64,
        /// New memory limit, MB.
        #[arg(long)]
        memory: Option<i64>,
        /// New storage quota, MB.
        #[arg(long)]
        storage: Option<i64>,
        /// Only print what the resize would do to the container's order; change nothing.
        #[arg(long)]
        preview: bool,
    },
    /// Set how many alarms a container keeps (the oldest go first).
    MaxAlarms {
        /// Container uid.
        uid: i64,
        /// Ring size, 1 to 100000.
        count: i64,
    },
    /// Delete a container (its home stays on the server).
    Delete {
        /// Container uid.
        uid: i64,
    },
    /// List every container.
    List,
}

#[derive(Debug, Subcommand)]
enum DomainCommand {
    /// Give a domain to a customer without a DNS proof.
    Add {
        /// Domain name (`.example.com` for a wildcard).
        name: String,
        /// Username of the customer who gets it.
        #[arg(long)]
        customer: String,
    },
    /// Delete a domain, whoever holds it.
    Delete {
        /// Domain name.
        name: String,
    },
    /// List every domain with its owner.
    List,
}

/// Runs an admin command.
pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let json = args.json;
    match args.command {
        AdminCommand::Customer(CustomerCommand::Create {
            username,
            password,
            email,
            company,
            vat,
        }) => {
            let (password, generated) = passwords::given_or_generated(password);
            let customer = store
                .create_customer(NewCustomer {
                    username,
                    password: password.clone(),
                    email: email.unwrap_or_default(),
                    company,
                    vat,
                })
                .await?;
            let mut answer = json!({"username": customer.username, "uuid": customer.uuid});
            if generated {
                answer["password"] = json!(password);
            }
            print_object(&answer, json);
        }
        AdminCommand::Customer(CustomerCommand::List) => {
            let rows: Vec<_> = store
                .customers()
                .await?
                .iter()
                .map(views::customer)
                .collect();
            print_rows(
                &rows,
                &["username", "uuid", "email", "company", "containers"],
                json,
            );
        }
        AdminCommand::Customer(CustomerCommand::Passwd { username, password }) => {
            let (password, generated) = passwords::given_or_generated(password);
            store.set_password(&username, &password).await?;
            let mut answer = json!({"username": username, "message": "password changed"});
            if generated {
                answer["password"] = json!(password);
            }
            print_object(&answer, json);
        }
        AdminCommand::Customer(CustomerCommand::Address {
            username,
            name,
            street,
            postal_code,
            city,
            country,
            vat_number,
        }) => {
            let address = berth_model::billing::BillingAddress::new(
                &name,
                &street,
                &postal_code,
                &city,
                &country,
                vat_number.as_deref(),
            )?;
            let customer = store
                .customer_by_username(&username)
                .await
                .with_context(|| format!("no customer {username}"))?;
            let stored = store.set_billing_address(customer.id, &address).await?;
            print_object(&berth_api::customer::billing::address_json(&stored), json);
        }
        AdminCommand::Staff(StaffCommand::Create { username, password }) => {
            let (password, generated) = passwords::given_or_generated(password);
            store.create_staff(&username, &password).await?;
            let mut answer = json!({"username": username});
            if generated {
                answer["password"] = json!(password);
            }
            print_object(&answer, json);
        }
        AdminCommand::Server(ServerCommand::Add {
            name,
            address,
            memory,
            storage,
            weight,
            datacenter,
            owner,
        }) => {
            let server = store
                .add_server(NewServer {
                    name,
                    address,
                    memory,
                    storage,
                    weight,
                    datacenter,
                    owner,
                })
                .await?;
            let mut answer = views::server(&server);
            answer["join_token"] = json!(store.issue_join_token(server.id).await?);
            print_object(&answer, json);
        }
        AdminCommand::Server(ServerCommand::Token { name }) => {
            let server = store
                .server_by_name(&name)
                .await
                .with_context(|| format!("no server {name}"))?;
            let token = store.issue_join_token(server.id).await?;
            print_object(&json!({"server": server.name, "join_token": token}), json);
        }
        AdminCommand::Server(ServerCommand::List) => {
            let rows: Vec<_> = store.servers().await?.iter().map(views::server).collect();
            print_rows(
                &rows,
                &[
                    "name",
                    "address",
                    "memory",
                    "used_memory",
                    "storage",
                    "used_storage",
                    "owner",
                    "datacenter",
                ],
                json,
            );
        }
        AdminCommand::Distro(DistroCommand::Add { name, path }) => {
            let distro = store.add_distro(&name, &path).await?;
            print_object(&views::distro(&distro), json);
        }
        AdminCommand::Distro(DistroCommand::List) => {
            let rows: Vec<_> = store.distros().await?.iter().map(views::distro).collect();
            print_rows(&rows, &["id", "name", "path"], json);
        }
        AdminCommand::Container(ContainerCommand::Create {
            customer,
            server,
            name,
            memory,
            storage,
            period,
        }) => {
            let period = period.map(|p| p.parse()).transpose()?;
            let customer = store
                .customer_by_username(&customer)
                .await
                .with_context(|| format!("no customer {customer}"))?;
            let server = store
                .server_by_name(&server)
                .await
                .with_context(|| format!("no server {server}"))?;
            let created = store
                .create_container(customer.id, server.id, &name, memory, storage, period)
                .await?;
            if json {
                println!("{}", json!({"uid": created.summary.uid}));
            } else {
                println!("{}", created.summary.uid);
            }
        }
        AdminCommand::Container(ContainerCommand::Resize {
            uid,
            memory,
            storage,
            preview,
        }) => {
            if memory.is_none() && storage.is_none() {
                anyhow::bail!("give --memory and/or --storage");
            }
            if preview {
                let quote = store.preview_container_resize(uid, memory, storage).await?;
                let answer = match &quote {
                    Some(quote) => berth_api::customer::billing::quote_json(quote),
                    None => json!({"preview": true, "quote": null}),
                };
                print_object(&answer, json);
                return Ok(());
            }
            let update = ContainerUpdate {
                memory: memory
                    .map(|mb| berth_model::container::resource_mb("memory", mb))
                    .transpose()?,
                storage: storage
                    .map(|mb| berth_model::container::resource_mb("storage", mb))
                    .transpose()?,
                ..ContainerUpdate::default()
            };
            let container = store
                .update_container(Actor::Staff, uid, &update, &ContainerRelations::default())
                .await?;
            print_object(&views::container(&container.summary), json);
        }
        AdminCommand::Container(ContainerCommand::MaxAlarms { uid, count }) => {
            store.set_max_alarms(uid, count).await?;
            print_object(&json!({"uid": uid, "max_alarms": count}), json);
        }
        AdminCommand::Container(ContainerCommand::Bill { uid, period, start }) => {
            let period = period.map(|p| p.parse()).transpose()?;
            let starts_at = match start {
                Some(day) => berth_model::billing::parse_day("start", &day)?,
                None => berth_store::time::now(),
            };
            let order = store.order_container(uid, period, starts_at).await?;
            print_object(&berth_api::customer::billing::order_json(&order), json);
        }
        AdminCommand::Container(ContainerCommand::Delete { uid }) => {
            store.delete_container(uid).await?;
            print_object(&json!({"uid": uid, "message": "deleted"}), json);
        }
        AdminCommand::Container(ContainerCommand::List) => {
            let rows: Vec<_> = store
                .all_containers()
                .await?
                .iter()
                .map(views::container)
                .collect();
            print_rows(
                &rows,
                &[
                    "uid",
                    "name",
                    "customer",
                    "server",
                    "memory",
                    "storage",
                    "distro_name",
                ],
                json,
            );
        }
        AdminCommand::Domain(DomainCommand::Add { name, customer }) => {
            let domain = store
                .assign_domain(&DomainName::parse(&name)?, &customer)
                .await?;
            print_object(&views::domain(&domain), json);
        }
        AdminCommand::Domain(DomainCommand::Delete { name }) => {
            let name = DomainName::parse(&name)?;
            store.delete_domain_named(Actor::Staff, &name).await?;
            print_object(&json!({"name": name.as_str(), "message": "deleted"}), json);
        }
        AdminCommand::Domain(DomainCommand::List) => {
            let rows: Vec<_> = store
                .domains(Actor::Staff, &[])
                .await?
                .iter()
                .map(views::domain)
                .collect();
            print_rows(&rows, &["id", "name", "customer", "tags", "note"], json);
        }
        AdminCommand::News(NewsCommand::Add { content, public }) => {
            let item = store.add_news(&content, public).await?;
            print_object(&views::news(&item), json);
        }
        AdminCommand::News(NewsCommand::List) => {
            let rows: Vec<_> = store
                .news(true, None)
                .await?
                .iter()
                .map(views::news)
                .collect();
            print_rows(&rows, &["id", "date", "public", "content"], json);
        }
        AdminCommand::Billing(command) => billing::run(&store, command, json).await?,
        AdminCommand::Vpn(command) => vpn::run(&store, command, json).await?,
    }
    Ok(())
}
