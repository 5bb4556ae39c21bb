//! `berth admin server` and `berth admin distro`: what the platform runs on, over
//! `/v1/admin/servers` and `/v1/admin/distros`.

use clap::Subcommand;
use serde_json::json;

use super::{encoded, given, rows_of, Staff};
use crate::output::{print_object, print_rows};

/// Servers.
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
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

/// Distros.
#[derive(Debug, Subcommand)]
pub enum DistroCommand {
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

/// Runs a `berth admin server` command.
pub async fn server(staff: &Staff, command: ServerCommand) -> anyhow::Result<()> {
    let answer = match command {
        ServerCommand::Add {
            name,
            address,
            memory,
            storage,
            weight,
            datacenter,
            owner,
        } => {
            let body = json!({"name": name, "address": address, "memory": memory,
                "storage": storage, "weight": weight, "datacenter": datacenter, "owner": owner});
            staff.post("/v1/admin/servers", &given(body)).await?
        }
        ServerCommand::Token { name } => {
            let path = format!("/v1/admin/servers/{}/join-token", encoded(&name));
            staff.post(&path, &json!({})).await?
        }
        ServerCommand::List => {
            let rows = staff.get("/v1/admin/servers").await?;
            let columns = [
                "name",
                "address",
                "memory",
                "used_memory",
                "storage",
                "used_storage",
                "owner",
                "datacenter",
            ];
            print_rows(rows_of(&rows), &columns, staff.json);
            return Ok(());
        }
    };
    print_object(&answer, staff.json);
    Ok(())
}

/// Runs a `berth admin distro` command.
pub async fn distro(staff: &Staff, command: DistroCommand) -> anyhow::Result<()> {
    match command {
        DistroCommand::Add { name, path } => {
            let body = json!({"name": name, "path": path});
            let answer = staff.post("/v1/admin/distros", &body).await?;
            print_object(&answer, staff.json);
        }
        DistroCommand::List => {
            let rows = staff.get("/v1/admin/distros").await?;
            print_rows(rows_of(&rows), &["id", "name", "path"], staff.json);
        }
    }
    Ok(())
}
