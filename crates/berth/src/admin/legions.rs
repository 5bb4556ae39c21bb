//! `berth admin legion`: legions (servers sharing a failover address) and their members,
//! over `/v1/admin/legions`.

use clap::Subcommand;
use serde_json::{json, Value};

use super::{encoded, given, rows_of, Staff};
use crate::output::{print_object, print_rows};

/// Legions and their servers.
#[derive(Debug, Subcommand)]
pub enum LegionCommand {
    /// Create a legion with its failover address (IPv4); add servers with `legion add`.
    Create {
        /// The legion's name.
        name: String,
        /// The failover address the Lord holds.
        #[arg(long)]
        address: String,
        /// A note for staff.
        #[arg(long)]
        note: Option<String>,
    },
    /// Put a server in a legion, or give a member a new weight.
    Add {
        /// The legion's name.
        legion: String,
        /// The server's name.
        server: String,
        /// The server's weight in the legion: the highest is the Lord [9999].
        #[arg(long)]
        weight: Option<i64>,
    },
    /// Take a server out of a legion.
    Remove {
        /// The legion's name.
        legion: String,
        /// The server's name.
        server: String,
    },
    /// List the legions with their servers.
    List,
    /// Delete a legion; its servers let the address go.
    Delete {
        /// The legion's name.
        name: String,
    },
}

/// `name(weight)` of each server of a legion, for the table.
fn members(legion: &Value) -> Value {
    let servers = rows_of(&legion["servers"])
        .iter()
        .map(|s| format!("{}({})", s["name"].as_str().unwrap_or("?"), s["weight"]))
        .collect::<Vec<_>>();
    Value::from(servers.join(","))
}

/// Runs a `berth admin legion` command.
pub async fn run(staff: &Staff, command: LegionCommand) -> anyhow::Result<()> {
    let answer = match command {
        LegionCommand::Create {
            name,
            address,
            note,
        } => {
            let body = json!({"name": name, "address": address, "note": note});
            staff.post("/v1/admin/legions", &given(body)).await?
        }
        LegionCommand::Add {
            legion,
            server,
            weight,
        } => {
            let path = format!("/v1/admin/legions/{}/servers", encoded(&legion));
            let body = json!({"server": server, "weight": weight});
            staff.post(&path, &given(body)).await?
        }
        LegionCommand::Remove { legion, server } => {
            let path = format!(
                "/v1/admin/legions/{}/servers/{}",
                encoded(&legion),
                encoded(&server)
            );
            staff.delete(&path, None).await?
        }
        LegionCommand::List => {
            let mut rows = staff.get("/v1/admin/legions").await?;
            if !staff.json {
                if let Some(list) = rows.as_array_mut() {
                    for legion in list {
                        legion["members"] = members(legion);
                    }
                }
            }
            let columns = ["id", "name", "address", "virtual_router_id", "members"];
            print_rows(rows_of(&rows), &columns, staff.json);
            return Ok(());
        }
        LegionCommand::Delete { name } => {
            let path = format!("/v1/admin/legions/{}", encoded(&name));
            let mut answer = staff.delete(&path, None).await?;
            answer["name"] = json!(name);
            answer
        }
    };
    let mut shown = answer;
    if !staff.json && shown.get("servers").is_some() {
        shown["servers"] = members(&shown);
    }
    print_object(&shown, staff.json);
    Ok(())
}
