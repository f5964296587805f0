#!/usr/bin/env bash
# Redis Cluster through storegate vs one redis node, in one run (a figure, never a test):
#   record GET of 1000 records picked at random (wrk -s, c=64): req/s, p50/p99, for a
#   gateway on one redis-server and one on a 3-master + 3-replica cluster;
#   POST /v1/batch of 100 GETs spread over every master (c=16), ordered JSON and
#   streamed NDJSON, on the cluster.
# Gateway and every redis-server are pinned to cpu1, wrk to cpu0 (like records_and_store.sh).
# Usage: scripts/bench/cluster.sh BINARY   (BENCH_SECONDS=10 by default)
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init cluster
BIN="$1"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"

start_redis
SINGLE_PORT="$REDIS_PORT"
CLUSTER_NODES=()
for _ in 1 2 3 4 5 6; do
    start_redis --cluster-enabled yes --cluster-node-timeout 2000 --cluster-port "$(free_port)"
    CLUSTER_NODES+=("127.0.0.1:$REDIS_PORT")
done
REDIS_PID=""  # no redis CPU figures here: wrk_median measures the gateway alone
redis-cli --cluster create "${CLUSTER_NODES[@]}" --cluster-replicas 1 --cluster-yes >"$TMP/create.log" 2>&1
for _ in $(seq 1 100); do
    redis-cli -p "${CLUSTER_NODES[0]#*:}" cluster info | grep -q cluster_state:ok && break
    sleep 0.1
done

G_SINGLE="$(free_port)"; G_CLUSTER="$(free_port)"
start_gateway "$BIN" "$G_SINGLE" --store "redis://127.0.0.1:$SINGLE_PORT"
PID_SINGLE="$GATEWAY_PID"
start_gateway "$BIN" "$G_CLUSTER" --store "redis+cluster://${CLUSTER_NODES[0]},${CLUSTER_NODES[1]}"
PID_CLUSTER="$GATEWAY_PID"

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

cat >"$TMP/get.lua" <<'LUA'
math.randomseed(7)
request = function()
  return wrk.format("GET", "/v1/kv/bench/users/u" .. math.random(0, 999))
end
LUA
python3 - "$TMP" <<'PY'
import json, sys
ops = [{"op": "get", "namespace": "bench", "set": "users", "key": f"u{i * 7}"} for i in range(100)]
body = json.dumps({"operations": ops})
for name, accept in (("batch", "application/json"), ("stream", "application/x-ndjson")):
    with open(f"{sys.argv[1]}/{name}.lua", "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write(f'wrk.body = {json.dumps(body)}\n')
        f.write(f'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Accept"] = "{accept}"\n')
PY

# One wrk run each (wrk_median, RUNS=1), the record GETs after a 2 s warm-up.
WRK_SECONDS="$SECONDS_PER_RUN" RUNS=1 WARMUP_SECONDS=2 CONNECTIONS=64
wrk_median single "$PID_SINGLE" "http://127.0.0.1:$G_SINGLE" -s "$TMP/get.lua"
wrk_median cluster "$PID_CLUSTER" "http://127.0.0.1:$G_CLUSTER" -s "$TMP/get.lua"
WARMUP_SECONDS=0 CONNECTIONS=16
wrk_median batch "$PID_CLUSTER" "http://127.0.0.1:$G_CLUSTER/v1/batch" -s "$TMP/batch.lua"
wrk_median stream "$PID_CLUSTER" "http://127.0.0.1:$G_CLUSTER/v1/batch" -s "$TMP/stream.lua"
row() {  # LABEL STATS
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$(stat_of "$2" rps)" "$(stat_of "$2" p50_us)" "$(stat_of "$2" p99_us)" \
        "$(stat_of "$2" non2xx)"
}
MASTERS="$(redis-cli -p "${CLUSTER_NODES[0]#*:}" cluster nodes | grep -c master)"

printf '\n| Redis Cluster (%s masters) vs one node, wrk %ss | req/s | p50 µs | p99 µs | non-2xx |\n|---|---|---|---|---|\n' \
    "$MASTERS" "$SECONDS_PER_RUN"
row "record GET, one redis node, c=64" single
row "record GET, cluster, c=64" cluster
row "batch of 100 GETs over every master, ordered JSON, c=16" batch
row "batch of 100 GETs over every master, NDJSON streamed, c=16" stream
printf '| records per second in batches (ordered / streamed) | %s / %s | | | |\n' \
    "$(( $(stat_of batch rps) * 100 ))" "$(( $(stat_of stream rps) * 100 ))"
