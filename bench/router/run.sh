#!/usr/bin/env bash
# berth router against nginx and uWSGI's own http router, on loopback, same backends:
#   - a fast HTTP upstream (nginx answering `return 200`), and
#   - a real uWSGI vassal (C-only `--route-run return:200`, reached over the uwsgi protocol).
# By default each proxy gets one core (taskset -c 0, one worker/thread/process) and wrk and
# the backends share the other; MODE=shared gives everything both cores and each proxy two
# workers. Prints a markdown table: req/s, p99, proxy RSS, and the proxy's CPU time per
# request (user + system, from /proc; steadier than req/s when other work shares the cpus).
# Then: added p99 latency at half of peak, subscription-to-routable latency and RSS with
# 10 000 subscribed domains.
#
#   bench/router/run.sh            # DUR=10 CONNS=64 REPEAT=1 by default
#   DUR=15 REPEAT=3 bench/router/run.sh
#   MODE=shared bench/router/run.sh
#
# Needs: wrk nginx-light uwsgi-core uwsgi-plugin-python3 openssl python3 curl (Debian).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DUR=${DUR:-10}
CONNS=${CONNS:-64}
REPEAT=${REPEAT:-1}
BERTH=${BERTH:-${CARGO_TARGET_DIR:-$ROOT/target}/release/berth}
if [ ! -x "$BERTH" ]; then (cd "$ROOT" && cargo build --release -p berth); fi
for tool in wrk nginx uwsgi openssl python3 curl taskset; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk nginx-light uwsgi-core uwsgi-plugin-python3)"; exit 1; }
done

W=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
# MODE=pinned (default): each proxy gets cpu 0 and one worker; wrk and the backends cpu 1.
# MODE=shared: everything may use both cpus; each proxy runs two workers/threads/processes.
MODE=${MODE:-pinned}
if [ "$MODE" = shared ]; then
    PROXY_CPU=0,1 LOAD_CPU=0,1 WORKERS=2
else
    PROXY_CPU=0 LOAD_CPU=1 WORKERS=1
fi

wait_http() { # url host
    for _ in $(seq 1 100); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' -k -H "Host: $2" "$1")" = 200 ]; then return 0; fi
        sleep 0.1
    done
    echo "no 200 from $1 (Host: $2)"; exit 1
}

cpu_ticks() { # pid: CPU time (user + system, clock ticks) of the process and its children
    local total=0 p
    for p in "$1" $(pgrep -P "$1" || true); do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

rss_mb() { # pid: RSS of the process and its children, in MB
    local total=0 p
    for p in "$1" $(pgrep -P "$1" || true); do
        total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    awk -v kb="$total" 'BEGIN { printf "%.1f", kb / 1024 }'
}

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/key.pem" -out "$W/crt.pem" -days 2 \
    -subj /CN=bench.local -addext subjectAltName=DNS:bench.local,DNS:bench-http.local 2>/dev/null
mkdir -p "$W/tmp"

nginx_conf() { # name body
    cat > "$W/$1.conf" <<CONF
worker_processes $WORKERS;
daemon off;
pid $W/$1.pid;
error_log $W/$1.err warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $W/tmp; proxy_temp_path $W/tmp; uwsgi_temp_path $W/tmp;
    fastcgi_temp_path $W/tmp; scgi_temp_path $W/tmp;
    keepalive_requests 1000000;
$2
}
CONF
}

# --- backends (load core) -------------------------------------------------------------
nginx_conf backend '    server { listen 127.0.0.1:19001; location / { return 200 "hello world\n"; } }'
taskset -c $LOAD_CPU nginx -c "$W/backend.conf" -e "$W/backend.err" & PIDS+=($!)
taskset -c $LOAD_CPU uwsgi --plugin python3 --master --processes 2 --socket 127.0.0.1:19002 \
    --route-run 'return:200' --disable-logging --logto "$W/vassal.log" & PIDS+=($!)

# --- proxies (proxy core) -------------------------------------------------------------
taskset -c $PROXY_CPU "$BERTH" router --http 127.0.0.1:18081 --https 127.0.0.1:18441 \
    --cert "$W/crt.pem" --key "$W/key.pem" --subscription-udp 127.0.0.1:12601 \
    --stats 127.0.0.1:18091 --threads $WORKERS > "$W/berth.log" 2>&1 & BERTH_PID=$!; PIDS+=($!)
