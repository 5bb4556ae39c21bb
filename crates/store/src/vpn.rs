//! WireGuard VPN pools and the customer networks cut from them. A network is its pool's
//! index `pool_index`; creating one takes the smallest free index in the same write, and
//! the unique (pool, index) pair makes a concurrent double allocation impossible.

use std::net::IpAddr;

use berth_model::billing::OrderTerms;
use berth_model::node::{VpnInterfaceSpec, VpnPeerSpec};
use berth_model::vpn::{self, PoolDefinition};
use sqlx::Row;

use crate::error::conflict_on_unique;
use crate::order_subjects::{active_address_in, end_order_of, Subject};
use crate::orders::{insert_order, NewOrder};
use crate::products::{product_from_row, PRODUCT_COLUMNS};
use crate::{time, Result, Store, StoreError};

/// A pool with its use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpnPool {
    /// Database id.
    pub id: i64,
    /// What staff defined.
    pub definition: PoolDefinition,
    /// The server's WireGuard public key.
    pub public_key: String,
    /// The server's private key, when the platform holds it.
    pub private_key: Option<String>,
    /// The product its networks are ordered as; `None`: they are not billed.
    pub product_id: Option<i64>,
    /// Customer networks in use.
    pub used: i64,
}

impl VpnPool {
    /// How many more networks it can hand out.
    pub fn free(&self) -> i64 {
        self.definition.capacity().saturating_sub(self.used)
    }
}

/// A customer's network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpnNetwork {
    /// Database id.
    pub id: i64,
    /// Its owner's username.
    pub owner: String,
    /// Its address.
    pub address: IpAddr,
    /// Its prefix length.
    pub size: u8,
    /// The customer's WireGuard public key.
    pub public_key: String,
    /// The pool's host, interface and key, for the customer's configuration.
    pub pool: VpnPool,
}

/// The server's key for a new pool: its private key (kept) or only its public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerKey {
    /// The private key, from which the public key is derived; the platform keeps it.
    Private(String),
    /// Only the public key; the private key stays on the VPN host.
    Public(String),
}

const POOL_COLUMNS: &str = "p.id, p.network, p.network_size, p.subnetwork_size, \
     p.vpn_hostname, p.wg_name, p.listen_port, p.private_key, p.public_key, p.product_id, \
     (SELECT COUNT(*) FROM vpn_networks n WHERE n.pool_id = p.id) AS used";

fn pool_from_row(row: &sqlx::any::AnyRow) -> Result<VpnPool> {
    let definition = PoolDefinition::new(
        &row.try_get::<String, _>("network")?,
        row.try_get("network_size")?,
        row.try_get("subnetwork_size")?,
        &row.try_get::<String, _>("vpn_hostname")?,
        &row.try_get::<String, _>("wg_name")?,
        row.try_get("listen_port")?,
    )?;
    Ok(VpnPool {
        id: row.try_get("id")?,
        definition,
        public_key: row.try_get("public_key")?,
        private_key: row.try_get("private_key")?,
        product_id: row.try_get("product_id")?,
        used: row.try_get("used")?,
    })
}

fn network_from_row(row: &sqlx::any::AnyRow) -> Result<VpnNetwork> {
    let pool = pool_from_row(row)?;
    let index: i64 = row.try_get("pool_index")?;
    let size = pool.definition.subnetwork_size;
    let address = vpn::network_address(pool.definition.network, size, index).ok_or_else(|| {
        StoreError::Database(sqlx::Error::Decode(
            format!("vpn network index {index} lies outside its pool").into(),
        ))
    })?;
    Ok(VpnNetwork {
        id: row.try_get("network_id")?,
        owner: row.try_get("username")?,
        address,
        size,
        public_key: row.try_get("network_key")?,
        pool,
    })
}

/// A network's columns after [`POOL_COLUMNS`].
const NETWORK_FROM: &str = "n.id AS network_id, n.pool_index, n.public_key AS network_key, \
     u.username FROM vpn_networks n JOIN vpn_pools p ON p.id = n.pool_id \
     JOIN users u ON u.customer_id = n.customer_id";

impl Store {
    /// Every pool, by id, with its use.
    pub async fn vpn_pools(&self) -> Result<Vec<VpnPool>> {
        sqlx::query(&format!(
            "SELECT {POOL_COLUMNS} FROM vpn_pools p ORDER BY p.id"
        ))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(pool_from_row)
        .collect()
    }

