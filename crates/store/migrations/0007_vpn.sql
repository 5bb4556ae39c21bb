-- WireGuard VPN networks: pools staff define, cut into customer networks of one size.

CREATE TABLE vpn_pools (
    id @PK@,
    -- The pool's base address as text, canonical (std::net's Display).
    network TEXT NOT NULL UNIQUE,
    network_size BIGINT NOT NULL,
    subnetwork_size BIGINT NOT NULL,
    -- The berth server running the WireGuard interface.
    vpn_hostname TEXT NOT NULL,
    wg_name TEXT NOT NULL,
    listen_port BIGINT NOT NULL,
    -- Kept only when staff handed it over (the 2020 manual's way); otherwise it stays on
    -- the VPN host.
    private_key TEXT,
    public_key TEXT NOT NULL,
    -- The product a network of this pool is ordered as (uncloud: 120 CHF a year); none:
    -- its networks are not billed.
    product_id BIGINT REFERENCES products (id),
    created_at BIGINT NOT NULL,
    UNIQUE (wg_name, vpn_hostname)
);

-- Network `pool_index` of its pool; deleting a network frees its index for the next.
CREATE TABLE vpn_networks (
    id @PK@,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    pool_id BIGINT NOT NULL REFERENCES vpn_pools (id),
    pool_index BIGINT NOT NULL,
    public_key TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    UNIQUE (pool_id, pool_index)
);
CREATE INDEX vpn_networks_customer ON vpn_networks (customer_id);

-- The VPN network (its database id) an order bills; kept after the network is deleted.
ALTER TABLE orders ADD COLUMN vpn_network_id BIGINT;
