# shellcheck shell=bash disable=SC2034
# What every benchmark script shares: CPU pinning, the processes it started and their
# clean-up, free ports, waiting for a server, CPU ticks and memory from /proc, and the
# Markdown table. Sourced, never run:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_init NAME        # say() prefix NAME, TMP dir, traps, SERVER_PIN / CLIENT_PIN
#
# Every process a script starts goes into STARTED (`STARTED+=("$!")`); stop_pid stops
# one, and on exit every one left is stopped and TMP removed. The launchers (start_redis,
# start_gateway, start_nginx) do that themselves.

bench_init() {
    BENCH_NAME="$1"
    export LC_NUMERIC=C
    ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    BENCH="$ROOT/scripts/bench"
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    NOFILE="$(ulimit -n)"
    CLK_TCK="$(getconf CLK_TCK)"
    NPROC="$(nproc)"
    NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
    if [ "$NPROC" -ge 2 ] && command -v taskset >/dev/null; then
        SERVER_PIN=(taskset -c 1)
        CLIENT_PIN=(taskset -c 0)
        PINNING="servers and redis-server pinned to cpu1, load generators to cpu0"
    else
        SERVER_PIN=()
        CLIENT_PIN=()
        PINNING="no CPU pinning (fewer than 2 CPUs)"
    fi
    GATEWAY_PIN=(${SERVER_PIN[@]+"${SERVER_PIN[@]}"})
    WRAP=()
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/storegate-$BENCH_NAME.XXXXXX")"
    STARTED=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

say() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }

forget_pid() {
    local kept=() p
    for p in ${STARTED[@]+"${STARTED[@]}"}; do [ "$p" = "$1" ] || kept+=("$p"); done
    STARTED=(${kept[@]+"${kept[@]}"})
}

