#!/usr/bin/env bash
# Record GET through the gateway vs the store's own ceiling, in one run:
#   wrk GET and PUT (put_record.lua) of a 3-bin record (c=64, keep-alive): req/s,
#   p50/p99, gateway and redis-server CPU µs per request (lib.sh's wrk_median); a batch
#   of 100 keys, ordered JSON vs streamed NDJSON (batch_latency.py: time to first and last
#   result); redis-benchmark GET -P 1 / -P 16 (redis CPU per command); `StoreBench` (the
#   store client alone) over 1, 2 and 4 connections; an overload run.
# redis-server and the gateway run pinned to cpu1, the load generators to cpu0 (2+ CPUs).
# Usage: scripts/bench/records_and_store.sh BINARY [STOREBENCH]   (BENCH_SECONDS=10 by default;
#   STOREBENCH defaults to the StoreBench executable next to BINARY)
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init records-and-store
BIN="$1"
STORE_BENCH="${2:-$(dirname "$BIN")/StoreBench}"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
GATEWAY_PORT="$(free_port)"
start_redis

# wrk_median's settings for the GET and PUT runs: c=64, a 2 s warm-up, median of 3.
WRK_SECONDS="$SECONDS_PER_RUN" RUNS=3 WARMUP_SECONDS=2 CONNECTIONS=64
# A single run at c=CONNECTIONS, no warm-up; prints "req/s p50 p99 requests gateway_us non2xx".
single_run() {
    local label="$1" connections="$2"
    CONNECTIONS="$connections" RUNS=1 WARMUP_SECONDS=0 wrk_median "$label" "$GATEWAY_PID" "$URL"
    echo "$(stat_of "$label" rps) $(stat_of "$label" p50_us) $(stat_of "$label" p99_us) $(stat_of "$label" requests)" \
        "$(stat_of "$label" gw_us) $(stat_of "$label" non2xx)"
}

start_gateway "$BIN" "$GATEWAY_PORT" --store "redis://127.0.0.1:$REDIS_PORT"
URL="http://127.0.0.1:$GATEWAY_PORT/v1/kv/bench/users/alice"
status="$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    --data '{"bins":{"name":"Alice","age":30,"city":"Paris"}}' "$URL")"
[[ "$status" =~ ^20[01]$ ]] || { say "seeding the record answered $status"; exit 1; }
wrk_median get "$GATEWAY_PID" "$URL"

# PUT of a 3-bin record over 10,000 keys, the same way.
wrk_median put "$GATEWAY_PID" "$URL" -s "$BENCH/put_record.lua"

# A batch of 100 keys, one at a time on one connection: ordered JSON vs NDJSON.
BATCH_ITERATIONS="${BENCH_BATCH_ITERATIONS:-2000}"
BATCH_OUT="$("${CLIENT_PIN[@]}" python3 "$BENCH/batch_latency.py" "$GATEWAY_PORT" "$BATCH_ITERATIONS" 100)"
read -r _ _ _ BO_L50 BO_L99 BO_B50 BO_B99 <<<"$(grep '^ordered' <<<"$BATCH_OUT")"
read -r _ BS_F50 BS_F99 BS_L50 BS_L99 _ _ <<<"$(grep '^streamed' <<<"$BATCH_OUT")"

# redis-benchmark on the same server: the store's own ceiling.
redis_bench() {
    local pipeline="$1" r0 r1 out rate
    r0="$(cpu_ticks "$REDIS_PID")"
    out="$("${CLIENT_PIN[@]}" redis-benchmark -p "$REDIS_PORT" -t get -n 400000 -c 50 -P "$pipeline" -q 2>/dev/null | tr '\r' '\n' | grep -E '^GET' | tail -1)"
    r1="$(cpu_ticks "$REDIS_PID")"
    rate="$(echo "$out" | awk '{print $2}')"
    python3 -c "print(f'{float(\"$rate\"):.0f} {($r1 - $r0) / $CLK_TCK * 1e6 / 400000:.2f}')"
}
read -r P1_RPS P1_CPU <<<"$(redis_bench 1)"
read -r P16_RPS P16_CPU <<<"$(redis_bench 16)"

