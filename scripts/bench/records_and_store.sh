#!/usr/bin/env bash
# Record GET through the gateway vs the store's own ceiling, in one run:
#   wrk GET and PUT (put_record.lua) of a 3-bin record (c=64, keep-alive): req/s,
#   p50/p99, gateway and redis-server CPU µs per request; a batch of 100 keys, ordered
#   JSON vs streamed NDJSON (batch_latency.py: time to first and last result); redis-benchmark GET -P 1 / -P 16 (redis CPU per
#   command); `StoreBench` (the store client alone) over 1, 2 and 4 connections; an overload run.
# Usage: scripts/bench/records_and_store.sh BINARY [STOREBENCH]   (BENCH_SECONDS=10 by default;
#   STOREBENCH defaults to the StoreBench executable next to BINARY)
set -euo pipefail
BIN="$1"
STORE_BENCH="${2:-$(dirname "$BIN")/StoreBench}"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
TICKS="$(getconf CLK_TCK)"
WORK="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
REDIS_PORT="$(free_port)"; GATEWAY_PORT="$(free_port)"
GATEWAY_PID=""
cleanup() {
    [ -n "$GATEWAY_PID" ] && kill "$GATEWAY_PID" 2>/dev/null && wait "$GATEWAY_PID" 2>/dev/null
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
taskset -c 1 redis-server --port "$REDIS_PORT" --save "" --appendonly no --dir "$WORK" --daemonize yes \
    --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" >/dev/null
sleep 0.3
REDIS_PID="$(cat "$WORK/redis.pid")"

start_gateway() {
    [ -n "$GATEWAY_PID" ] && kill "$GATEWAY_PID" 2>/dev/null && wait "$GATEWAY_PID" 2>/dev/null
    taskset -c 1 "$BIN" --listen "127.0.0.1:$GATEWAY_PORT" --store "redis://127.0.0.1:$REDIS_PORT" \
        --access-log off "$@" 2>"$WORK/gateway.log" &
    GATEWAY_PID=$!
    for _ in $(seq 1 50); do
        python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$GATEWAY_PORT/readyz', timeout=1)" \
            >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "gateway did not start" >&2; exit 1
}

# One wrk run; prints "req/s p50 p99 requests gateway_us redis_us non2xx".
wrk_run() {
    local url="$1" seconds="$2" connections="${3:-64}" script="${4:-}"
    local g0 r0 g1 r1 out
    g0="$(cpu_ticks "$GATEWAY_PID")"; r0="$(cpu_ticks "$REDIS_PID")"
    out="$(taskset -c 0 wrk -t1 -c"$connections" -d"${seconds}s" --latency ${script:+-s "$script"} "$url")"
    g1="$(cpu_ticks "$GATEWAY_PID")"; r1="$(cpu_ticks "$REDIS_PID")"
    python3 - "$out" "$((g1 - g0))" "$((r1 - r0))" "$TICKS" <<'PY'
import re, sys
out, g, r, ticks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def lat(name):
    m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % name, out)
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 1, "ms": 1000, "s": 1e6}[unit]
requests = int(re.search(r"(\d+) requests in", out).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
print(f"{rate:.0f} {lat('50'):.0f} {lat('99'):.0f} {requests} {g / ticks * 1e6 / requests:.2f} {r / ticks * 1e6 / requests:.2f} {non2xx.group(1) if non2xx else 0}")
PY
}

median_run() {  # 3 runs, the one with the median req/s
    local runs=()
    for _ in 1 2 3; do runs+=("$(wrk_run "$@")"); done
    printf '%s\n' "${runs[@]}" | sort -n -k1 | sed -n 2p
}

start_gateway
curl_put() {
    python3 -c "
import urllib.request
r = urllib.request.Request('http://127.0.0.1:$GATEWAY_PORT/v1/kv/bench/users/alice', method='PUT',
    data=b'{\"bins\":{\"name\":\"Alice\",\"age\":30,\"city\":\"Paris\"}}', headers={'Content-Type': 'application/json'})
urllib.request.urlopen(r).read()"
}
curl_put
URL="http://127.0.0.1:$GATEWAY_PORT/v1/kv/bench/users/alice"
taskset -c 0 wrk -t1 -c64 -d2s "$URL" >/dev/null   # warm-up
read -r GET_RPS GET_P50 GET_P99 _ GET_GW GET_REDIS GET_BAD <<<"$(median_run "$URL" "$SECONDS_PER_RUN")"

# PUT of a 3-bin record over 10,000 keys, the same way.
PUT_LUA="$(dirname "${BASH_SOURCE[0]}")/put_record.lua"
taskset -c 0 wrk -t1 -c64 -d2s -s "$PUT_LUA" "$URL" >/dev/null   # warm-up
read -r PUT_RPS PUT_P50 PUT_P99 _ PUT_GW PUT_REDIS PUT_BAD <<<"$(median_run "$URL" "$SECONDS_PER_RUN" 64 "$PUT_LUA")"

# A batch of 100 keys, one at a time on one connection: ordered JSON vs NDJSON.
BATCH_ITERATIONS="${BENCH_BATCH_ITERATIONS:-2000}"
BATCH_OUT="$(taskset -c 0 python3 "$(dirname "${BASH_SOURCE[0]}")/batch_latency.py" "$GATEWAY_PORT" "$BATCH_ITERATIONS" 100)"
read -r _ BO_F50 BO_F99 BO_L50 BO_L99 BO_B50 BO_B99 <<<"$(grep '^ordered' <<<"$BATCH_OUT")"
read -r _ BS_F50 BS_F99 BS_L50 BS_L99 BS_B50 BS_B99 <<<"$(grep '^streamed' <<<"$BATCH_OUT")"