# TERM, up to 10 s to exit, then KILL.
stop_pid() {
    local pid="$1" i
    if kill -TERM "$pid" 2>/dev/null; then
        for i in $(seq 1 200); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

bench_cleanup() {
    local pid
    exec 7>&- 8<&- 2>/dev/null || true
    for pid in ${STARTED[@]+"${STARTED[@]}"}; do stop_pid "$pid"; done
    rm -rf "$TMP"
}

# release_binary VAR PRODUCT [PATH]: VAR = PATH made absolute when given, else PRODUCT
# built in release into .build-bench/ (kept apart from the debug builds in .build/).
release_binary() {
    if [ $# -ge 3 ]; then
        printf -v "$1" '%s' "$(realpath "$3")"
    else
        say "building release $2 into .build-bench/"
        (cd "$ROOT" && swift build -c release --product "$2" --pkg-config-path .deps/lib/pkgconfig \
            --scratch-path .build-bench)
        printf -v "$1" '%s' "$ROOT/.build-bench/release/$2"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until http://127.0.0.1:PORT/PATH answers 200 while PID lives (TRIES × 0.1 s).
wait_http() {
    local port="$1" path="$2" pid="$3" tries="${4:-100}" i
    for i in $(seq 1 "$tries"); do
        kill -0 "$pid" 2>/dev/null || { say "server (pid $pid) exited at startup"; return 1; }
        if python3 - "$port" "$path" <<'PY' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(f"GET {sys.argv[2]} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
sys.exit(0 if s.recv(64).startswith(b"HTTP/1.1 200") else 1)
PY
        sleep 0.1
    done
    say "server on port $port did not answer GET $path"
    return 1
}

# A redis-server without persistence on a free port, pinned like the servers, its files
# in TMP/redis-PORT/: sets REDIS_PORT and REDIS_PID. Extra arguments go to redis-server.
# shellcheck disable=SC2120
start_redis() {
    REDIS_PORT="$(free_port)"
    mkdir -p "$TMP/redis-$REDIS_PORT"
    "${SERVER_PIN[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$TMP/redis-$REDIS_PORT" --logfile "$TMP/redis-$REDIS_PORT.log" "$@" &
    REDIS_PID=$!
    STARTED+=("$REDIS_PID")
    for _ in $(seq 1 100); do
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    say "redis-server did not start"; cat "$TMP/redis-$REDIS_PORT.log" >&2; return 1
}

# storegate BINARY on 127.0.0.1:PORT with --access-log off and FLAGS (--store URL …),
# GATEWAY_PIN (SERVER_PIN unless the script changes it) and WRAP in front, its output in
# TMP/gateway-PORT.log; waits for GET /readyz (READY_TRIES × 0.1 s, default 100) and
# sets GATEWAY_PID.
start_gateway() {
    local binary="$1" port="$2" log="$TMP/gateway-$2.log"
    shift 2
    ${GATEWAY_PIN[@]+"${GATEWAY_PIN[@]}"} ${WRAP[@]+"${WRAP[@]}"} "$binary" --listen "127.0.0.1:$port" \
        --access-log off "$@" >>"$log" 2>&1 &
    GATEWAY_PID=$!
    STARTED+=("$GATEWAY_PID")
    wait_http "$port" /readyz "$GATEWAY_PID" "${READY_TRIES:-100}" || { tail -20 "$log" >&2; return 1; }
}

# wrk_median LABEL PIDS URL [WRK_ARGS…]: a warm-up of WARMUP_SECONDS (none when 0), then
# RUNS runs of `wrk -t1 -cCONNECTIONS -dWRK_SECONDS --latency WRK_ARGS URL` pinned by
# CLIENT_PIN. The CPU ticks of PIDS (one word: the gateway's processes) and of REDIS_PID
# (when set) over each run go with its output to wrk_median.py, whose figures for the
# median run by req/s land in TMP/LABEL.stats: read them with stat_of LABEL KEY.
wrk_median() {
    local label="$1" url="$3" i g0 r0 g1 r1 pids=() redis=() specs=()
    read -ra pids <<<"$2"
    shift 3
    [ -n "${REDIS_PID:-}" ] && redis=("$REDIS_PID")
    say "wrk: $label: warm-up ${WARMUP_SECONDS}s, $RUNS × ${WRK_SECONDS}s, c=$CONNECTIONS"
    if [ "$WARMUP_SECONDS" != 0 ]; then
        "${CLIENT_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP_SECONDS}s" "$@" "$url" >/dev/null
    fi
    for i in $(seq 1 "$RUNS"); do
        g0="$(cpu_ticks "${pids[@]}")"; r0="$(cpu_ticks ${redis[@]+"${redis[@]}"})"
        "${CLIENT_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"${WRK_SECONDS}s" --latency "$@" "$url" >"$TMP/$label.wrk$i"
        g1="$(cpu_ticks "${pids[@]}")"; r1="$(cpu_ticks ${redis[@]+"${redis[@]}"})"
        specs+=("$TMP/$label.wrk$i:$((g1 - g0)):$((r1 - r0))")
    done
    python3 "$BENCH/wrk_median.py" --clk-tck "$CLK_TCK" --label "$label" "${specs[@]}" >"$TMP/$label.stats"
}

stat_of() { sed -n "s/^$2=//p" "$TMP/$1.stats" 2>/dev/null; }

# utime+stime (clock ticks) summed over the given PIDs, all their threads: fields 14 and
# 15 of /proc/PID/stat.
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

mem_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# nginx in one process (master_process off, so its CPU, memory and instructions are one
# PID's), `return 200 "ok"`, temp paths in TMP. WRAP (an array) goes in front of the
# command, e.g. valgrind; sets LAUNCHED.
start_nginx() {
    local port="$1" tries="${2:-100}" dir="$TMP/nginx-$1" temp worker_connections
    mkdir -p "$dir"
    worker_connections=$((NOFILE - 64))
    [ "$worker_connections" -gt 20000 ] && worker_connections=20000
    {
        echo "worker_processes 1;"
        echo "master_process off;"
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
    "${SERVER_PIN[@]}" ${WRAP[@]+"${WRAP[@]}"} "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
        >>"$dir/stdout.log" 2>&1 &
    LAUNCHED=$!
    STARTED+=("$LAUNCHED")
    wait_http "$port" / "$LAUNCHED" "$tries" || { cat "$dir/error.log" "$dir/stdout.log" >&2 2>/dev/null; return 1; }
}

# Tab-separated rows on stdin, the first the header → a Markdown table.
table() {
    python3 -c '
import sys
rows = [line.rstrip("\n").split("\t") for line in sys.stdin]
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
fmt = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
print(fmt(rows[0]))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in rows[1:]:
    print(fmt(r))
'
}
