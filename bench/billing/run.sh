#!/usr/bin/env bash
# Measures bill generation: 10 000 customers, each with a billing address and 10 orders
# (100 000 orders: a one-time price and a 30-day recurring price each, started during
# October 2026), billed up to 2026-10-31 with `berth admin bills generate`, on SQLite and on
# PostgreSQL. Target: <= 10 s on one core. The second run of each store shows the cost of
# regenerating (which changes nothing).
# Usage: bench/billing/run.sh [customers, default 10000] [orders per customer, default 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
CUSTOMERS="${1:-10000}"
PER_CUSTOMER="${2:-10}"
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
cargo build --release -q -p berth
BERTH="$PWD/target/release/berth"
PG="${BERTH_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
OCTOBER=1790812800   # 2026-10-01 00:00:00 UTC

# The seed, in SQL that SQLite and PostgreSQL both run. Customers get placeholder keys: the
# bench measures billing, not RSA key generation.
seed_sql() {
    cat <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $CUSTOMERS)
INSERT INTO customers (uuid, email, rsa_private_key, rsa_public_key, created_at)
SELECT 'bench-' || i, 'c' || i || '@example.com', 'x', 'x', 0 FROM n;
INSERT INTO billing_addresses (customer_id, name, street, postal_code, city, country, vat_number, active, created_at)
SELECT id, 'Customer ' || id, 'Street 1', '8000', 'City',
       CASE WHEN id % 3 = 0 THEN 'DE' WHEN id % 3 = 1 THEN 'CH' ELSE 'US' END, NULL, 1, 0
FROM customers WHERE uuid LIKE 'bench-%';
INSERT INTO products (name, description, one_time_price, prices, active, created_at)
VALUES ('bench', '', '5.00', '30d=10.00', 1, 0);
WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < $PER_CUSTOMER)
INSERT INTO orders (customer_id, billing_address_id, product_id, period, one_time_price, recurring_price, starts_at, ends_at, replaces_id, created_at)
SELECT a.customer_id, a.id, (SELECT id FROM products WHERE name = 'bench'), '30d', '5.00', '10.00',
       $OCTOBER + (a.id * 7919 + k.j * 104729) % (30 * 86400), NULL, NULL, 0
FROM billing_addresses a, k;
SQL
}

generate() {
    local label="$1"; shift
    for run in first again; do
        local started ended
        started=$(date +%s.%N)
        taskset -c 0 "$BERTH" admin --json "$@" bills generate --until 2026-10-31 --provider-country CH > /tmp/berth-bench-billing.json
        ended=$(date +%s.%N)
        printf '== %s, %s run: %.2f s, %s\n' "$label" "$run" "$(echo "$ended - $started" | bc)" "$(cat /tmp/berth-bench-billing.json | tr -d '\n ')"
    done
}

echo "== $CUSTOMERS customers, $((CUSTOMERS * PER_CUSTOMER)) orders; load: $(cut -d' ' -f1-3 /proc/loadavg)"

data="$(mktemp -d)"
"$BERTH" migrate --data "$data" >/dev/null
seed_sql | sqlite3 "$data/berth.db"
generate SQLite --data "$data"
rm -rf "$data"

database="berth_bench_billing_$$"
psql "$PG/postgres" -qc "CREATE DATABASE $database" >/dev/null
"$BERTH" migrate --database-url "$PG/$database" >/dev/null
seed_sql | psql "$PG/$database" -q >/dev/null
generate PostgreSQL --database-url "$PG/$database"
psql "$PG/postgres" -qc "DROP DATABASE $database WITH (FORCE)" >/dev/null