# redis-benchmark on the same server: the store's own ceiling.
redis_bench() {
    local pipeline="$1" r0 r1 out rate
    r0="$(cpu_ticks "$REDIS_PID")"
    out="$(taskset -c 0 redis-benchmark -p "$REDIS_PORT" -t get -n 400000 -c 50 -P "$pipeline" -q 2>/dev/null | tr '\r' '\n' | grep -E '^GET' | tail -1)"
    r1="$(cpu_ticks "$REDIS_PID")"
    rate="$(echo "$out" | awk '{print $2}')"
    python3 -c "print(f'{float(\"$rate\"):.0f} {($r1 - $r0) / $TICKS * 1e6 / 400000:.2f}')"
}
read -r P1_RPS P1_CPU <<<"$(redis_bench 1)"
read -r P16_RPS P16_CPU <<<"$(redis_bench 16)"

# The store client alone over 1, 2, 4 connections.
redis-cli -p "$REDIS_PORT" set bench:key "some value" >/dev/null
STORE_ROWS=""
for connections in 1 2 4; do
    r0="$(cpu_ticks "$REDIS_PID")"
    line="$(taskset -c 0 "$STORE_BENCH" --store "redis://127.0.0.1:$REDIS_PORT" --connections "$connections" --commands 400000 --window 512)"
    r1="$(cpu_ticks "$REDIS_PID")"
    rate="$(echo "$line" | sed -E 's/.*commands_per_second=([0-9]+).*/\1/')"
    gw="$(echo "$line" | sed -E 's/.*gateway_cpu_us_per_command=([0-9.]+).*/\1/')"
    rcpu="$(python3 -c "print(f'{($r1 - $r0) / $TICKS * 1e6 / 400000:.2f}')")"
    STORE_ROWS+="| store client GET, ${connections} conn, 512 outstanding | ${rate} cmd/s | client ${gw} µs/cmd | redis ${rcpu} µs/cmd |"$'\n'
done

# Overload: small limits (layer 2 below layer 3, see docs/backpressure.md), 32× the
# capacity in connections with a 10 ms admission timeout; normal load beside it.
start_gateway --max-requests-in-progress 16 --admission-timeout-ms 10 --max-conns-per-node 2 \
    --max-pipeline-per-conn 8 --max-queued-per-node 16
read -r N_RPS N_P50 N_P99 N_REQ N_GW _ N_BAD <<<"$(wrk_run "$URL" "$SECONDS_PER_RUN" 16)"
read -r O_RPS O_P50 O_P99 O_REQ O_GW _ O_BAD <<<"$(wrk_run "$URL" "$SECONDS_PER_RUN" 512)"
PEAK_RSS_KB="$(awk '/VmHWM/ {print $2}' "/proc/$GATEWAY_PID/status")"

printf '\n| record GET (3 bins), wrk c=64, median of 3 | value |\n|---|---|\n'
printf '| req/s | %s |\n| p50 / p99 (µs) | %s / %s |\n' "$GET_RPS" "$GET_P50" "$GET_P99"
printf '| gateway CPU µs per request | %s |\n| redis CPU µs per request | %s |\n| non-2xx | %s |\n' "$GET_GW" "$GET_REDIS" "$GET_BAD"
printf '| record PUT (3 bins, 10k keys), wrk c=64, median of 3: req/s, p50 / p99 (µs) | %s, %s / %s |\n' "$PUT_RPS" "$PUT_P50" "$PUT_P99"
printf '| record PUT: gateway / redis CPU µs per request, non-2xx | %s / %s, %s |\n' "$PUT_GW" "$PUT_REDIS" "$PUT_BAD"
printf '| batch of 100 GETs, ordered JSON (%s runs): whole body p50 / p99 (µs), first byte p50 / p99 | %s / %s, %s / %s |\n' \
    "$BATCH_ITERATIONS" "$BO_L50" "$BO_L99" "$BO_B50" "$BO_B99"
printf '| batch of 100 GETs, NDJSON: first line p50 / p99, last line p50 / p99 (µs) | %s / %s, %s / %s |\n' \
    "$BS_F50" "$BS_F99" "$BS_L50" "$BS_L99"
printf '| redis-benchmark GET -P 1: cmd/s, redis µs/cmd | %s, %s |\n' "$P1_RPS" "$P1_CPU"
printf '| redis-benchmark GET -P 16: cmd/s, redis µs/cmd | %s, %s |\n' "$P16_RPS" "$P16_CPU"
python3 -c "print(f'| redis CPU per HTTP record GET ÷ per command at -P 1 | {float(\"$GET_REDIS\") / float(\"$P1_CPU\"):.2f} (target ≤ 0.5; a record GET is an EVALSHA, dearer than GET) |')"
printf '%s' "$STORE_ROWS"
printf '| normal load c=16: req/s, p99 µs, non-2xx | %s, %s, %s |\n' "$N_RPS" "$N_P99" "$N_BAD"
python3 -c "print(f'| overload c=512 (capacity 16): offered→served | {int(\"$O_REQ\")} answered, {int(\"$O_BAD\")} 503 ({int(\"$O_BAD\") / max(int(\"$O_REQ\"), 1) * 100:.1f} %), served {(int(\"$O_REQ\") - int(\"$O_BAD\")) / $SECONDS_PER_RUN:.0f}/s |')"
printf '| overload: p50 / p99 of all answers (µs) | %s / %s |\n| gateway peak RSS (VmHWM) | %s KiB |\n' "$O_P50" "$O_P99" "$PEAK_RSS_KB"
