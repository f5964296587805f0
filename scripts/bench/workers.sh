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
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init workers-bench
BIN="$1"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"

if [ "${#SERVER_PIN[@]}" -eq 0 ]; then
    echo "workers bench: needs 2 CPUs and taskset; skipped"
    exit 0
fi
# Only wrk is pinned (cpu0), and the gateway of the last pair (cpu1): two workers need
# both cores.
SERVER_PIN=()
start_redis

# start_workers WORKERS: a gateway with --workers WORKERS on a new port, pinned by
# GATEWAY_PIN, once its supervisor and every worker are up.
start_workers() {
    local workers="$1" expected
    [ -z "${GATEWAY_PID:-}" ] || stop_pid "$GATEWAY_PID"
    GATEWAY_PORT="$(free_port)"
    start_gateway "$BIN" "$GATEWAY_PORT" --store "redis://127.0.0.1:$REDIS_PORT" --workers "$workers"
    expected=$((workers > 1 ? workers + 1 : 1))
    for _ in $(seq 1 100); do
        [ "$(gateway_pids | wc -w)" -eq "$expected" ] && return 0
        sleep 0.1
    done
    say "gateway --workers $workers: $(gateway_pids | wc -w) processes, not $expected"; exit 1
}
gateway_pids() { echo "$GATEWAY_PID $(cat /proc/"$GATEWAY_PID"/task/*/children 2>/dev/null)"; }
thousands() { sed -E ':a; s/([0-9])([0-9]{3})($|[^0-9])/\1,\2\3/; ta' <<<"$1"; }

# run LABEL PATH NAME: a 2 s warm-up, the load average, one wrk_median run (NAME its
# stats) over the gateway's processes; prints one table row.
run() {
    local label="$1" path="$2" name="$3" load
    "${CLIENT_PIN[@]}" wrk -t1 -c64 -d2s "http://127.0.0.1:$GATEWAY_PORT$path" >/dev/null
    load=$(cut -d' ' -f1 /proc/loadavg)
    WRK_SECONDS="$SECONDS_PER_RUN" RUNS=1 WARMUP_SECONDS=0 CONNECTIONS=64 \
        wrk_median "$name" "$(gateway_pids)" "http://127.0.0.1:$GATEWAY_PORT$path"
    printf '| %s | %s | %s / %s | %.1f | %s | %s |\n' "$label" "$(thousands "$(stat_of "$name" rps)")" \
        "$(stat_of "$name" p50_us)" "$(stat_of "$name" p99_us)" "$(stat_of "$name" gw_us)" "$load" \
        "$(stat_of "$name" errors)"
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
GATEWAY_PIN=()
for workers in 1 2; do
    start_workers "$workers"
    put_record
    run "GET /healthz, --workers $workers, gateway unpinned" /healthz "healthz-$workers"
    run "GET record, --workers $workers, gateway unpinned" /v1/kv/bench/users/alice "record-$workers"
done
GATEWAY_PIN=(taskset -c 1)
for workers in 1 2; do
    start_workers "$workers"
    run "GET /healthz, --workers $workers, gateway pinned to cpu1" /healthz "pinned-healthz-$workers"
done
stop_pid "$GATEWAY_PID"
echo
echo "binary: $(stat -c %s "$BIN") bytes ($BIN)"
STATIC="$ROOT/.build-deploy/storegate"
[ -f "$STATIC" ] && echo "static-stdlib binary (the image's): $(stat -c %s "$STATIC") bytes (.build-deploy/storegate)"
echo "runtime image size: printed by scripts/container-test.sh (\"image … bytes\")"
