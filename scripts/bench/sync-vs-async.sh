#!/usr/bin/env bash
# storegate (one event-loop thread) beside its thread-per-connection twin
# (Benchmarks/SyncTwin: the same parser, codec and record handlers, blocking sockets,
# one OS thread and one store connection per client connection), on record GETs.
# docs/sync-vs-async.md shows and explains the figures. It prints figures; it never
# fails because a figure is poor.
#
#   1. builds release storegate and SyncTwin into .build-bench/ (unless both binaries
#      are given); one redis-server (no persistence) behind both; one 3-bin record;
#   2. for 1, 10, 100, 1,000 and 5,000 keep-alive connections, and each server (started
#      fresh per stage): `wrk -t1 -cN --latency` of GET /v1/kv/bench/users/k1 for
#      SYNC_VS_ASYNC_SECONDS (default 15); one second in, and three seconds before the
#      end, it samples the server's /proc/PID/stat (utime, stime), the voluntary and
#      involuntary context switches summed over /proc/PID/task/*/status, Threads and
#      VmRSS. Per-request figures are the window's deltas ÷ (wrk's req/s × the window);
#   3. a table (.bench/sync-vs-async-DATE.md; wrk's outputs beside it) and a plot (.bench/sync-vs-async-DATE.png;
#      matplotlib from PyPI in a venv it makes under .bench/venv) of kernel CPU per
#      request, RSS and req/s against connections.
# storegate runs with --max-requests-in-progress and --max-queued-per-node raised to
# 16384: its defaults shed load past 1,024 requests at once, which the twin cannot do.
# Servers and redis-server are pinned to cpu1, wrk (and this script) to cpu0.
# Every process it starts, and its temp dir, is removed on exit.
#
# usage: scripts/bench/sync-vs-async.sh [STOREGATE_BINARY SYNCTWIN_BINARY]
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init sync-vs-async
cd "$ROOT"

