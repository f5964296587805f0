#!/usr/bin/env bash
# The pizzeria's figures, printed, never judged:
#   1. the story's comparison: the same orders through the blocking kitchen (one cook
#      per order, waiting through every step) and the evented one, with the same cooks,
#      ovens and riders: orders/minute and time to delivery;
#   2. 10,000 orders in flight at once on the one thread (resources plentiful, so the
#      ideal is reachable): peak RSS (VmHWM) and time to delivery p50/p99 against the
#      ideal (the sum of the step durations).
# Usage: scripts/bench/orders.sh BINARY
#   ORDERS_COMPARE (default 200) orders per kitchen, ORDERS_COMPARE_MINUTE_MS (default 20),
#   ORDERS_FLIGHT (default 10000), ORDERS_FLIGHT_MINUTE_MS (default 1000).
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init orders-bench
BIN="$1"
DEMO="$ROOT/scripts/orders-demo.py"
COMPARE="${ORDERS_COMPARE:-200}"
COMPARE_MINUTE="${ORDERS_COMPARE_MINUTE_MS:-20}"
FLIGHT="${ORDERS_FLIGHT:-10000}"
FLIGHT_MINUTE="${ORDERS_FLIGHT_MINUTE_MS:-1000}"
GATEWAY_PORT="$(free_port)"
GATEWAY_PID=""
start_redis

# A fresh store and gateway per run, so each kitchen starts empty.
start_kitchen() {
    [ -z "$GATEWAY_PID" ] || stop_pid "$GATEWAY_PID"
    redis-cli -p "$REDIS_PORT" flushall >/dev/null
    start_gateway "$BIN" "$GATEWAY_PORT" --store "redis://127.0.0.1:$REDIS_PORT" --log-level error --pizzeria on "$@"
}
demo() { "${CLIENT_PIN[@]}" python3 "$DEMO" --url "http://127.0.0.1:$GATEWAY_PORT" --json "$@"; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

echo "orders bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine); $COMPARE orders per kitchen at minute=${COMPARE_MINUTE} ms, 4 cooks, 4 ovens, 4 riders" >&2
declare -A RESULT
for mode in blocking evented; do
    start_kitchen --minute-ms "$COMPARE_MINUTE" --kitchen "$mode" --cooks 4 --ovens 4 --riders 4
    RESULT[$mode]="$(demo --orders "$COMPARE" --concurrency 4)"
done
echo "orders bench: $FLIGHT orders in flight at minute=${FLIGHT_MINUTE} ms, resources for all of them" >&2
start_kitchen --minute-ms "$FLIGHT_MINUTE" --cooks "$FLIGHT" --ovens "$FLIGHT" --riders "$FLIGHT" --max-requests-in-progress 1024
BASE_KIB="$(mem_kib "$GATEWAY_PID" VmRSS)"
FLIGHT_RESULT="$(demo --orders "$FLIGHT" --concurrency 16 --timeout 900)"
PEAK_KIB="$(mem_kib "$GATEWAY_PID" VmHWM)"

echo
echo "== pizzeria: the story's comparison (same orders, same 4 cooks / 4 ovens / 4 riders, minute = ${COMPARE_MINUTE} ms) =="
printf '%-10s %10s %14s %10s %10s %10s %10s\n' kitchen delivered "orders/minute" "mean s" "p50 s" "p99 s" "ideal s"
for mode in blocking evented; do
    r="${RESULT[$mode]}"
    printf '%-10s %10s %14s %10s %10s %10s %10s\n' "$mode" "$(field "$r" delivered)" "$(field "$r" orders_per_minute)" \
        "$(field "$r" mean_s)" "$(field "$r" p50_s)" "$(field "$r" p99_s)" "$(field "$r" ideal_mean_s)"
done
awk -v e="$(field "${RESULT[evented]}" orders_per_minute)" -v b="$(field "${RESULT[blocking]}" orders_per_minute)" \
    'BEGIN { if (b > 0) printf "evented / blocking throughput: %.2fx\n", e / b }'
echo
echo "== pizzeria: $FLIGHT orders in flight on one thread (minute = ${FLIGHT_MINUTE} ms) =="
echo "peak in flight        $(field "$FLIGHT_RESULT" peak_in_flight)"
echo "delivered             $(field "$FLIGHT_RESULT" delivered) (refused $(field "$FLIGHT_RESULT" refused))"
echo "time to delivery      p50 $(field "$FLIGHT_RESULT" p50_s) s, p99 $(field "$FLIGHT_RESULT" p99_s) s, mean $(field "$FLIGHT_RESULT" mean_s) s"
echo "ideal (sum of steps)  mean $(field "$FLIGHT_RESULT" ideal_mean_s) s; per order over its ideal: p50 $(field "$FLIGHT_RESULT" over_ideal_p50_s) s, p99 $(field "$FLIGHT_RESULT" over_ideal_p99_s) s"
echo "gateway RSS           start $((BASE_KIB / 1024)) MiB, peak (VmHWM) $((PEAK_KIB / 1024)) MiB"
