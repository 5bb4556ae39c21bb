//! `berth admin vpn`: WireGuard VPN pools and the networks customers hold, over
//! `/v1/admin/vpnpool` and `/v1/admin/vpn-networks`.

use std::path::PathBuf;

use berth_model::vpn::DEFAULT_LISTEN_PORT;
use clap::Subcommand;
use serde_json::json;

use super::products::find_product;
use super::{encoded, given, read_file, rows_of, Staff};
use crate::output::{print_object, print_rows};

/// VPN pools and networks.
#[derive(Debug, Subcommand)]
pub enum VpnCommand {
    /// Add a pool: a prefix routed to a berth server, cut into customer networks of one size.
    Add {
        /// The pool's base address (2a0a:e5c1:200::).
        network: String,
        /// The pool's prefix length (40).
        #[arg(long)]
        network_size: i64,
        /// The prefix length of each customer network (48).
        #[arg(long)]
        subnetwork_size: i64,
        /// The berth server (its name) running the WireGuard interface.
        #[arg(long)]
        host: String,
        /// The WireGuard interface on that server.
        #[arg(long, default_value = "wg0")]
        wg_name: String,
        /// The UDP port it listens on.
        #[arg(long, default_value_t = DEFAULT_LISTEN_PORT)]
        listen_port: i64,
        /// The server's public key (`wg pubkey`); its private key stays on the server, in
        /// `<wg_name>.key` beside the configuration.
        #[arg(
            long,
            conflicts_with = "private_key_file",
            required_unless_present = "private_key_file"
        )]
        public_key: Option<String>,
        /// A file holding the server's private key, which the platform then keeps.
        #[arg(long)]
        private_key_file: Option<PathBuf>,
        /// The product each network is ordered as (name or id).
        #[arg(long)]
        product: Option<String>,
    },
    /// List the pools with their use.
    List,
    /// Delete a pool that hands out no network.
    Delete {
        /// The pool's id.
        id: i64,
    },
    /// List a customer's networks.
    Networks {
        /// The customer's username.
        customer: String,
    },
}

/// Runs a `berth admin vpn` command.
pub async fn run(staff: &Staff, command: VpnCommand) -> anyhow::Result<()> {
    let answer = match command {
        VpnCommand::Add {
            network,
            network_size,
            subnetwork_size,
            host,
            wg_name,
            listen_port,
            public_key,
            private_key_file,
            product,
        } => {
            let private_key = private_key_file.as_deref().map(read_file).transpose()?;
            let product = match product {
                Some(key) => Some(find_product(staff, &key).await?),
                None => None,
            };
            let body = json!({"network": network, "network_size": network_size,
                "subnetwork_size": subnetwork_size, "vpn_hostname": host, "wg_name": wg_name,
                "listen_port": listen_port, "wireguard_public_key": public_key,
                "wireguard_private_key": private_key, "product": product});
            staff.post("/v1/admin/vpnpool", &given(body)).await?
        }
        VpnCommand::List => {
            let rows = staff.get("/v1/admin/vpnpool").await?;
            let columns = [
                "id",
                "network",
                "network_size",
                "subnetwork_size",
                "vpn_hostname",
                "wg_name",
                "used",
                "free",
            ];
            print_rows(rows_of(&rows), &columns, staff.json);
            return Ok(());
        }
        VpnCommand::Delete { id } => {
            let mut answer = staff
                .delete(&format!("/v1/admin/vpnpool/{id}"), None)
                .await?;
            answer["id"] = json!(id);
            answer
        }
        VpnCommand::Networks { customer } => {
            let path = format!("/v1/admin/vpn-networks?customer={}", encoded(&customer));
            let rows = staff.get(&path).await?;
            let columns = [
                "id",
                "network",
                "network_size",
                "vpn_hostname",
                "wireguard_public_key",
            ];
            print_rows(rows_of(&rows), &columns, staff.json);
            return Ok(());
        }
    };
    print_object(&answer, staff.json);
    Ok(())
}
