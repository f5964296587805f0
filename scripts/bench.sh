#!/usr/bin/env bash
# Benchmarks storegate against nginx on this machine and prints the figures of
# docs/benchmarks.md. It reports numbers; it never fails because a number is slow.
#
#   1. installs wrk and nginx-light (scripts/setup.sh), builds a release storegate into
#      .build-bench/ (kept apart from the debug builds in .build/), then runs
#      scripts/bench/vs-webdis.sh with it (storegate beside Webdis and nginx: wrk,
#      callgrind, idle memory, a 5,000-key batch; its report also in .bench/);
#   2. HTTP floor: GET /healthz (storegate) and `return 200 "ok"` (nginx, 1 worker, no
#      access log) under `wrk -t1 -c64 --latency`, 3 runs each after a short warm-up;
#      the median run by requests/s gives req/s, p50, p99 and the server's CPU per
#      request (utime+stime of its processes, /proc/PID/stat, over that run);
#   3. idle keep-alive memory: a fresh server, 5000 then 10000 connections that each
#      served one request and stay open (scripts/bench/idle_connections.py); VmRSS
#      growth per connection;
#   4. a summary table; then the records/store, cluster, orders, sync-vs-async, workers
#      and TLS-vs-plain (scripts/bench/tls.sh) benchmarks.
# With 2 or more CPUs, servers run pinned to cpu1 and wrk to cpu0 (taskset).
# BENCH_SECONDS (default 10) sets the length of each wrk run; BENCH_IDLE_COUNTS
# (default 5000,10000) the idle-connection stages.
# Every process it starts, and its temp dir, is removed on exit.
set -euo pipefail
export LC_NUMERIC=C
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BENCH="$ROOT/scripts/bench"

SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
IDLE_COUNTS="${BENCH_IDLE_COUNTS:-5000,10000}"
RUNS=3
WARMUP_SECONDS=2
CONNECTIONS=64
[[ "$SECONDS_PER_RUN" =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_SECONDS must be a positive integer" >&2; exit 2; }

say() { printf 'bench: %s\n' "$*" >&2; }

# --- tools and binary ------------------------------------------------------------------
./scripts/setup.sh wrk nginx-light
say "building release storegate and StoreBench into .build-bench/"
swift build -c release --product storegate --pkg-config-path .deps/lib/pkgconfig --scratch-path .build-bench
swift build -c release --product StoreBench --pkg-config-path .deps/lib/pkgconfig --scratch-path .build-bench
STOREGATE="$ROOT/.build-bench/release/storegate"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE="$(ulimit -n)"
CLK_TCK="$(getconf CLK_TCK)"
NPROC="$(nproc)"
if [ "$NPROC" -ge 2 ] && command -v taskset >/dev/null; then
    SERVER_PIN=(taskset -c 1)
    CLIENT_PIN=(taskset -c 0)
    PINNING="servers pinned to cpu1, wrk to cpu0"
else
    SERVER_PIN=()
    CLIENT_PIN=()
    PINNING="no CPU pinning"
fi

# --- process bookkeeping -----------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/storegate-bench.XXXXXX")"
STARTED=()   # PIDs of servers this script started and has not stopped yet

stop_pid() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local kept=() p
    for p in ${STARTED[@]+"${STARTED[@]}"}; do [ "$p" = "$pid" ] || kept+=("$p"); done
    STARTED=(${kept[@]+"${kept[@]}"})
}

cleanup() {
    local pid
    for pid in ${STARTED[@]+"${STARTED[@]}"}; do stop_pid "$pid"; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until http://127.0.0.1:PORT/PATH answers 200 (and the server PID still lives).
wait_http() {
    local port="$1" path="$2" pid="$3" i
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { say "server (pid $pid) exited at startup"; return 1; }
        if python3 - "$port" "$path" <<'PY' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(f"GET {sys.argv[2]} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
sys.exit(0 if s.recv(64).startswith(b"HTTP/1.1 200") else 1)
PY
        sleep 0.1
    done
    say "server on port $port did not answer GET $path"
    return 1
}

children_of() {
    cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$' || true
}

# utime+stime (clock ticks) summed over the given PIDs: /proc/PID/stat fields 14 and 15.
cpu_ticks() {
    local total=0 pid stat fields
    for pid in "$@"; do
        stat="$(<"/proc/$pid/stat")"
        stat="${stat##*) }"            # the fields after "(comm) ", starting at field 3
        read -ra fields <<<"$stat"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}

SERVER_PIDS=()   # the processes whose CPU and memory count as the server's

start_storegate() {
    local port="$1"; shift
    "${SERVER_PIN[@]}" "$STOREGATE" --listen "127.0.0.1:$port" --access-log off "$@" >>"$TMP/storegate.log" 2>&1 &
    local pid=$!
    STARTED+=("$pid")
    wait_http "$port" /healthz "$pid"
    SERVER_PIDS=("$pid")
}

start_nginx() {
    local port="$1" dir="$TMP/nginx-$1" temp worker_connections
    mkdir -p "$dir"
    worker_connections=$((NOFILE - 64))
    [ "$worker_connections" -gt 20000 ] && worker_connections=20000
    {
        echo "worker_processes 1;"
        echo "daemon off;"
        echo "pid $dir/nginx.pid;"
        echo "error_log $dir/error.log warn;"
        echo "worker_rlimit_nofile $NOFILE;"
        echo "events { worker_connections $worker_connections; }"
        echo "http {"
        echo "    access_log off;"
        echo "    keepalive_requests 1000000;"
        echo "    keepalive_timeout 600s;"
        echo "    client_body_temp_path $dir/body;"
        for temp in proxy fastcgi uwsgi scgi; do
            "$NGINX" -V 2>&1 | grep -q -- "--without-http_${temp}_module" ||
                echo "    ${temp}_temp_path $dir/$temp;"
        done
        echo "    server {"
        echo "        listen 127.0.0.1:$port;"
        echo "        location / { return 200 \"ok\"; }"
        echo "    }"
        echo "}"
    } >"$dir/nginx.conf"
    "${SERVER_PIN[@]}" "$NGINX" -p "$dir" -c "$dir/nginx.conf" >>"$dir/stdout.log" 2>&1 &
    local pid=$!
    STARTED+=("$pid")
    wait_http "$port" /healthz "$pid" || { cat "$dir/error.log" "$dir/stdout.log" >&2 2>/dev/null; return 1; }
    local workers
    mapfile -t workers < <(children_of "$pid")
    SERVER_PIDS=("$pid" ${workers[@]+"${workers[@]}"})
}

# Runs wrk RUNS times against the server in SERVER_PIDS; leaves key=value figures of the
# median run in $TMP/NAME.stats.
http_floor() {
    local name="$1" port="$2" url i t0 t1 specs=()
    url="http://127.0.0.1:$port/healthz"
    say "$name: warm-up ${WARMUP_SECONDS}s, then $RUNS × wrk -t1 -c$CONNECTIONS -d${SECONDS_PER_RUN}s --latency $url (server pids ${SERVER_PIDS[*]})"
    "${CLIENT_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP_SECONDS}s" "$url" >/dev/null
    for i in $(seq 1 "$RUNS"); do
        t0="$(cpu_ticks "${SERVER_PIDS[@]}")"
        "${CLIENT_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$url" >"$TMP/$name.wrk$i"
        t1="$(cpu_ticks "${SERVER_PIDS[@]}")"
        specs+=("$TMP/$name.wrk$i:$((t1 - t0))")
    done
    python3 "$BENCH/wrk_stats.py" --clk-tck "$CLK_TCK" --label "$name" "${specs[@]}" >"$TMP/$name.stats"
}

# Fresh server already started; leaves idle_connections.py's output in $TMP/NAME.idle.
idle_memory() {
    local name="$1" port="$2" pids
    pids="$(IFS=,; echo "${SERVER_PIDS[*]}")"
    say "$name: idle keep-alive connections, stages $IDLE_COUNTS (server pids $pids)"
    python3 "$BENCH/idle_connections.py" --port "$port" --pids "$pids" --counts "$IDLE_COUNTS" \
        | tee "$TMP/$name.idle" | sed 's/^/  /' >&2
}

stat_of() { sed -n "s/^$2=//p" "$TMP/$1.stats"; }

# bytes_per_conn of every stage, "a B / b B"; and closed_by_server summed.
idle_figure() {
    awk '/^stage=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                     out = out (out == "" ? "" : " / ") v["bytes_per_conn"] " B"; closed += v["closed_by_server"] }
         END { print (out == "" ? "n/a" : out) (closed > 0 ? " (" closed " closed by server!)" : "") }' "$TMP/$1.idle" 2>/dev/null || echo "n/a"
}
idle_last() { awk -F'bytes_per_conn=' '/^stage=/ { split($2, a, " "); last = a[1] } END { print last }' "$TMP/$1.idle" 2>/dev/null; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2fx\n", a / b }'; }

START_TIME="$(date +%s)"

# --- 1. storegate vs Webdis and nginx, one report -----------------------------------------
"$ROOT/scripts/bench/vs-webdis.sh" "$STOREGATE"
echo

# --- 2. HTTP floor ----------------------------------------------------------------------
PORT="$(free_port)"
start_nginx "$PORT"
http_floor nginx "$PORT"
stop_pid "${SERVER_PIDS[0]}"

PORT="$(free_port)"
start_storegate "$PORT"
http_floor storegate "$PORT"
stop_pid "${SERVER_PIDS[0]}"

# --- 3. idle keep-alive connection memory -------------------------------------------------
PORT="$(free_port)"
start_storegate "$PORT" --max-connections 20000 --keepalive-timeout-ms 600000
idle_memory storegate "$PORT" || say "storegate idle-connection measurement failed"
stop_pid "${SERVER_PIDS[0]}"

PORT="$(free_port)"
start_nginx "$PORT"
idle_memory nginx "$PORT" || say "nginx idle-connection measurement failed"
stop_pid "${SERVER_PIDS[0]}"

# --- 4. summary ---------------------------------------------------------------------------
SG_RPS="$(stat_of storegate rps)";  NG_RPS="$(stat_of nginx rps)"
SG_CPU="$(stat_of storegate cpu_us_per_req)"; NG_CPU="$(stat_of nginx cpu_us_per_req)"
CPU_RATIO="$(ratio "$SG_CPU" "$NG_CPU")"
SG_IDLE_LAST="$(idle_last storegate)"
ERRORS="$(( $(stat_of storegate errors) + $(stat_of nginx errors) ))"

echo
echo "storegate bench (nproc=$NPROC; $PINNING; wrk -t1 -c$CONNECTIONS -d${SECONDS_PER_RUN}s, GET /healthz)"
{
    printf '%s\t%s\t%s\t%s\n' figure storegate nginx ratio
    printf '%s\t%s\t%s\t%s\n' "req/s c=$CONNECTIONS (median of $RUNS)" "$SG_RPS" "$NG_RPS" "$(ratio "$SG_RPS" "$NG_RPS")"
    printf '%s\t%s\t%s\t%s\n' "p50 / p99 (µs)" \
        "$(stat_of storegate p50_us) / $(stat_of storegate p99_us)" "$(stat_of nginx p50_us) / $(stat_of nginx p99_us)" ""
    printf '%s\t%.2f\t%.2f\t%s\n' "CPU µs per request" "$SG_CPU" "$NG_CPU" "$CPU_RATIO"
    printf '%s\t%s\t%s\t%s\n' "RSS per idle conn (${IDLE_COUNTS//,/ \/ })" \
        "$(idle_figure storegate)" "$(idle_figure nginx)" "$(ratio "$SG_IDLE_LAST" "$(idle_last nginx)")"
} | python3 -c '
import sys
rows = [line.rstrip("\n").split("\t") for line in sys.stdin]
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
fmt = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
print(fmt(rows[0]))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in rows[1:]:
    print(fmt(r))
'
echo
echo "targets: CPU/request ≤ 2x nginx (record GET later ≤ 1.5x): ${CPU_RATIO}; RSS per idle connection ≤ 1024 B (aim ≤ 512 B): ${SG_IDLE_LAST:-n/a} B"
if [ "$ERRORS" -gt 0 ]; then
    echo "warning: wrk reported $ERRORS socket errors / non-2xx responses (see the per-run lines above)"
fi
echo
echo "records and store (redis-server and storegate pinned to cpu1, load generators to cpu0)"
"$ROOT/scripts/bench/records_and_store.sh" "$STOREGATE" "$ROOT/.build-bench/release/StoreBench"
echo
echo "Redis Cluster vs one node (gateway and every redis-server pinned to cpu1, wrk to cpu0)"
"$ROOT/scripts/bench/cluster.sh" "$STOREGATE"
echo
"$ROOT/scripts/bench/orders.sh" "$STOREGATE"
echo
"$ROOT/scripts/bench/sync-vs-async.sh"  # storegate vs its thread-per-connection twin (docs/sync-vs-async.md)
echo
echo "--workers 1 vs 2 (wrk pinned to cpu0; scripts/bench/workers.sh)"
"$ROOT/scripts/bench/workers.sh" "$STOREGATE"
echo
echo "TLS to the store vs plain TCP (scripts/bench/tls.sh, docs/tls.md)"
"$ROOT/scripts/bench/tls.sh" "$STOREGATE"
echo "(bench took $(( $(date +%s) - START_TIME )) s after the build)"
