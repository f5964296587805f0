#!/usr/bin/env bash
# Every benchmark, one after the other; it prints figures (docs/benchmarks.md) and never
# fails because a figure is poor.
#
#   1. builds a release storegate and StoreBench into .build-bench/ (kept apart from the
#      debug builds in .build/);
#   2. scripts/bench/vs-webdis.sh: storegate beside Webdis and nginx — record GET, PUT
#      and /healthz against HGETALL, HSET and `return 200` (wrk and callgrind), RSS per
#      idle keep-alive connection, a 5,000-key batch; its report also in .bench/;
#   3. the records-and-store, Redis Cluster, pizzeria, sync-vs-async, --workers and
#      TLS-vs-plain (scripts/bench/tls.sh) benches (scripts/bench/*.sh), each with its own table.
# With 2 or more CPUs, servers run pinned to cpu1 and load generators to cpu0.
# BENCH_SECONDS (default 10) sets the length of each wrk run of step 3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
START_TIME="$(date +%s)"

./scripts/setup.sh wrk nginx-light
echo "bench: building release storegate and StoreBench into .build-bench/" >&2
swift build -c release --product storegate --pkg-config-path .deps/lib/pkgconfig --scratch-path .build-bench
swift build -c release --product StoreBench --pkg-config-path .deps/lib/pkgconfig --scratch-path .build-bench
STOREGATE="$ROOT/.build-bench/release/storegate"

"$ROOT/scripts/bench/vs-webdis.sh" "$STOREGATE"
echo
echo "records and store (redis-server and storegate pinned to cpu1, load generators to cpu0)"
"$ROOT/scripts/bench/records_and_store.sh" "$STOREGATE" "$ROOT/.build-bench/release/StoreBench"
echo
echo "Redis Cluster vs one node (gateway and every redis-server pinned to cpu1, wrk to cpu0)"
"$ROOT/scripts/bench/cluster.sh" "$STOREGATE"
echo
echo "commit levels: ?commit=master vs ?commit=replicas (gateway, master and replica pinned to cpu1, wrk to cpu0)"
"$ROOT/scripts/bench/commit-levels.sh" "$STOREGATE"
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
