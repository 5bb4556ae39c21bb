//! `berth admin customer` and `berth admin staff`: accounts, over `/v1/admin/customers` and
//! `/v1/admin/staff`.

use clap::Subcommand;
use serde_json::json;

use super::{encoded, given, rows_of, Staff};
use crate::output::{print_object, print_rows};

/// Customer accounts.
#[derive(Debug, Subcommand)]
pub enum CustomerCommand {
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

/// Staff accounts.
#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff user (prints a generated password when none is given).
    Create {
        /// Login name.
        username: String,
        /// Password (generated when absent).
        #[arg(long)]
        password: Option<String>,
    },
}

/// Runs a `berth admin customer` command.
pub async fn customer(staff: &Staff, command: CustomerCommand) -> anyhow::Result<()> {
    let answer = match command {
        CustomerCommand::Create {
            username,
            password,
            email,
            company,
            vat,
        } => {
            let body = json!({"username": username, "password": password, "email": email,
                "company": company, "vat": vat});
            staff.post("/v1/admin/customers", &given(body)).await?
        }
        CustomerCommand::List => {
            let rows = staff.get("/v1/admin/customers").await?;
            let columns = ["username", "uuid", "email", "company", "containers"];
            print_rows(rows_of(&rows), &columns, staff.json);
            return Ok(());
        }
        CustomerCommand::Passwd { username, password } => {
            let path = format!("/v1/admin/customers/{}/password", encoded(&username));
            staff
                .post(&path, &given(json!({"password": password})))
                .await?
        }
        CustomerCommand::Address {
            username,
            name,
            street,
            postal_code,
            city,
            country,
            vat_number,
        } => {
            let path = format!("/v1/admin/customers/{}/billing-address", encoded(&username));
            let body = json!({"name": name, "street": street, "postal_code": postal_code,
                "city": city, "country": country, "vat_number": vat_number});
            staff.post(&path, &given(body)).await?
        }
    };
    print_object(&answer, staff.json);
    Ok(())
}

/// Runs a `berth admin staff` command.
pub async fn staff(staff: &Staff, command: StaffCommand) -> anyhow::Result<()> {
    let StaffCommand::Create { username, password } = command;
    let body = json!({"username": username, "password": password});
    let answer = staff.post("/v1/admin/staff", &given(body)).await?;
    print_object(&answer, staff.json);
    Ok(())
}
