#!/usr/bin/env bash
# Measures the customer API with wrk on loopback, on SQLite and on PostgreSQL:
#   GET /api/me          keep-alive throughput (target on SQLite: >= 15 000 req/s)
#   GET /api/containers  for an account with 1 000 containers (target on SQLite: p99 <= 5 ms)
# Usage: bench/api/run.sh [seconds per run, default 10]
# BERTH_BENCH_BIN=path/to/berth measures that build instead of building this tree (to compare
# two builds under the same machine load).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-10}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
# Run a private copy: the target directory may be shared with other builds.
BIN_DIR="$(mktemp -d)"
trap 'rm -rf "$BIN_DIR"' EXIT
if [ -n "${BERTH_BENCH_BIN:-}" ]; then
    cp "$BERTH_BENCH_BIN" "$BIN_DIR/berth"
else
    cargo build --release -q -p berth
    cp "${CARGO_TARGET_DIR:-target}/release/berth" "$BIN_DIR/berth"
fi
BERTH="$BIN_DIR/berth"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
PG="${BERTH_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
PORT=18080

bench_store() {
    local label="$1" database_url="$2"
    local data; data="$(mktemp -d)"
    local args=(up --data "$data" --api "127.0.0.1:$PORT" --router-http 127.0.0.1:0 --router-https 127.0.0.1:0 --router-stats 127.0.0.1:0 --no-node)
    [ -n "$database_url" ] && args+=(--database-url "$database_url")
    BERTH_LOG=warn "$BERTH" "${args[@]}" > "$data/banner" 2>/dev/null &
    local pid=$!
    for _ in $(seq 1 100); do grep -q "^Router:" "$data/banner" 2>/dev/null && break; sleep 0.1; done
    local staff; staff="$(grep -o 'curl -u admin:[^ ]*' "$data/banner" | head -n1 | cut -d' ' -f3)"
    local base="http://127.0.0.1:$PORT"
    curl -sf -u "$staff" -d '{"username": "bench", "password": "bench-password"}' "$base/v1/admin/customers" >/dev/null
    local server; server="$(curl -sf -u "$staff" "$base/v1/admin/servers" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')"
    for i in $(seq 1 1000); do
        printf '{"customer": "bench", "server": "%s", "name": "c%04d", "memory": 1, "storage": 1}' "$server" "$i"
        echo
    done | while read -r body; do curl -sf -u "$staff" -d "$body" "$base/v1/admin/containers" >/dev/null; done
    local auth; auth="Authorization: Basic $(printf 'demo:%s' "$(grep -o 'demo / [^ ]*' "$data/banner" | cut -d' ' -f3)" | base64 -w0)"
    local bench_auth; bench_auth="Authorization: Basic $(printf 'bench:bench-password' | base64 -w0)"
    local count; count="$(curl -sf -H "$bench_auth" "$base/api/containers" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
    [ -f "$data/berth.db-wal" ] && echo "== $label: WAL after seeding: $(( $(stat -c %s "$data/berth.db-wal") / 1024 )) KiB"
    echo "== $label: GET /api/containers right after seeding, 1 thread, 4 connections, ${DURATION}s"
    wrk -t1 -c4 -d"${DURATION}s" --latency -H "$bench_auth" "$base/api/containers" | grep -E "Requests/sec|  99%|  50%"
    echo "== $label: GET /api/me, keep-alive, 2 threads, 64 connections, ${DURATION}s (load $(cut -d' ' -f1 /proc/loadavg))"
    wrk -t2 -c64 -d"${DURATION}s" --latency -H "$auth" "$base/api/me" | grep -E "Requests/sec|  99%|  50%"
    echo "== $label: GET /api/containers ($count containers), 1 thread, 4 connections, ${DURATION}s (load $(cut -d' ' -f1 /proc/loadavg))"
    wrk -t1 -c4 -d"${DURATION}s" --latency -H "$bench_auth" "$base/api/containers" | grep -E "Requests/sec|  99%|  50%"
    echo "== $label: RSS of berth: $(( $(awk '/VmRSS/ {print $2}' /proc/$pid/status) / 1024 )) MB"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$data"
}

bench_store sqlite ""
name="berth_bench_$$"
psql "$PG/postgres" -qc "CREATE DATABASE $name" >/dev/null
bench_store postgres "$PG/$name"
psql "$PG/postgres" -qc "DROP DATABASE $name WITH (FORCE)" >/dev/null