# The store client alone over 1, 2, 4 connections.
redis-cli -p "$REDIS_PORT" set bench:key "some value" >/dev/null
STORE_ROWS=""
for connections in 1 2 4; do
    r0="$(cpu_ticks "$REDIS_PID")"
    line="$("${CLIENT_PIN[@]}" "$STORE_BENCH" --store "redis://127.0.0.1:$REDIS_PORT" --connections "$connections" --commands 400000 --window 512)"
    r1="$(cpu_ticks "$REDIS_PID")"
    rate="$(echo "$line" | sed -E 's/.*commands_per_second=([0-9]+).*/\1/')"
    gw="$(echo "$line" | sed -E 's/.*gateway_cpu_us_per_command=([0-9.]+).*/\1/')"
    rcpu="$(python3 -c "print(f'{($r1 - $r0) / $CLK_TCK * 1e6 / 400000:.2f}')")"
    STORE_ROWS+="| store client GET, ${connections} conn, 512 outstanding | ${rate} cmd/s | client ${gw} µs/cmd | redis ${rcpu} µs/cmd |"$'\n'
done

# Overload: small limits (layer 2 below layer 3, see docs/backpressure.md), 32× the
# capacity in connections with a 10 ms admission timeout; normal load beside it.
stop_pid "$GATEWAY_PID"
start_gateway "$BIN" "$GATEWAY_PORT" --store "redis://127.0.0.1:$REDIS_PORT" --max-requests-in-progress 16 \
    --admission-timeout-ms 10 --max-conns-per-node 2 --max-pipeline-per-conn 8 --max-queued-per-node 16
read -r N_RPS _ N_P99 _ _ N_BAD <<<"$(single_run normal 16)"
read -r _ O_P50 O_P99 O_REQ _ O_BAD <<<"$(single_run overload 512)"
PEAK_RSS_KB="$(mem_kib "$GATEWAY_PID" VmHWM)"

printf '\n| record GET (3 bins), wrk c=64, median of 3 | value |\n|---|---|\n'
printf '| req/s | %s |\n| p50 / p99 (µs) | %s / %s |\n' "$(stat_of get rps)" "$(stat_of get p50_us)" "$(stat_of get p99_us)"
printf '| gateway CPU µs per request | %s |\n| redis CPU µs per request | %s |\n| non-2xx (all 3 runs) | %s |\n' \
    "$(stat_of get gw_us)" "$(stat_of get redis_us)" "$(stat_of get non2xx)"
printf '| record PUT (3 bins, 10k keys), wrk c=64, median of 3: req/s, p50 / p99 (µs) | %s, %s / %s |\n' \
    "$(stat_of put rps)" "$(stat_of put p50_us)" "$(stat_of put p99_us)"
printf '| record PUT: gateway / redis CPU µs per request, non-2xx (all 3 runs) | %s / %s, %s |\n' \
    "$(stat_of put gw_us)" "$(stat_of put redis_us)" "$(stat_of put non2xx)"
printf '| batch of 100 GETs, ordered JSON (%s runs): whole body p50 / p99 (µs), first byte p50 / p99 | %s / %s, %s / %s |\n' \
    "$BATCH_ITERATIONS" "$BO_L50" "$BO_L99" "$BO_B50" "$BO_B99"
printf '| batch of 100 GETs, NDJSON: first line p50 / p99, last line p50 / p99 (µs) | %s / %s, %s / %s |\n' \
    "$BS_F50" "$BS_F99" "$BS_L50" "$BS_L99"
printf '| redis-benchmark GET -P 1: cmd/s, redis µs/cmd | %s, %s |\n' "$P1_RPS" "$P1_CPU"
printf '| redis-benchmark GET -P 16: cmd/s, redis µs/cmd | %s, %s |\n' "$P16_RPS" "$P16_CPU"
python3 -c "print(f'| redis CPU per HTTP record GET ÷ per command at -P 1 | {float(\"$(stat_of get redis_us)\") / float(\"$P1_CPU\"):.2f} (target ≤ 0.5; a record GET is one HGETALL of its bins, _gen and _exp, dearer than GET) |')"
printf '%s' "$STORE_ROWS"
printf '| normal load c=16: req/s, p99 µs, non-2xx | %s, %s, %s |\n' "$N_RPS" "$N_P99" "$N_BAD"
python3 -c "print(f'| overload c=512 (capacity 16): offered→served | {int(\"$O_REQ\")} answered, {int(\"$O_BAD\")} 503 ({int(\"$O_BAD\") / max(int(\"$O_REQ\"), 1) * 100:.1f} %), served {(int(\"$O_REQ\") - int(\"$O_BAD\")) / $SECONDS_PER_RUN:.0f}/s |')"
printf '| overload: p50 / p99 of all answers (µs) | %s / %s |\n| gateway peak RSS (VmHWM) | %s KiB |\n' "$O_P50" "$O_P99" "$PEAK_RSS_KB"