nginx_conf proxy "
    upstream httpb { server 127.0.0.1:19001; keepalive 64; }
    server {
        listen 127.0.0.1:18082; listen 127.0.0.1:18442 ssl;
        ssl_certificate $W/crt.pem; ssl_certificate_key $W/key.pem;
        server_name bench.local;
        location / { include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:19002; }
    }
    server {
        listen 127.0.0.1:18082; listen 127.0.0.1:18442 ssl;
        ssl_certificate $W/crt.pem; ssl_certificate_key $W/key.pem;
        server_name bench-http.local;
        location / { proxy_pass http://httpb; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
    }"
taskset -c $PROXY_CPU nginx -c "$W/proxy.conf" -e "$W/proxy.err" & NGINX_PID=$!; PIDS+=($!)
taskset -c $PROXY_CPU uwsgi --plugins corerouter,http --master --http 127.0.0.1:18083 \
    --https "127.0.0.1:18443,$W/crt.pem,$W/key.pem" --http-subscription-server 127.0.0.1:12603 \
    --http-keepalive=1 --http-processes $WORKERS --subscription-dotsplit --logto "$W/uwsgi-router.log" & UWSGI_PID=$!; PIDS+=($!)

# Vassal-style announcements every 5 s.
python3 "$HERE/subscribe.py" announce 127.0.0.1:12601 bench.local 127.0.0.1:19002 & PIDS+=($!)
python3 "$HERE/subscribe.py" announce 127.0.0.1:12601 bench-http.local 127.0.0.1:19001 http & PIDS+=($!)
python3 "$HERE/subscribe.py" announce 127.0.0.1:12603 bench.local 127.0.0.1:19002 & PIDS+=($!)

wait_http http://127.0.0.1:19001/ x
for port in 18081 18082 18083; do wait_http "http://127.0.0.1:$port/" bench.local; done
for port in 18081 18082; do wait_http "http://127.0.0.1:$port/" bench-http.local; done

LAST_RPS=0
run_wrk() { # label pid url host mode
    local label=$1 pid=$2 url=$3 host=$4 mode=$5 extra=() out rps p99 bad t0 t1 cpu
    [ "$mode" = close ] && extra=(-H "Connection: close")
    t0=$(cpu_ticks "$pid")
    out=$(taskset -c $LOAD_CPU wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -H "Host: $host" "${extra[@]}" "$url" 2>&1)
    t1=$(cpu_ticks "$pid")
    # The proxy's CPU time per request (less sensitive to other load than req/s).
    cpu=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '/requests in/ {n=$1} END {printf "%.1f", n ? t * 1e6 / hz / n : 0}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    bad=$(awk '/Non-2xx/ {print $NF} /Socket errors/ {sub(/.*errors: /, ""); print}' <<<"$out" | paste -sd' ')
    LAST_RPS=${rps%.*}
    echo "| $label | $(rss_mb "$pid") | $rps | $p99 | $cpu | ${bad:-none} |"
}

echo
echo "## $(date -u +%F) — $MODE: wrk -t1 -c$CONNS -d${DUR}s, proxy ($WORKERS worker(s)) on cpu $PROXY_CPU, wrk + backend on cpu $LOAD_CPU"
echo
echo "| proxy / backend / connection / scheme | proxy RSS MB | req/s | p99 | proxy CPU µs/req | errors |"
echo "|---|---|---|---|---|---|"
declare -A PEAK
for round in $(seq 1 "$REPEAT"); do
  for scheme in http https; do
    for mode in keep-alive close; do
      if [ $scheme = http ]; then b=18081 n=18082 u=18083; else b=18441 n=18442 u=18443; fi
      run_wrk "berth / uwsgi vassal / $mode / $scheme" $BERTH_PID "$scheme://127.0.0.1:$b/" bench.local $mode
      run_wrk "nginx / uwsgi vassal / $mode / $scheme" $NGINX_PID "$scheme://127.0.0.1:$n/" bench.local $mode
      run_wrk "uWSGI http router / uwsgi vassal / $mode / $scheme" $UWSGI_PID "$scheme://127.0.0.1:$u/" bench.local $mode
      run_wrk "berth / HTTP upstream / $mode / $scheme" $BERTH_PID "$scheme://127.0.0.1:$b/" bench-http.local $mode
      PEAK[berth-$scheme-$mode]=$LAST_RPS
      run_wrk "nginx / HTTP upstream / $mode / $scheme" $NGINX_PID "$scheme://127.0.0.1:$n/" bench-http.local $mode
      PEAK[nginx-$scheme-$mode]=$LAST_RPS
    done
  done
done

# --- added latency at half of berth's keep-alive peak ---------------------------------
half=$(( ${PEAK[berth-http-keep-alive]} / 2 ))
c=32
delay=$(( c * 1000 / (half > 0 ? half : 1) ))
[ "$delay" -lt 1 ] && delay=1
echo
echo "### p99 at about half of berth's keep-alive peak (${half} req/s target: $c connections, ${delay} ms pause per connection)"
echo
echo "| path | req/s | p50 | p99 |"
echo "|---|---|---|---|"
paced() { # label url host
    local out
    out=$(DELAY_MS=$delay taskset -c $LOAD_CPU wrk -t1 -c$c -d"${DUR}s" --latency -s "$HERE/paced.lua" -H "Host: $3" "$2" 2>&1)
    echo "| $1 | $(awk '/Requests\/sec/ {print $2}' <<<"$out") | $(awk '$1 == "50%" {print $2}' <<<"$out") | $(awk '$1 == "99%" {print $2}' <<<"$out") |"
}
for round in $(seq 1 "$REPEAT"); do
    paced "direct to the HTTP upstream" http://127.0.0.1:19001/ x
    paced "through berth" http://127.0.0.1:18081/ bench-http.local
    paced "through nginx" http://127.0.0.1:18082/ bench-http.local
done

# --- subscriptions ---------------------------------------------------------------------
echo
echo "### subscriptions"
echo
echo "- berth: $(python3 "$HERE/subscribe.py" latency 127.0.0.1:12601 127.0.0.1:18081 500)"
before=$(rss_mb $BERTH_PID)
python3 "$HERE/subscribe.py" many 127.0.0.1:12601 10000 127.0.0.1:19002
for _ in $(seq 1 100); do
    domains=$(curl -s http://127.0.0.1:18091/metrics | awk '$1 == "berth_router_domains" {print $2}')
    [ "${domains:-0}" -ge 10000 ] && break
    sleep 0.1
done
echo "- berth with ${domains} subscribed domains: RSS ${before} MB before, $(rss_mb $BERTH_PID) MB after"
ubefore=$(rss_mb $UWSGI_PID)
python3 "$HERE/subscribe.py" many 127.0.0.1:12603 10000 127.0.0.1:19002
sleep 2
echo "- uWSGI http router after 10000 subscriptions: RSS ${ubefore} MB before, $(rss_mb $UWSGI_PID) MB after (master + router)"
