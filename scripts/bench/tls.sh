#!/usr/bin/env bash
# Record GET and PUT over TLS (rediss://) beside plain TCP (redis://), in one run on this
# machine, by the method of docs/benchmarks.md. It prints figures; it never fails
# because a figure is poor.
#
#   1. installs wrk (scripts/setup.sh) and builds a release storegate into .build-bench/
#      (unless a binary is given);
#   2. a throwaway CA and server certificate (openssl, in the temp dir); ONE redis-server
#      listening on a plain port and a TLS port, so both gateways share the same store;
#   3. two gateways, one per port (rediss:// verifies the certificate as in production);
#   4. wrk -t1 -c64 --latency, a warm-up then the median of RUNS runs, for record GET and
#      record PUT (3 bins) on each: req/s, p50, p99, gateway and redis CPU µs per request
#      (utime+stime from /proc/PID/stat over the median run);
#   5. a report on stdout, also written to .bench/tls-DATE.txt.
# Servers and redis-server run pinned to cpu1, wrk to cpu0 (2+ CPUs).
#
# usage: scripts/bench/tls.sh [STOREGATE_BINARY]
# STOREGATE_BENCH_QUICK=1: 3 s runs, 1 repetition. Every process it starts, and its temp
# dir, is removed on exit.
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init tls-bench
cd "$ROOT"

if [ "${STOREGATE_BENCH_QUICK:-0}" = 1 ]; then
    MODE="quick (STOREGATE_BENCH_QUICK=1)" WRK_SECONDS=3 RUNS=1 WARMUP_SECONDS=1
else
    MODE="full" WRK_SECONDS=10 RUNS=3 WARMUP_SECONDS=2
fi
CONNECTIONS=64

./scripts/setup.sh wrk
release_binary STOREGATE storegate ${1+"$1"}
http_status() {  # METHOD PORT PATH [BODY]
    curl -s -o /dev/null -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
        ${4:+--data "$4"} "http://127.0.0.1:$2$3" || echo 000
}

# --- 2. certificates and one redis with a plain and a TLS port ---------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
    -keyout "$TMP/ca.key" -out "$TMP/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$TMP/server.key" -out "$TMP/server.csr" 2>/dev/null
openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial -days 2 \
    -copy_extensions copy -out "$TMP/server.pem" 2>/dev/null
TLS_PORT="$(free_port)"
start_redis --tls-port "$TLS_PORT" --tls-cert-file "$TMP/server.pem" --tls-key-file "$TMP/server.key" \
    --tls-ca-cert-file "$TMP/ca.pem" --tls-auth-clients no
PLAIN_PORT="$REDIS_PORT"

# --- 3. two gateways ------------------------------------------------------------------------
declare -A PORT_OF PID_OF
start_named_gateway() {  # NAME STORE_URL [FLAGS…]
    local name="$1" url="$2"
    shift 2
    PORT_OF[$name]="$(free_port)"
    start_gateway "$STOREGATE" "${PORT_OF[$name]}" --store "$url" "$@"
    PID_OF[$name]="$GATEWAY_PID"
}
start_named_gateway plain "redis://127.0.0.1:$PLAIN_PORT"
start_named_gateway tls "rediss://127.0.0.1:$TLS_PORT" --store-tls-ca-file "$TMP/ca.pem"
RECORD='{"bins":{"name":"Alice","age":30,"city":"Rome"}}'
for name in plain tls; do
    status="$(http_status PUT "${PORT_OF[$name]}" "/v1/kv/$name/users/k1" "$RECORD")"
    [[ "$status" =~ ^20[01]$ ]] || { say "seeding through $name answered $status"; exit 1; }
done

# --- 4. wrk ---------------------------------------------------------------------------------
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
wrk_case() {  # GATEWAY METHOD
    local name="$1" method="$2" lua=()
    [ "$method" = PUT ] && lua=(-s "$BENCH/put_one_record.lua")
    wrk_median "$name-$method" "${PID_OF[$name]}" \
        "http://127.0.0.1:${PORT_OF[$name]}/v1/kv/$name/users/$([ "$method" = GET ] && echo k1 || echo k2)" \
        ${lua[@]+"${lua[@]}"}
}
for method in GET PUT; do for name in plain tls; do wrk_case "$name" "$method"; done; done

# --- 5. report ------------------------------------------------------------------------------
mkdir -p "$ROOT/.bench"
REPORT="$ROOT/.bench/tls-$(date -u +%Y%m%d-%H%M%S).txt"
{
    echo "storegate record GET and PUT: TLS (rediss://) vs plain TCP — $(date -u '+%Y-%m-%d %H:%M UTC'), $MODE"
    echo "machine: $(nproc) CPUs ($PINNING); load before: $LOAD_BEFORE; $(openssl version)"
    echo "wrk -t1 -c$CONNECTIONS --latency, median of $RUNS × ${WRK_SECONDS}s; one redis-server (plain and TLS port)"
    echo
    printf '%-16s %10s %9s %9s %12s %12s %7s\n' case req/s p50_us p99_us gw_us/req redis_us/req non2xx
    for method in GET PUT; do
        for name in plain tls; do
            key="$name-$method"
            printf '%-16s %10s %9s %9s %12s %12s %7s\n' "$method $name" "$(stat_of "$key" rps)" \
                "$(stat_of "$key" p50_us)" "$(stat_of "$key" p99_us)" "$(stat_of "$key" gw_us)" \
                "$(stat_of "$key" redis_us)" "$(stat_of "$key" non2xx)"
        done
        awk -v a="$(stat_of "tls-$method" gw_us)" -v b="$(stat_of "plain-$method" gw_us)" \
            -v c="$(stat_of "tls-$method" rps)" -v d="$(stat_of "plain-$method" rps)" 'BEGIN {
            if (b + 0 > 0 && d + 0 > 0)
                printf "  %s over TLS: gateway CPU %+.1f µs/request (%.2fx), req/s %.2fx\n", "'"$method"'", a - b, a / b, c / d }'
    done
} | tee "$REPORT"
say "report: ${REPORT#"$ROOT"/}"
