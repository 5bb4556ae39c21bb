#!/usr/bin/env bash
# Compare berth binaries (say, before and after a change) with nginx on one case, in the
# same run, interleaved and repeated: keep-alive to the fast HTTP upstream by default
# (HOST=bench.local: the uWSGI vassal over the uwsgi protocol). Pinned as run.sh: every
# proxy on cpu 0 with one worker, wrk and the backends on cpu 1. Prints req/s, p99 and the
# proxy's CPU time per request (user and system, from /proc), which moves much less than
# req/s when other work shares the machine.
#
#   bench/router/compare.sh /tmp/berth-before target/release/berth
#   DUR=5 REPEAT=5 HOST=bench.local bench/router/compare.sh BINARY...
#
# Needs: wrk nginx-light uwsgi-core uwsgi-plugin-python3 python3 (Debian).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DUR=${DUR:-8}
REPEAT=${REPEAT:-3}
CONNS=${CONNS:-64}
HOST=${HOST:-bench-http.local}
[ $# -ge 1 ] || { echo "usage: $0 BERTH_BINARY..."; exit 1; }

W=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    rm -rf "$W"
}
trap cleanup EXIT

nginx_conf() { # name body
    cat > "$W/$1.conf" <<CONF
worker_processes 1;
daemon off;
pid $W/$1.pid;
error_log $W/$1.err warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $W; proxy_temp_path $W; uwsgi_temp_path $W;
    fastcgi_temp_path $W; scgi_temp_path $W;
    keepalive_requests 1000000;
$2
}
CONF
}
nginx_conf backend '    server { listen 127.0.0.1:29001; location / { return 200 "hello world\n"; } }'
nginx_conf proxy '
    upstream httpb { server 127.0.0.1:29001; keepalive 64; }
    server { listen 127.0.0.1:28082; server_name bench-http.local;
        location / { proxy_pass http://httpb; proxy_http_version 1.1; proxy_set_header Connection ""; } }
    server { listen 127.0.0.1:28082; server_name bench.local;
        location / { include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:29002; } }'
taskset -c 1 nginx -c "$W/backend.conf" -e "$W/backend.err" & PIDS+=($!)
taskset -c 1 uwsgi --plugin python3 --master --processes 2 --socket 127.0.0.1:29002 \
    --route-run 'return:200' --disable-logging --logto "$W/vassal.log" & PIDS+=($!)
taskset -c 0 nginx -c "$W/proxy.conf" -e "$W/proxy.err" & NGINX_PID=$!; PIDS+=($!)

BERTH_PIDS=()
for i in $(seq 0 $(($# - 1))); do
    bin=${*:$((i + 1)):1}
    taskset -c 0 "$bin" router --http "127.0.0.1:$((28100 + i))" \
        --subscription-udp "127.0.0.1:$((22600 + i))" --threads 1 > "$W/berth$i.log" 2>&1 &
    BERTH_PIDS+=($!); PIDS+=($!)
    sleep 0.3
    python3 "$HERE/subscribe.py" announce "127.0.0.1:$((22600 + i))" bench-http.local 127.0.0.1:29001 http & PIDS+=($!)
    python3 "$HERE/subscribe.py" announce "127.0.0.1:$((22600 + i))" bench.local 127.0.0.1:29002 & PIDS+=($!)
done
sleep 1.5

cpu_ticks() { # pid: "user system" clock ticks of the process and its children
    local u=0 s=0 p
    for p in "$1" $(pgrep -P "$1" || true); do
        read -r pu ps < <(awk '{print $14, $15}' "/proc/$p/stat" 2>/dev/null || echo "0 0")
        u=$((u + pu)); s=$((s + ps))
    done
    echo "$u $s"
}
one() { # label pid port
    local before after out
    before=$(cpu_ticks "$2")
    out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -H "Host: $HOST" "http://127.0.0.1:$3/" 2>&1)
    after=$(cpu_ticks "$2")
    awk -v b="$before" -v a="$after" -v hz="$(getconf CLK_TCK)" -v label="$1" '
        /requests in/ {n = $1} /Requests\/sec/ {r = $2} $1 == "99%" {p = $2}
        /Non-2xx|Socket errors/ {e = e " " $0}
        END {
            split(b, x, " "); split(a, y, " ")
            u = (y[1] - x[1]) * 1e6 / hz / n; s = (y[2] - x[2]) * 1e6 / hz / n
            printf "| %s | %s | %s | %.1f | %.1f | %.1f |%s\n", label, r, p, u + s, u, s, e
        }' <<<"$out"
}

echo "| round, proxy | req/s | p99 | CPU µs/req | user | system |"
echo "|---|---|---|---|---|---|"
for round in $(seq 1 "$REPEAT"); do
    one "$round, nginx" "$NGINX_PID" 28082
    for i in "${!BERTH_PIDS[@]}"; do
        one "$round, ${*:$((i + 1)):1}" "${BERTH_PIDS[$i]}" $((28100 + i))
    done
done