SECONDS_PER_RUN="${SYNC_VS_ASYNC_SECONDS:-15}"
STAGES="${SYNC_VS_ASYNC_CONNECTIONS:-1 10 100 1000 5000}"
if ! [[ "$SECONDS_PER_RUN" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_RUN" -lt 5 ]; then
    echo "sync-vs-async: SYNC_VS_ASYNC_SECONDS must be at least 5" >&2; exit 2
fi

# --- tools and binaries ----------------------------------------------------------------
./scripts/setup.sh wrk
if [ $# -ge 2 ]; then
    STOREGATE="$(realpath "$1")"
    TWIN="$(realpath "$2")"
else
    say "building release storegate and SyncTwin into .build-bench/"
    for product in storegate SyncTwin; do
        swift build -c release --product "$product" --pkg-config-path .deps/lib/pkgconfig --scratch-path .build-bench
    done
    STOREGATE="$ROOT/.build-bench/release/storegate"
    TWIN="$ROOT/.build-bench/release/SyncTwin"
fi

if [ "${#SERVER_PIN[@]}" -gt 0 ]; then
    taskset -cp 0 $$ >/dev/null
    PINNING="servers and redis-server pinned to cpu1, wrk and this script to cpu0"
fi

# One HTTP request on a new connection; prints the status code.
http_status() {
    python3 - "$@" <<'PY'
import socket, sys
port, method, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = sys.argv[4].encode() if len(sys.argv) > 4 else b""
s = socket.create_connection(("127.0.0.1", port), timeout=2)
s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
print(s.recv(64).split(b" ")[1].decode())
PY
}

wait_record() {
    local port="$1" pid="$2"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { say "server (pid $pid) exited at startup"; return 1; }
        [ "$(http_status "$port" GET "$RECORD" 2>/dev/null)" = 200 ] && return 0
        sleep 0.1
    done
    say "server on port $port did not answer GET $RECORD"
    return 1
}

# "time utime stime voluntary involuntary threads rss_kib" of PID: time, CPU ticks,
# threads and RSS are read first (they are quick); the context switches, summed over
# /proc/PID/task/*/status, after them (thousands of files: it can take a moment).
sample() {
    local pid="$1" stat fields now status switches
    now="$(date +%s.%N)"
    stat="$(<"/proc/$pid/stat")"
    stat="${stat##*) }"
    read -ra fields <<<"$stat"
    status="$(awk '/^Threads:/ { t = $2 } /^VmRSS:/ { r = $2 } END { printf "%d %d", t, r }' /proc/"$pid"/status)"
    # A thread may end between the glob and the read: its file is then skipped.
    switches="$(cat /proc/"$pid"/task/*/status 2>/dev/null \
        | awk '/^voluntary_ctxt_switches/ { v += $2 } /^nonvoluntary_ctxt_switches/ { n += $2 } END { printf "%d %d", v, n }')"
    echo "$now ${fields[11]} ${fields[12]} $switches $status"
}

# --- store and record ------------------------------------------------------------------
start_redis --maxclients 15000
RECORD=/v1/kv/bench/users/k1

start_server() {
    local kind="$1" port="$2"
    if [ "$kind" = storegate ]; then
        "${SERVER_PIN[@]}" "$STOREGATE" --listen "127.0.0.1:$port" --store "redis://127.0.0.1:$REDIS_PORT" \
            --access-log off --max-requests-in-progress 16384 --max-queued-per-node 16384 \
            >>"$TMP/storegate.log" 2>&1 &
    else
        "${SERVER_PIN[@]}" "$TWIN" --listen "127.0.0.1:$port" --store "127.0.0.1:$REDIS_PORT" >>"$TMP/twin.log" 2>&1 &
    fi
    SERVER_PID=$!
    STARTED+=("$SERVER_PID")
}

port="$(free_port)"
start_server storegate "$port"
for _ in $(seq 1 100); do
    [ "$(http_status "$port" PUT "$RECORD" '{"bins":{"name":"Alice","age":30,"city":"Lyon"}}' 2>/dev/null)" = 201 ] && break
    sleep 0.1
done
stop_pid "$SERVER_PID"

# --- stages ----------------------------------------------------------------------------
RESULTS="$TMP/results.tsv"
printf 'server\tconnections\trps\tp50_us\tp99_us\tuser_us\tsys_us\tvoluntary\tinvoluntary\tthreads\trss_kib\tidle_rss_kib\terrors\n' >"$RESULTS"
say "$NPROC cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $PINNING; ${SECONDS_PER_RUN} s per run"
for connections in $STAGES; do
    for kind in storegate twin; do
        port="$(free_port)"
        start_server "$kind" "$port"
        wait_record "$port" "$SERVER_PID"
        idle="$(sample "$SERVER_PID")"
        wrk -t1 -c"$connections" -d"${SECONDS_PER_RUN}s" --timeout 10s --latency "http://127.0.0.1:$port$RECORD" \
            >"$TMP/wrk.txt" 2>&1 &
        wrk_pid=$!
        STARTED+=("$wrk_pid")
        sleep 1
        first="$(sample "$SERVER_PID")"
        sleep $((SECONDS_PER_RUN - 4))
        last="$(sample "$SERVER_PID")"
        wait "$wrk_pid" || true
        cp "$TMP/wrk.txt" "$TMP/wrk-$kind-$connections.txt"
        forget_pid "$wrk_pid"
        stop_pid "$SERVER_PID"
        line="$(python3 "$BENCH/sync_vs_async.py" row --clk-tck "$CLK_TCK" --server "$kind" \
            --connections "$connections" --wrk "$TMP/wrk.txt" --idle "$idle" --first "$first" --last "$last")"
        say "$line"
        printf '%s\n' "$line" >>"$RESULTS"
    done
done

# --- report ----------------------------------------------------------------------------
mkdir -p "$ROOT/.bench"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$ROOT/.bench/sync-vs-async-$STAMP"
cp "$RESULTS" "$OUT.tsv"
mkdir -p "$OUT-wrk" && cp "$TMP"/wrk-*.txt "$OUT-wrk/"
python3 "$BENCH/sync_vs_async.py" table "$OUT.tsv" | tee "$OUT.md"
if [ ! -x "$ROOT/.bench/venv/bin/python" ]; then
    say "making .bench/venv with matplotlib (PyPI)"
    python3 -m venv "$ROOT/.bench/venv"
    "$ROOT/.bench/venv/bin/pip" install --quiet matplotlib
fi
"$ROOT/.bench/venv/bin/python" "$BENCH/sync_vs_async.py" plot "$OUT.tsv" "$OUT.png"
say "wrote $OUT.md, $OUT.tsv and $OUT.png"
