#!/usr/bin/env bash
# Measures the failover of a legion address (as root, with keepalived, uWSGI and curl): three
# servers as network namespaces, each running berth node (keepalived, VRRP advert 1 s) and
# berth router; the Lord's namespace is killed and the time until the domain answers again on
# the legion address from a client namespace is printed (the multihost test, run N times).
# Usage: sudo bench/legion/run.sh [rounds, default 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${1:-5}"
[ "$(id -u)" = 0 ] || { echo "bench/legion needs root (network namespaces)"; exit 1; }
LOG="$(mktemp /var/tmp/berth-bench-legion.XXXXXX)"
trap 'rm -f "$LOG"' EXIT
echo "load before: $(uptime)"
for round in $(seq 1 "$ROUNDS"); do
    if ! cargo nextest run --workspace --no-capture -E 'binary_id(berth::multihost)' >"$LOG" 2>&1; then
        echo "round $round failed:"
        tail -n 40 "$LOG"
        exit 1
    fi
    echo "round $round: $(grep -E '^legion (failover|handover)' "$LOG" | paste -sd ';')"
done
echo "load after: $(uptime)"
