#!/usr/bin/env bash
# Measures berth node on this machine (as root, with runc and uWSGI installed):
#   the API call that makes a container runnable -> its Emperor runs    (target p50 <= 1 s)
#   a vassal file written -> its domain answers through the router       (target p50 <= 2 s)
# Usage: sudo bench/node/run.sh [rounds, default 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${1:-20}"
[ "$(id -u)" = 0 ] || { echo "bench/node needs root (runc)"; exit 1; }
cargo build --release -q -p berth
export BERTH=target/release/berth
MACHINE="$(mktemp -d /var/tmp/berth-bench-node.XXXXXX)"
DATA="$MACHINE/data"
RUNC_ROOT="$MACHINE/runc"
CGROUP="berth-bench-$$"
chmod 755 "$MACHINE"   # the customers reach their homes through it
mkdir -p "$DATA"

cleanup() {
    [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
        runc --root "$RUNC_ROOT" delete --force "$id" || true
    done
    for controller in /sys/fs/cgroup/*; do rmdir "$controller/$CGROUP" 2>/dev/null || true; done
    nft delete table ip berth 2>/dev/null || true   # berth up's container network
    rm -rf "$MACHINE"
}
trap cleanup EXIT

ROUTER_PORT=18000
BERTH_LOG=warn "$BERTH" up --data "$DATA" --api 127.0.0.1:0 --router-http "127.0.0.1:$ROUTER_PORT" \
    --router-https 127.0.0.1:0 --router-stats 127.0.0.1:0 --ssh 127.0.0.1:0 \
    --containers "$MACHINE/containers" --bundles "$MACHINE/bundles" --runc-root "$RUNC_ROOT" \
    --cgroup-parent "$CGROUP" > "$DATA/banner" 2>"$MACHINE/stderr" &
PID=$!
for _ in $(seq 1 100); do grep -q "^Router:" "$DATA/banner" 2>/dev/null && break; sleep 0.1; done
grep -q "^Containers: on" "$DATA/banner" || { cat "$DATA/banner" "$MACHINE/stderr"; exit 1; }
echo "== berth node, $ROUNDS rounds, load: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/node/measure.py "$DATA" "$RUNC_ROOT" "$MACHINE/containers" "127.0.0.1:$ROUTER_PORT" "$ROUNDS"
