//! `berth admin vpn`: WireGuard VPN pools and the networks customers hold, straight on the
//! store, as `/v1/admin/vpnpool` does over HTTP.

use std::path::PathBuf;

use anyhow::Context;
use berth_api::admin::vpn::pool_json;
use berth_api::customer::vpn::network_json;
use berth_model::vpn::{PoolDefinition, DEFAULT_LISTEN_PORT};
use berth_store::vpn::ServerKey;
use berth_store::Store;
use clap::Subcommand;

use super::billing::{customer_id, find_product};
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
pub async fn run(store: &Store, command: VpnCommand, json: bool) -> anyhow::Result<()> {
    match command {
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
            let definition = PoolDefinition::new(
                &network,
                network_size,
                subnetwork_size,
                &host,
                &wg_name,
                listen_port,
            )?;
            let key = match (public_key, private_key_file) {
                (Some(public), _) => ServerKey::Public(public),
                (None, Some(file)) => ServerKey::Private(
                    std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?,
                ),
                (None, None) => anyhow::bail!("give --public-key or --private-key-file"),
            };
            let product = match product {
                Some(key) => Some(find_product(store, &key).await?.id),
                None => None,
            };
            let pool = store.create_vpn_pool(&definition, &key, product).await?;
            print_object(&pool_json(&pool), json);
        }
        VpnCommand::List => {
            let rows: Vec<_> = store.vpn_pools().await?.iter().map(pool_json).collect();
            print_rows(
                &rows,
                &[
                    "id",
                    "network",
                    "network_size",
                    "subnetwork_size",
                    "vpn_hostname",
                    "wg_name",
                    "used",
                    "free",
                ],
                json,
            );
        }
        VpnCommand::Delete { id } => {
            store.delete_vpn_pool(id).await?;
            print_object(&serde_json::json!({"id": id, "message": "deleted"}), json);
        }
        VpnCommand::Networks { customer } => {
            let id = customer_id(store, &customer).await?;
            let rows: Vec<_> = store
                .vpn_networks(id)
                .await?
                .iter()
                .map(network_json)
                .collect();
            print_rows(
                &rows,
                &[
                    "id",
                    "network",
                    "network_size",
                    "vpn_hostname",
                    "wireguard_public_key",
                ],
                json,
            );
        }
    }
    Ok(())
}
