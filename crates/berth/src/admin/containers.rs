//! `berth admin container`: containers of any customer, over `/v1/admin/containers`.

use berth_model::billing::parse_day;
use clap::Subcommand;
use serde_json::{json, Value};

use super::{given, rows_of, Staff};
use crate::output::{print_object, print_rows};

/// Containers.
#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
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

/// Runs a `berth admin container` command.
pub async fn run(staff: &Staff, command: ContainerCommand) -> anyhow::Result<()> {
    let answer = match command {
        ContainerCommand::Create {
            customer,
            server,
            name,
            memory,
            storage,
            period,
        } => {
            let body = json!({"customer": customer, "server": server, "name": name,
                "memory": memory, "storage": storage, "period": period});
            let created = staff.post("/v1/admin/containers", &given(body)).await?;
            if staff.json {
                println!("{}", json!({"uid": created["uid"]}));
            } else {
                println!("{}", created["uid"]);
            }
            return Ok(());
        }
        ContainerCommand::Resize {
            uid,
            memory,
            storage,
            preview,
        } => {
            if memory.is_none() && storage.is_none() {
                anyhow::bail!("give --memory and/or --storage");
            }
            let query = if preview { "?preview=1" } else { "" };
            let path = format!("/v1/admin/containers/{uid}{query}");
            let body = given(json!({"memory": memory, "storage": storage}));
            let answer = staff.post(&path, &body).await?;
            match answer.get("quote") {
                // A preview prints the quote of the order change itself, when there is one.
                Some(quote) if !quote.is_null() => quote.clone(),
                _ => answer,
            }
        }
        ContainerCommand::MaxAlarms { uid, count } => {
            let path = format!("/v1/admin/containers/{uid}/max-alarms");
            staff.post(&path, &json!({"count": count})).await?
        }
        ContainerCommand::Bill { uid, period, start } => {
            let starts_at = start.map(|day| parse_day("start", &day)).transpose()?;
            let body = given(json!({"period": period, "starts_at": starts_at}));
            let path = format!("/v1/admin/containers/{uid}/order");
            staff.post(&path, &body).await?
        }
        ContainerCommand::Delete { uid } => {
            let path = format!("/v1/admin/containers/{uid}");
            let mut answer = staff.delete(&path, None).await?;
            answer["uid"] = Value::from(uid);
            answer
        }
        ContainerCommand::List => {
            let rows = staff.get("/v1/admin/containers").await?;
            let columns = [
                "uid",
                "name",
                "customer",
                "server",
                "memory",
                "storage",
                "distro_name",
            ];
            print_rows(rows_of(&rows), &columns, staff.json);
            return Ok(());
        }
    };
    print_object(&answer, staff.json);
    Ok(())
}
