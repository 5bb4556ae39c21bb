-- Containers as products: a product may also price containers per MB of memory and storage,
-- and an order may be a container's, priced from the size it records.

-- One "period=memory_per_mb,storage_per_mb" triple per line, e.g. "30d=0.01,0.0005"; empty
-- for a product that does not price containers.
ALTER TABLE products ADD COLUMN resource_prices TEXT NOT NULL DEFAULT '';

-- The container (its database id) an order bills, with the size it was priced from. No
-- foreign key: a deleted container's orders and bills still name it, and container ids are
-- never reused.
ALTER TABLE orders ADD COLUMN container_id BIGINT;
ALTER TABLE orders ADD COLUMN memory BIGINT;
ALTER TABLE orders ADD COLUMN storage BIGINT;
CREATE INDEX orders_container ON orders (container_id, ends_at);
