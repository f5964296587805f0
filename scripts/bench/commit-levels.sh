#!/usr/bin/env bash
# Commit levels in one run (a figure, never a test): record PUT of a 3-bin record over
# 10,000 keys (scripts/bench/put_record.lua, wrk -t1 --latency) through one gateway in
# front of a master with one replica, with ?commit=master and with ?commit=replicas
# (WAIT behind each write): req/s, p50/p99. Each level gets a 2 s warm-up, then
# BENCH_RUNS runs (default 3) alternating between the levels; the median run by req/s
# is reported. Gateway and both redis-servers are pinned to cpu1, wrk to cpu0.
# Usage: scripts/bench/commit-levels.sh BINARY   (BENCH_SECONDS=10, BENCH_CONNECTIONS=64)
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init commit-levels
BIN="$1"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
RUNS="${BENCH_RUNS:-3}"
HERE="$BENCH"
WORK="$TMP"
WRK_PIN=(${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"})

start_redis
MASTER="$REDIS_PORT"
start_redis --replicaof 127.0.0.1 "$MASTER"
for _ in $(seq 1 100); do
    redis-cli -p "$MASTER" info replication | grep -q 'state=online' && break
    sleep 0.1
done
redis-cli -p "$MASTER" info replication | grep -q 'state=online' \
    || { say "the replica never came online"; exit 1; }

GATEWAY="$(free_port)"
start_gateway "$BIN" "$GATEWAY" --store "redis://127.0.0.1:$MASTER"

# The replica count is learned on the first replicas write: make it before measuring.
for _ in $(seq 1 50); do
    status="$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
        -d '{"bins":{"v":1}}' "http://127.0.0.1:$GATEWAY/v1/kv/bench/put/probe?commit=replicas")"
    [ "$status" = 201 ] || [ "$status" = 200 ] && break
    sleep 0.1
done

for level in master replicas; do
    sed "s|\"/v1/kv/bench/put/k\" .. (counter % 10000)|\"/v1/kv/bench/put/k\" .. (counter % 10000) .. \"?commit=$level\"|" \
        "$HERE/put_record.lua" >"$WORK/put-$level.lua"
    grep -q "commit=$level" "$WORK/put-$level.lua" || { say "put_record.lua changed shape"; exit 1; }
    "${WRK_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d2s -s "$WORK/put-$level.lua" "http://127.0.0.1:$GATEWAY" >/dev/null
done
for run in $(seq 1 "$RUNS"); do
    for level in master replicas; do
        "${WRK_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s "$WORK/put-$level.lua" \
            "http://127.0.0.1:$GATEWAY" >"$WORK/$level-$run.txt"
    done
done

python3 - "$WORK" "$RUNS" "$SECONDS_PER_RUN" "$CONNECTIONS" <<'PY'
import re, sys
work, runs, seconds, connections = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def parse(path):
    out = open(path).read()
    def lat(name):
        m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % name, out)
        return float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1e6}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), lat("50"), lat("99"), int(bad.group(1)) if bad else 0
print(f"\n| record PUT, master + 1 replica, wrk -c{connections} {seconds}s, median of {runs} | req/s | p50 µs | p99 µs | non-2xx |")
print("|---|---|---|---|---|")
for level in ("master", "replicas"):
    results = sorted((parse(f"{work}/{level}-{run}.txt") for run in range(1, runs + 1)), key=lambda r: r[0])
    rps, p50, p99, bad = results[len(results) // 2]
    print(f"| commit={level} | {rps:.0f} | {p50:.0f} | {p99:.0f} | {bad} |")
PY
