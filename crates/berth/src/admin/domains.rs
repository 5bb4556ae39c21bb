//! `berth admin domain` and `berth admin news`, over `/v1/admin/domains` and
//! `/v1/admin/news`.

use clap::Subcommand;
use serde_json::json;

use super::{rows_of, Staff};
use crate::output::{print_object, print_rows};

/// Domains.
#[derive(Debug, Subcommand)]
pub enum DomainCommand {
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

/// News.
#[derive(Debug, Subcommand)]
pub enum NewsCommand {
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

/// Runs a `berth admin domain` command.
pub async fn domain(staff: &Staff, command: DomainCommand) -> anyhow::Result<()> {
    let answer = match command {
        DomainCommand::Add { name, customer } => {
            let body = json!({"name": name, "customer": customer});
            staff.post("/v1/admin/domains", &body).await?
        }
        DomainCommand::Delete { name } => {
            let body = json!({"name": name});
            let mut answer = staff.delete("/v1/admin/domains", Some(&body)).await?;
            answer["name"] = json!(name);
            answer
        }
        DomainCommand::List => {
            let rows = staff.get("/v1/admin/domains").await?;
            let columns = ["id", "name", "customer", "tags", "note"];
            print_rows(rows_of(&rows), &columns, staff.json);
            return Ok(());
        }
    };
    print_object(&answer, staff.json);
    Ok(())
}

/// Runs a `berth admin news` command.
pub async fn news(staff: &Staff, command: NewsCommand) -> anyhow::Result<()> {
    match command {
        NewsCommand::Add { content, public } => {
            let body = json!({"content": content, "public": public});
            let answer = staff.post("/v1/admin/news", &body).await?;
            print_object(&answer, staff.json);
        }
        NewsCommand::List => {
            let rows = staff.get("/v1/admin/news").await?;
            let columns = ["id", "date", "public", "content"];
            print_rows(rows_of(&rows), &columns, staff.json);
        }
    }
    Ok(())
}