    /// One pool.
    pub async fn vpn_pool(&self, id: i64) -> Result<VpnPool> {
        let row = sqlx::query(&format!(
            "SELECT {POOL_COLUMNS} FROM vpn_pools p WHERE p.id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("vpn pool"))?;
        pool_from_row(&row)
    }

    /// Adds a pool whose networks are ordered as `product` (none: not billed); its network,
    /// or its interface on its host, taken is a conflict, and so is a pool overlapping
    /// another.
    pub async fn create_vpn_pool(
        &self,
        definition: &PoolDefinition,
        key: &ServerKey,
        product: Option<i64>,
    ) -> Result<VpnPool> {
        if let Some(product) = product {
            let product = self.product(product).await?;
            if !product
                .pricing
                .prices
                .iter()
                .any(|p| p.period.is_recurring())
            {
                return Err(berth_model::ValidationError::new(
                    "product",
                    format!(
                        "{} has no recurring period to bill a network by",
                        product.name
                    ),
                )
                .into());
            }
        }
        let (private_key, public_key) = match key {
            ServerKey::Private(private) => (
                Some(vpn::wireguard_key("wireguard_private_key", private)?),
                vpn::public_key_of(private)?,
            ),
            ServerKey::Public(public) => {
                (None, vpn::wireguard_key("wireguard_public_key", public)?)
            }
        };
        let mut write = self.write().await?;
        let existing: Vec<(String, i64)> =
            sqlx::query_as("SELECT network, network_size FROM vpn_pools")
                .fetch_all(&mut *write.tx)
                .await?;
        for (network, size) in existing {
            let overlaps = network.parse::<IpAddr>().ok().is_some_and(|other| {
                u8::try_from(size).is_ok_and(|size| {
                    vpn::overlaps((definition.network, definition.network_size), (other, size))
                })
            });
            if overlaps {
                return Err(StoreError::Conflict(format!(
                    "the pool overlaps the pool {network}/{size}"
                )));
            }
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO vpn_pools (network, network_size, subnetwork_size, vpn_hostname, \
             wg_name, listen_port, private_key, public_key, product_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(definition.network.to_string())
        .bind(i64::from(definition.network_size))
        .bind(i64::from(definition.subnetwork_size))
        .bind(&definition.vpn_hostname)
        .bind(&definition.wg_name)
        .bind(i64::from(definition.listen_port))
        .bind(&private_key)
        .bind(&public_key)
        .bind(product)
        .bind(time::now())
        .fetch_one(&mut *write.tx)
        .await
        .map_err(conflict_on_unique(format!(
            "{} already has an interface {}",
            definition.vpn_hostname, definition.wg_name
        )))?;
        touch_vpn_host(&mut write, &definition.vpn_hostname).await?;
        write.commit().await?;
        self.vpn_pool(id).await
    }

    /// Deletes a pool that hands out no network (a conflict otherwise).
    pub async fn delete_vpn_pool(&self, id: i64) -> Result<()> {
        let pool = self.vpn_pool(id).await?;
        if pool.used > 0 {
            return Err(StoreError::Conflict(format!(
                "the pool still has {} networks; they must be deleted first",
                pool.used
            )));
        }
        let mut write = self.write().await?;
        sqlx::query("DELETE FROM vpn_pools WHERE id = $1")
            .bind(id)
            .execute(&mut *write.tx)
            .await?;
        touch_vpn_host(&mut write, &pool.definition.vpn_hostname).await?;
        write.commit().await
    }

    /// A customer's networks, oldest first.
    pub async fn vpn_networks(&self, customer_id: i64) -> Result<Vec<VpnNetwork>> {
        sqlx::query(&format!(
            "SELECT {POOL_COLUMNS}, {NETWORK_FROM} WHERE n.customer_id = $1 ORDER BY n.id"
        ))
        .bind(customer_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(network_from_row)
        .collect()
    }

    /// One of a customer's networks; another customer's is not found.
    pub async fn vpn_network(&self, customer_id: i64, id: i64) -> Result<VpnNetwork> {
        let row = sqlx::query(&format!(
            "SELECT {POOL_COLUMNS}, {NETWORK_FROM} WHERE n.customer_id = $1 AND n.id = $2"
        ))
        .bind(customer_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("vpn network"))?;
        network_from_row(&row)
    }

    /// Gives a customer the next free network of `size` for `public_key`, from the first
    /// pool of that size with room, and places its order when the pool has a product (in
    /// the same write: without a billing address nothing is kept). No pool of that size is
    /// a validation error naming the sizes there are; every such pool full is a conflict; a
    /// key in use is a conflict.
    pub async fn create_vpn_network(
        &self,
        customer_id: i64,
        size: i64,
        public_key: &str,
    ) -> Result<VpnNetwork> {
        let public_key = vpn::wireguard_key("wireguard_public_key", public_key)?;
        let pools = self.vpn_pools().await?;
        let candidates: Vec<&VpnPool> = pools
            .iter()
            .filter(|p| i64::from(p.definition.subnetwork_size) == size)
            .collect();
        if candidates.is_empty() {
            let mut sizes: Vec<u8> = pools.iter().map(|p| p.definition.subnetwork_size).collect();
            sizes.sort_unstable();
            sizes.dedup();
            return Err(berth_model::ValidationError::new(
                "network_size",
                format!(
                    "no pool available for networks with size = {size}. Available are: {sizes:?}"
                ),
            )
            .into());
        }
        let mut write = self.write().await?;
        for pool in candidates {
            // Read before the write began: a pool deleted since is skipped.
            let still_there: Option<i64> =
                sqlx::query_scalar("SELECT id FROM vpn_pools WHERE id = $1")
                    .bind(pool.id)
                    .fetch_optional(&mut *write.tx)
                    .await?;
            if still_there.is_none() {
                continue;
            }
            let index: i64 = sqlx::query_scalar(
                "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM vpn_networks WHERE pool_id = $1 \
                 AND pool_index = 0) THEN 0 ELSE (SELECT MIN(a.pool_index) + 1 FROM \
                 vpn_networks a WHERE a.pool_id = $1 AND NOT EXISTS (SELECT 1 FROM \
                 vpn_networks b WHERE b.pool_id = $1 AND b.pool_index = a.pool_index + 1)) END",
            )
            .bind(pool.id)
            .fetch_one(&mut *write.tx)
            .await?;
            if index >= pool.definition.capacity() {
                continue;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO vpn_networks (customer_id, pool_id, pool_index, public_key, \
                 created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(customer_id)
            .bind(pool.id)
            .bind(index)
            .bind(&public_key)
            .bind(time::now())
            .fetch_one(&mut *write.tx)
            .await
            .map_err(conflict_on_unique(
                "this WireGuard public key is already used for a VPN network",
            ))?;
            if let Some(product) = pool.product_id {
                order_network(&mut write, customer_id, product, id).await?;
            }
            touch_vpn_host(&mut write, &pool.definition.vpn_hostname).await?;
            write.commit().await?;
            return self.vpn_network(customer_id, id).await;
        }
        Err(StoreError::Conflict(format!(
            "every pool of /{size} networks is full"
        )))
    }

    /// Deletes a customer's network; its index is free for the next, and its order ends
    /// with its committed period.
    pub async fn delete_vpn_network(&self, customer_id: i64, id: i64) -> Result<()> {
        let network = self.vpn_network(customer_id, id).await?;
        let mut write = self.write().await?;
        end_order_of(
            &mut write,
            customer_id,
            Subject::VpnNetwork(id),
            time::now(),
        )
        .await?;
        sqlx::query("DELETE FROM vpn_networks WHERE id = $1 AND customer_id = $2")
            .bind(id)
            .bind(customer_id)
            .execute(&mut *write.tx)
            .await?;
        touch_vpn_host(&mut write, &network.pool.definition.vpn_hostname).await?;
        write.commit().await
    }

    /// The WireGuard interfaces of the server named `hostname`: one per pool it serves,
    /// with a peer per customer network.
    pub async fn vpn_interfaces(&self, hostname: &str) -> Result<Vec<VpnInterfaceSpec>> {
        let pools: Vec<VpnPool> = self
            .vpn_pools()
            .await?
            .into_iter()
            .filter(|p| p.definition.vpn_hostname == hostname)
            .collect();
        let mut hosted = Vec::with_capacity(pools.len());
        for pool in pools {
            let rows = sqlx::query(&format!(
                "SELECT {POOL_COLUMNS}, {NETWORK_FROM} WHERE n.pool_id = $1 ORDER BY n.pool_index"
            ))
            .bind(pool.id)
            .fetch_all(self.pool())
            .await?;
            let peers = rows
                .iter()
                .map(network_from_row)
                .map(|network| {
                    network.map(|n| VpnPeerSpec {
                        owner: n.owner,
                        public_key: n.public_key,
                        allowed_ips: format!("{}/{}", n.address, n.size),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            hosted.push(VpnInterfaceSpec {
                wg_name: pool.definition.wg_name,
                listen_port: pool.definition.listen_port,
                private_key: pool.private_key,
                peers,
            });
        }
        Ok(hosted)
    }
}

/// Places the order of the new network `network_id` as `product_id`, for the product's first
/// recurring period, starting now.
async fn order_network(
    write: &mut crate::write::Write,
    customer_id: i64,
    product_id: i64,
    network_id: i64,
) -> Result<i64> {
    let row = sqlx::query(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1"
    ))
    .bind(product_id)
    .fetch_one(&mut *write.tx)
    .await?;
    let product = product_from_row(&row)?;
    let address_id = active_address_in(write, customer_id, "VPN networks").await?;
    let period = product
        .pricing
        .first_recurring_period()
        .ok_or_else(|| StoreError::Conflict(format!("{} has no recurring period", product.name)))?;
    let terms = OrderTerms {
        starts_at: time::now(),
        ends_at: None,
        period,
        one_time_price: product.pricing.one_time_price,
        recurring_price: product.pricing.price_for(period)?,
    };
    insert_order(
        write,
        &NewOrder {
            customer_id,
            address_id,
            product_id,
            terms: &terms,
            replaces: None,
            container: None,
            vpn_network: Some(network_id),
        },
    )
    .await
}

/// Wakes the node of the server named `hostname`, if there is one: its VPN peers changed.
async fn touch_vpn_host(write: &mut crate::write::Write, hostname: &str) -> Result<()> {
    let server: Option<i64> = sqlx::query_scalar("SELECT id FROM servers WHERE name = $1")
        .bind(hostname)
        .fetch_optional(&mut *write.tx)
        .await?;
    if let Some(id) = server {
        write.touch_server(id).await?;
    }
    Ok(())
}
