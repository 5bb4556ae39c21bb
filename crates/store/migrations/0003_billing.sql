-- Billing: products, orders, billing addresses, bills and their records, payments, VAT rates.
-- Money is a decimal string (rust_decimal), times are unix seconds, intervals inclusive.

CREATE TABLE products (
    id @PK@,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    one_time_price TEXT NOT NULL,
    -- One "period=price" pair per line, e.g. "30d=10.00".
    prices TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE billing_addresses (
    id @PK@,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    street TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    vat_number TEXT,
    active BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX billing_addresses_customer ON billing_addresses (customer_id);

CREATE TABLE orders (
    id @PK@,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    billing_address_id BIGINT NOT NULL REFERENCES billing_addresses (id),
    product_id BIGINT NOT NULL REFERENCES products (id),
    period TEXT NOT NULL,
    one_time_price TEXT NOT NULL,
    recurring_price TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT,
    -- At most one order replaces another.
    replaces_id BIGINT UNIQUE REFERENCES orders (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_address ON orders (billing_address_id, starts_at);

CREATE TABLE bills (
    id @PK@,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    billing_address_id BIGINT NOT NULL REFERENCES billing_addresses (id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    is_final BIGINT NOT NULL DEFAULT 0,
    net TEXT NOT NULL,
    vat_rate TEXT NOT NULL,
    vat TEXT NOT NULL,
    gross TEXT NOT NULL,
    reverse_charge BIGINT NOT NULL,
    vat_note TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (billing_address_id, starts_at)
);
CREATE INDEX bills_customer ON bills (customer_id, starts_at);

CREATE TABLE bill_records (
    id @PK@,
    bill_id BIGINT NOT NULL REFERENCES bills (id) ON DELETE CASCADE,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    is_recurring BIGINT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    seconds BIGINT NOT NULL,
    quantity TEXT NOT NULL,
    price TEXT NOT NULL,
    sum TEXT NOT NULL,
    UNIQUE (bill_id, order_id, is_recurring)
);

CREATE TABLE payments (
    id @PK@,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    amount TEXT NOT NULL,
    source TEXT NOT NULL,
    note TEXT,
    paid_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX payments_customer ON payments (customer_id);

CREATE TABLE vat_rates (
    id @PK@,
    starts_at BIGINT NOT NULL,
    stops_at BIGINT,
    -- One territory code per line, as in the CSV.
    territories TEXT NOT NULL,
    currency TEXT NOT NULL,
    rate TEXT NOT NULL,
    rate_type TEXT NOT NULL,
    description TEXT NOT NULL
);
