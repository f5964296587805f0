#!/usr/bin/env bash
# --workers 1 vs --workers 2 on this machine (a report, never a test):
#   GET /healthz (no store) and GET of a 3-bin record (a redis-server behind it), each
#   with wrk -t1 -c64 pinned to cpu0; the gateway is not pinned, so two workers can use
#   both cores (and share cpu0 with wrk). A third pair pins the gateway to cpu1, to show
#   what a second worker costs when there is no second core for it.
#   Figures per run: req/s, p50/p99, CPU µs per request of the gateway's processes
#   (supervisor + workers, utime+stime from /proc over the run), and the machine's load
#   average before the run (other work on the machine skews every figure).
# Usage: scripts/bench/workers.sh BINARY   (BENCH_SECONDS=10 by default)
set -euo pipefail
BIN="$1"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
TICKS="$(getconf CLK_TCK)"
WORK="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REDIS_PORT="$(free_port)"
GATEWAY_PID=""
stop_gateway() {
    [ -n "$GATEWAY_PID" ] || return 0
    kill "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
    GATEWAY_PID=""
}
cleanup() {
    stop_gateway
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; then
    echo "workers bench: needs 2 CPUs and taskset; skipped"
    exit 0
fi

redis-server --port "$REDIS_PORT" --save "" --appendonly no --dir "$WORK" --daemonize yes \
    --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" >/dev/null
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# start_gateway WORKERS [taskset prefix...]
start_gateway() {
    local workers="$1"; shift
    stop_gateway
    GATEWAY_PORT="$(free_port)"
    "$@" "$BIN" --listen "127.0.0.1:$GATEWAY_PORT" --store "redis://127.0.0.1:$REDIS_PORT" \
        --workers "$workers" --access-log off 2>"$WORK/gateway.log" &
    GATEWAY_PID=$!
    local expected=$((workers > 1 ? workers + 1 : 1)) i
    for i in $(seq 1 100); do
        if [ "$(gateway_pids | wc -w)" -eq "$expected" ] &&
            python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$GATEWAY_PORT/readyz', timeout=1)" \
                >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "gateway --workers $workers did not start" >&2; cat "$WORK/gateway.log" >&2; exit 1
}
gateway_pids() { echo "$GATEWAY_PID" $(cat /proc/"$GATEWAY_PID"/task/*/children 2>/dev/null); }
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done
    echo "$total"
}

# run LABEL PATH: prints one table row.
run() {
    local label="$1" path="$2" pids t0 t1 load
    pids=$(gateway_pids)
    taskset -c 0 wrk -t1 -c64 -d2s "http://127.0.0.1:$GATEWAY_PORT$path" >/dev/null
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(cpu_ticks $pids)
    taskset -c 0 wrk -t1 -c64 -d"${SECONDS_PER_RUN}s" --latency "http://127.0.0.1:$GATEWAY_PORT$path" >"$WORK/wrk.out"
    t1=$(cpu_ticks $pids)
    python3 - "$WORK/wrk.out" "$((t1 - t0))" "$TICKS" "$label" "$load" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
ticks, hz, label, load = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def us(value, unit):
    return float(value) * {"us": 1, "ms": 1000, "s": 1e6}[unit]
lat = dict((p, us(v, u)) for p, v, u in re.findall(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)", text, re.M))
requests = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors += int(non2xx.group(1)) if non2xx else 0
cpu = ticks / hz * 1e6 / requests if requests else float("nan")
print(f"| {label} | {rps:,.0f} | {lat.get('50', 0):.0f} / {lat.get('99', 0):.0f} | {cpu:.1f} | {load} | {errors} |")
PY
}

echo "| run (wrk -t1 -c64 pinned to cpu0, ${SECONDS_PER_RUN}s) | req/s | p50 / p99 µs | gateway CPU µs/req | load before | errors |"
echo "|---|---|---|---|---|---|"
put_record() {
    python3 -c "
import urllib.request
body = b'{\"bins\":{\"name\":\"Alice\",\"age\":42,\"city\":\"Paris\"}}'
r = urllib.request.Request('http://127.0.0.1:$GATEWAY_PORT/v1/kv/bench/users/alice', data=body, method='PUT',
                           headers={'Content-Type': 'application/json'})
urllib.request.urlopen(r, timeout=3)"
}
for workers in 1 2; do
    start_gateway "$workers"
    put_record
    run "GET /healthz, --workers $workers, gateway unpinned" /healthz
    run "GET record, --workers $workers, gateway unpinned" /v1/kv/bench/users/alice
done
for workers in 1 2; do
    start_gateway "$workers" taskset -c 1
    run "GET /healthz, --workers $workers, gateway pinned to cpu1" /healthz
done
stop_gateway
echo
echo "binary: $(stat -c %s "$BIN") bytes ($BIN)"
STATIC="$(dirname "$0")/../../.build-deploy/storegate"
[ -f "$STATIC" ] && echo "static-stdlib binary (the image's): $(stat -c %s "$STATIC") bytes (.build-deploy/storegate)"
echo "runtime image size: printed by scripts/container-test.sh (\"image … bytes\")"
