#!/usr/bin/env bash
# Redis Cluster through storegate vs one redis node, in one run (a figure, never a test):
#   record GET of 1000 records picked at random (wrk -s, c=64): req/s, p50/p99, for a
#   gateway on one redis-server and one on a 3-master + 3-replica cluster;
#   POST /v1/batch of 100 GETs spread over every master (c=16), ordered JSON and
#   streamed NDJSON, on the cluster.
# Gateway and every redis-server are pinned to cpu1, wrk to cpu0 (like records_and_store.sh).
# Usage: scripts/bench/cluster.sh BINARY   (BENCH_SECONDS=10 by default)
set -euo pipefail
BIN="$1"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/storegate-bench-cluster.XXXXXX")"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIN=(); WRK_PIN=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then PIN=(taskset -c 1); WRK_PIN=(taskset -c 0); fi
REDIS_PORTS=()
GATEWAY_PIDS=()
cleanup() {
    local pid port
    for pid in ${GATEWAY_PIDS[@]+"${GATEWAY_PIDS[@]}"}; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    for port in ${REDIS_PORTS[@]+"${REDIS_PORTS[@]}"}; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

start_redis() {  # PORT [extra args]
    local port="$1"; shift
    mkdir -p "$WORK/$port"
    "${PIN[@]}" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK/$port" \
        --daemonize yes --logfile "$WORK/$port/redis.log" "$@" >/dev/null
    REDIS_PORTS+=("$port")
    for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "bench/cluster: redis-server on $port did not start" >&2; exit 1
}

start_gateway() {  # PORT STORE_URL
    "${PIN[@]}" "$BIN" --listen "127.0.0.1:$1" --store "$2" --access-log off 2>"$WORK/gateway-$1.log" &
    GATEWAY_PIDS+=("$!")
    for _ in $(seq 1 100); do
        python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$1/readyz', timeout=1)" \
            >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "bench/cluster: gateway on $1 never became ready" >&2; exit 1
}

SINGLE_PORT="$(free_port)"
start_redis "$SINGLE_PORT"
CLUSTER_NODES=()
for _ in 1 2 3 4 5 6; do
    port="$(free_port)"
    start_redis "$port" --cluster-enabled yes --cluster-node-timeout 2000 --cluster-port "$(free_port)"
    CLUSTER_NODES+=("127.0.0.1:$port")
done
redis-cli --cluster create "${CLUSTER_NODES[@]}" --cluster-replicas 1 --cluster-yes >"$WORK/create.log" 2>&1
for _ in $(seq 1 100); do
    redis-cli -p "${CLUSTER_NODES[0]#*:}" cluster info | grep -q cluster_state:ok && break
    sleep 0.1
done

G_SINGLE="$(free_port)"; G_CLUSTER="$(free_port)"
start_gateway "$G_SINGLE" "redis://127.0.0.1:$SINGLE_PORT"
start_gateway "$G_CLUSTER" "redis+cluster://${CLUSTER_NODES[0]},${CLUSTER_NODES[1]}"

# 1000 records of 3 bins in each, written by batch.
python3 - "$G_SINGLE" "$G_CLUSTER" <<'PY'
import json, sys, urllib.request
for port in sys.argv[1:]:
    for start in range(0, 1000, 500):
        ops = [{"op": "put", "namespace": "bench", "set": "users", "key": f"u{i}",
                "bins": {"name": f"user {i}", "age": i, "city": "Paris"}} for i in range(start, start + 500)]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/batch", method="POST",
            data=json.dumps({"operations": ops}).encode(), headers={"Content-Type": "application/json"})
        results = json.load(urllib.request.urlopen(request))["results"]
        assert all(r["status"] == 200 for r in results), results[:3]
PY

cat >"$WORK/get.lua" <<'LUA'
math.randomseed(7)
request = function()
  return wrk.format("GET", "/v1/kv/bench/users/u" .. math.random(0, 999))
end
LUA
python3 - "$WORK" <<'PY'
import json, sys
ops = [{"op": "get", "namespace": "bench", "set": "users", "key": f"u{i * 7}"} for i in range(100)]
body = json.dumps({"operations": ops})
for name, accept in (("batch", "application/json"), ("stream", "application/x-ndjson")):
    with open(f"{sys.argv[1]}/{name}.lua", "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write(f'wrk.body = {json.dumps(body)}\n')
        f.write(f'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Accept"] = "{accept}"\n')
PY

# One wrk run; prints "req/s p50_us p99_us non2xx".
wrk_run() {  # URL SCRIPT CONNECTIONS
    local out
    out="$("${WRK_PIN[@]}" wrk -t1 -c"$3" -d"${SECONDS_PER_RUN}s" --latency -s "$2" "$1")"
    python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def lat(name):
    m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % name, out)
    return float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1e6}[m.group(2)]
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
print(f"{rate:.0f} {lat('50'):.0f} {lat('99'):.0f} {bad.group(1) if bad else 0}")
PY
}

"${WRK_PIN[@]}" wrk -t1 -c64 -d2s -s "$WORK/get.lua" "http://127.0.0.1:$G_SINGLE" >/dev/null
"${WRK_PIN[@]}" wrk -t1 -c64 -d2s -s "$WORK/get.lua" "http://127.0.0.1:$G_CLUSTER" >/dev/null
read -r S_RPS S_P50 S_P99 S_BAD <<<"$(wrk_run "http://127.0.0.1:$G_SINGLE" "$WORK/get.lua" 64)"
read -r C_RPS C_P50 C_P99 C_BAD <<<"$(wrk_run "http://127.0.0.1:$G_CLUSTER" "$WORK/get.lua" 64)"
read -r B_RPS B_P50 B_P99 B_BAD <<<"$(wrk_run "http://127.0.0.1:$G_CLUSTER/v1/batch" "$WORK/batch.lua" 16)"
read -r N_RPS N_P50 N_P99 N_BAD <<<"$(wrk_run "http://127.0.0.1:$G_CLUSTER/v1/batch" "$WORK/stream.lua" 16)"
MASTERS="$(redis-cli -p "${CLUSTER_NODES[0]#*:}" cluster nodes | grep -c master)"

printf '\n| Redis Cluster (%s masters) vs one node, wrk %ss | req/s | p50 µs | p99 µs | non-2xx |\n|---|---|---|---|---|\n' \
    "$MASTERS" "$SECONDS_PER_RUN"
printf '| record GET, one redis node, c=64 | %s | %s | %s | %s |\n' "$S_RPS" "$S_P50" "$S_P99" "$S_BAD"
printf '| record GET, cluster, c=64 | %s | %s | %s | %s |\n' "$C_RPS" "$C_P50" "$C_P99" "$C_BAD"
printf '| batch of 100 GETs over every master, ordered JSON, c=16 | %s | %s | %s | %s |\n' "$B_RPS" "$B_P50" "$B_P99" "$B_BAD"
printf '| batch of 100 GETs over every master, NDJSON streamed, c=16 | %s | %s | %s | %s |\n' "$N_RPS" "$N_P50" "$N_P99" "$N_BAD"
python3 -c "print(f'| records per second in batches (ordered / streamed) | {int(\"$B_RPS\") * 100} / {int(\"$N_RPS\") * 100} | | | |')"
