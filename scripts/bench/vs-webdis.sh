#!/usr/bin/env bash
# storegate beside Webdis (the peer: an HTTP-to-Redis gateway in C) and nginx-light (the
# HTTP floor), measured in one run on this machine, by the method of
# docs/benchmarks.md. It prints figures; it never fails because a figure is poor.
#
#   1. installs webdis, nginx-light, wrk, valgrind (Debian; via scripts/setup.sh) and
#      builds a release storegate into .build-bench/ (unless a binary is given);
#   2. one redis-server (no persistence) behind both gateways; the same 3-field record on
#      both sides (storegate's hash `sg:{test/users/k1}`, Webdis's `w:k1`);
#   3. wrk -t1 -c64 --latency, median of 3: storegate record GET, PUT, /healthz; Webdis
#      HGETALL, HSET; nginx `return 200` — req/s, p50, p99, gateway and redis CPU µs
#      per request (/proc/PID/stat), non-2xx;
#   4. callgrind instructions per request for the same six calls (a warm-up, then
#      `callgrind_control -z`, N requests over 16 keep-alive connections, `-d`), and
#      the functions storegate spends them in;
#   5. RSS per idle keep-alive connection at 5,000 and 10,000 connections;
#   6. a 5,000-key batch get: time to first and last result, the gateway's VmHWM;
#   7. a report on stdout, also written to .bench/vs-webdis-DATE.txt (the callgrind
#      dumps beside it).
# Servers and redis-server run pinned to cpu1, the load generators to cpu0 (2+ CPUs).
#
# usage: scripts/bench/vs-webdis.sh [STOREGATE_BINARY]
# STOREGATE_BENCH_QUICK=1: a smoke test (3 s wrk runs, 1 repetition, fewer requests and
# connections). Every process it starts, and its temp dir, is removed on exit.
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init vs-webdis
cd "$ROOT"

if [ "${STOREGATE_BENCH_QUICK:-0}" = 1 ]; then
    MODE="quick (STOREGATE_BENCH_QUICK=1)"
    WRK_SECONDS=3 RUNS=1 WARMUP_SECONDS=1
    CG_WARMUP=100 CG_REQUESTS=1000
    IDLE_COUNTS=1000,2000
    BATCH_ITERATIONS=1
else
    MODE="full"
    WRK_SECONDS=10 RUNS=3 WARMUP_SECONDS=2
    CG_WARMUP=300 CG_REQUESTS=3000
    IDLE_COUNTS=5000,10000
    BATCH_ITERATIONS=5
fi
CONNECTIONS=64
CG_CONNECTIONS=16
BATCH_KEYS=5000

# --- tools and binary ------------------------------------------------------------------
./scripts/setup.sh webdis nginx-light wrk valgrind
release_binary STOREGATE storegate ${1+"$1"}
# The launchers below set LAUNCHED to the new process's PID. WRAP (an array, lib.sh) is
# put in front of the server command, e.g. valgrind.
LAUNCHED=""

start_storegate() {  # PORT TRIES [FLAGS…]
    local port="$1" tries="$2"; shift 2
    READY_TRIES="$tries" start_gateway "$STOREGATE" "$port" --store "redis://127.0.0.1:$REDIS_PORT" "$@"
    LAUNCHED="$GATEWAY_PID"
}

start_webdis() {
    local port="$1" tries="$2" conf="$TMP/webdis-$1.json"
    cat >"$conf" <<JSON
{
    "redis_host": "127.0.0.1",
    "redis_port": $REDIS_PORT,
    "redis_auth": null,
    "http_host": "127.0.0.1",
    "http_port": $port,
    "threads": 1,
    "pool_size": $SG_CONNS_PER_NODE,
    "daemonize": false,
    "database": 0,
    "verbosity": 1,
    "logfile": "$TMP/webdis-$port.log"
}
JSON
    "${SERVER_PIN[@]}" ${WRAP[@]+"${WRAP[@]}"} webdis "$conf" >>"$TMP/webdis-$port.out" 2>&1 &
    LAUNCHED=$!
    STARTED+=("$LAUNCHED")
    wait_http "$port" /PING "$LAUNCHED" "$tries" || { cat "$TMP/webdis-$port.out" >&2; return 1; }
}

http() {  # METHOD PORT PATH [JSON BODY] → prints the status
    python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
method, port, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                             headers={"Content-Type": "application/json"} if body else {})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}

RECORD='{"bins":{"name":"Alice","age":30,"city":"Rome"}}'
# The whole help text first: awk stopping early would end storegate with SIGPIPE.
SG_HELP="$("$STOREGATE" --help)"
SG_CONNS_PER_NODE="$(awk '/--max-conns-per-node/ { getline; getline; sub(/,$/, "", $2); print $2; exit }' <<<"$SG_HELP")"
[[ "$SG_CONNS_PER_NODE" =~ ^[0-9]+$ ]] || SG_CONNS_PER_NODE=4

# The six calls: NAME SERVER METHOD PATH [BODY]. SERVER is sg, wd or ng.
CALLS=(sg_get wd_hgetall sg_put wd_hset sg_healthz ng_static)
declare -A CALL_SERVER=([sg_get]=sg [wd_hgetall]=wd [sg_put]=sg [wd_hset]=wd [sg_healthz]=sg [ng_static]=ng)
declare -A CALL_METHOD=([sg_get]=GET [wd_hgetall]=GET [sg_put]=PUT [wd_hset]=GET [sg_healthz]=GET [ng_static]=GET)
declare -A CALL_PATH=(
    [sg_get]=/v1/kv/test/users/k1 [wd_hgetall]=/HGETALL/w:k1
    [sg_put]=/v1/kv/test/users/k2 [wd_hset]=/HSET/w:k2/name/Alice/age/30/city/Rome
    [sg_healthz]=/healthz [ng_static]=/)
declare -A CALL_LABEL=(
    [sg_get]="storegate record GET" [wd_hgetall]="Webdis GET /HGETALL/w:k1"
    [sg_put]="storegate record PUT (3 bins)" [wd_hset]="Webdis GET /HSET/w:k2/… (3 fields)"
    [sg_healthz]="storegate GET /healthz" [ng_static]="nginx return 200 \"ok\"")
declare -A PORT_OF PID_OF

# The same record on both sides, each in its gateway's own layout: storegate's hash
# sg:{test/users/KEY} holds _gen, _exp and _b, the bins with their JSON, length-prefixed
# (Sources/Gateway/Records/BinsBlob.swift: a read is one HGETALL of the three fields);
# Webdis's w:k1 the three fields as plain strings, as its HSET call writes w:k2.
seed() {
    local status key
    for key in k1 k2; do
        status="$(http PUT "${PORT_OF[sg]}" "/v1/kv/test/users/$key" "$RECORD")"
        [ "$status" = 200 ] || [ "$status" = 201 ] || { say "seeding $key answered $status"; return 1; }
    done
    [ "$(redis-cli -p "$REDIS_PORT" hlen 'sg:{test/users/k1}')" -ge 3 ] ||
        { say "storegate's record is not at sg:{test/users/k1}"; return 1; }
    [ "$(redis-cli -p "$REDIS_PORT" hexists 'sg:{test/users/k1}' _exp)" = 1 ] ||
        { say "storegate's record has no _exp: reads would take the old layout's transaction"; return 1; }
    redis-cli -p "$REDIS_PORT" del w:k1 >/dev/null
    redis-cli -p "$REDIS_PORT" hset w:k1 name Alice age 30 city Rome >/dev/null
    [ "$(http GET "${PORT_OF[wd]}" /HSET/w:k2/name/Alice/age/30/city/Rome)" = 200 ] || { say "Webdis HSET failed"; return 1; }
}

START_TIME="$(date +%s)"
STAMP="$(date -u +%Y%m%d-%H%M%S)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
# What else ran: the four processes with the most CPU over one second, before the runs.
BUSY_BEFORE="$(python3 - "$CLK_TCK" <<'PY'
import os, sys, time
def sample():
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[pid] = (comm, int(fields[11]) + int(fields[12]))
    return out
a = sample(); time.sleep(1); b = sample()
busy = sorted(((b[p][1] - a[p][1], b[p][0]) for p in b if p in a), reverse=True)[:4]
print(", ".join(f"{comm} {ticks * 100 // int(sys.argv[1])}%" for ticks, comm in busy if ticks) or "nothing")
PY
)"

# --- 3. wrk -------------------------------------------------------------------------------
start_redis
PORT_OF[sg]="$(free_port)"; start_storegate "${PORT_OF[sg]}" 100; PID_OF[sg]="$LAUNCHED"
PORT_OF[wd]="$(free_port)"; start_webdis "${PORT_OF[wd]}" 100; PID_OF[wd]="$LAUNCHED"
PORT_OF[ng]="$(free_port)"; start_nginx "${PORT_OF[ng]}" 100; PID_OF[ng]="$LAUNCHED"
seed
LAYOUT_SG="$(redis-cli -p "$REDIS_PORT" --no-raw hgetall 'sg:{test/users/k1}' | tr '\n' ' ')"
LAYOUT_WD="$(redis-cli -p "$REDIS_PORT" --no-raw hgetall w:k1 | tr '\n' ' ')"

wrk_case() {
    local call="$1" server="${CALL_SERVER[$1]}" lua=()
    [ "${CALL_METHOD[$call]}" = PUT ] && lua=(-s "$BENCH/put_one_record.lua")
    wrk_median "$call" "${PID_OF[$server]}" "http://127.0.0.1:${PORT_OF[$server]}${CALL_PATH[$call]}" \
        ${lua[@]+"${lua[@]}"}
}
for call in "${CALLS[@]}"; do wrk_case "$call"; done

for server in sg wd ng; do stop_pid "${PID_OF[$server]}"; done

# --- 4. callgrind ---------------------------------------------------------------------------
# One server per kind under callgrind; for each of its calls a load client holding 16
# keep-alive connections (scripts/bench/keepalive_load.py --commands, driven through two
# fifos) sends the warm-up, callgrind's counters are zeroed, it sends CG_REQUESTS, they
# are dumped: the dump's total Ir ÷ CG_REQUESTS.
CG_DIR="$TMP/callgrind"
mkdir -p "$CG_DIR"
declare -A IR_OF
dump_count() { find "$CG_DIR" -maxdepth 1 -name "$(basename "$1").*" | wc -l; }

cg_case() {
    local call="$1" server="${CALL_SERVER[$1]}" pid out line total="" dumps=() body=() before i
    pid="${PID_OF[$server]}"
    out="$CG_DIR/callgrind.out.$server"
    [ "${CALL_METHOD[$call]}" = PUT ] && body=(--body "$RECORD")
    say "callgrind: ${CALL_LABEL[$call]}: $CG_WARMUP warm-up, then $CG_REQUESTS requests over $CG_CONNECTIONS connections"
    rm -f "$TMP/load.in" "$TMP/load.out"
    mkfifo "$TMP/load.in" "$TMP/load.out"
    "${CLIENT_PIN[@]}" python3 "$BENCH/keepalive_load.py" --commands --port "${PORT_OF[$server]}" \
        --connections "$CG_CONNECTIONS" --method "${CALL_METHOD[$call]}" --path "${CALL_PATH[$call]}" \
        ${body[@]+"${body[@]}"} <"$TMP/load.in" >"$TMP/load.out" 2>"$TMP/load.err" &
    local load=$!
    STARTED+=("$load")
    exec 7>"$TMP/load.in" 8<"$TMP/load.out"
    before="$(dump_count "$out")"
    if read -r -t 120 line <&8 && [ "$line" = connected ] &&
        echo "run $CG_WARMUP" >&7 && read -r -t 300 line <&8 &&
        callgrind_control -z "$pid" >>"$TMP/callgrind_control.log" 2>&1 &&
        echo "run $CG_REQUESTS" >&7 && read -r -t 600 line <&8 &&
        [[ "$line" == "requests=$CG_REQUESTS "* ]] &&
        callgrind_control -d "$pid" >>"$TMP/callgrind_control.log" 2>&1; then
        echo quit >&7
        for i in $(seq 1 100); do
            [ "$(dump_count "$out")" -gt "$before" ] && break
            sleep 0.1
        done
        mapfile -t dumps < <(printf '%s\n' "$out".* | sort -V)
        [ "${#dumps[@]}" -gt 0 ] && [ -f "${dumps[-1]}" ] && total="$(awk '/^totals:/ { print $2 }' "${dumps[-1]}")"
    fi
    if [[ "$total" =~ ^[0-9]+$ ]]; then
        IR_OF[$call]=$(( (total + CG_REQUESTS / 2) / CG_REQUESTS ))
        cp "${dumps[-1]}" "$CG_DIR/$call.callgrind.out"
        say "  ${IR_OF[$call]} Ir per request ($line)"
    else
        say "  callgrind run failed: $(tail -2 "$TMP/load.err" | tr '\n' ' ')"
        IR_OF[$call]="n/a"
    fi
    exec 7>&- 8<&-
    wait "$load" 2>/dev/null || true
    forget_pid "$load"
}

WRAP=(valgrind --tool=callgrind --callgrind-out-file="$CG_DIR/callgrind.out.sg")
PORT_OF[sg]="$(free_port)"; start_storegate "${PORT_OF[sg]}" 600; PID_OF[sg]="$LAUNCHED"
WRAP=(valgrind --tool=callgrind --callgrind-out-file="$CG_DIR/callgrind.out.wd")
PORT_OF[wd]="$(free_port)"; start_webdis "${PORT_OF[wd]}" 600; PID_OF[wd]="$LAUNCHED"
WRAP=(valgrind --tool=callgrind --callgrind-out-file="$CG_DIR/callgrind.out.ng")
PORT_OF[ng]="$(free_port)"; start_nginx "${PORT_OF[ng]}" 600; PID_OF[ng]="$LAUNCHED"
WRAP=()
for call in "${CALLS[@]}"; do cg_case "$call"; done
for server in sg wd ng; do stop_pid "${PID_OF[$server]}"; done

# --- 5. idle keep-alive connections --------------------------------------------------------
declare -A IDLE_OF
idle_case() {
    local server="$1" path="$2"
    say "idle connections: $server, stages $IDLE_COUNTS"
    if "${CLIENT_PIN[@]}" python3 "$BENCH/idle_connections.py" --port "${PORT_OF[$server]}" \
        --pids "${PID_OF[$server]}" --counts "$IDLE_COUNTS" --path "$path" >"$TMP/$server.idle" 2>"$TMP/$server.idle.err"; then
        IDLE_OF[$server]="$(awk '/^stage=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            out = out (out == "" ? "" : " / ") v["bytes_per_conn"] " B"; closed += v["closed_by_server"] }
            END { print out (closed > 0 ? " (" closed " closed by the server)" : "") }' "$TMP/$server.idle")"
    else
        IDLE_OF[$server]="failed: $(tail -1 "$TMP/$server.idle.err")"
    fi
    say "  ${IDLE_OF[$server]}"
    stop_pid "${PID_OF[$server]}"
}
idle_last() { awk -F'bytes_per_conn=' '/^stage=/ { split($2, a, " "); last = a[1] } END { print last }' "$TMP/$1.idle" 2>/dev/null; }

PORT_OF[sg]="$(free_port)"
start_storegate "${PORT_OF[sg]}" 100 --max-connections 20000 --keepalive-timeout-ms 600000; PID_OF[sg]="$LAUNCHED"
idle_case sg /healthz
PORT_OF[wd]="$(free_port)"; start_webdis "${PORT_OF[wd]}" 100; PID_OF[wd]="$LAUNCHED"
idle_case wd /PING
PORT_OF[ng]="$(free_port)"; start_nginx "${PORT_OF[ng]}" 100; PID_OF[ng]="$LAUNCHED"
idle_case ng /

# --- 6. a 5,000-key batch get, default settings -----------------------------------------------
PORT_OF[sg]="$(free_port)"; start_storegate "${PORT_OF[sg]}" 100; PID_OF[sg]="$LAUNCHED"
say "batch: $BATCH_KEYS gets, NDJSON and ordered JSON, $BATCH_ITERATIONS each"
if ! "${CLIENT_PIN[@]}" python3 "$BENCH/batch_first_last.py" --port "${PORT_OF[sg]}" --keys "$BATCH_KEYS" \
    --iterations "$BATCH_ITERATIONS" --pid "${PID_OF[sg]}" >"$TMP/batch.out" 2>"$TMP/batch.err"; then
    echo "error=$(tail -1 "$TMP/batch.err")" >>"$TMP/batch.out"
fi
stop_pid "${PID_OF[sg]}"
# The value of KEY in the key=value lines (several pairs share a line).
batch_of() { tr ' ' '\n' <"$TMP/batch.out" | sed -n "s/^$1=//p" | head -1; }
BATCH_STATUS="$(sed -n 's/^\(status=[0-9]*\).*refused=\(.*\)/\1 \2/p; s/^error=/error: /p' "$TMP/batch.out")"

# --- 7. report --------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'; }
verdict() {  # RATIO OP BOUND → "met" / "NOT met"
    awk -v r="$1" -v op="$2" -v b="$3" 'BEGIN { if (r !~ /^[0-9.]+$/) print "n/a"; else if ((op == "<=" && r + 0 <= b + 0) || (op == ">=" && r + 0 >= b + 0)) print "met"; else print "NOT met" }'
}

R_IR_GET="$(ratio "${IR_OF[sg_get]}" "${IR_OF[wd_hgetall]}")"
R_IR_PUT="$(ratio "${IR_OF[sg_put]}" "${IR_OF[wd_hset]}")"
R_IR_HEALTH="$(ratio "${IR_OF[sg_healthz]}" "${IR_OF[ng_static]}")"
R_RPS_GET="$(ratio "$(stat_of sg_get rps)" "$(stat_of wd_hgetall rps)")"
R_RPS_PUT="$(ratio "$(stat_of sg_put rps)" "$(stat_of wd_hset rps)")"
R_REDIS_GET="$(ratio "$(stat_of sg_get redis_us)" "$(stat_of wd_hgetall redis_us)")"
R_REDIS_PUT="$(ratio "$(stat_of sg_put redis_us)" "$(stat_of wd_hset redis_us)")"
R_GW_GET="$(ratio "$(stat_of sg_get gw_us)" "$(stat_of wd_hgetall gw_us)")"
R_GW_PUT="$(ratio "$(stat_of sg_put gw_us)" "$(stat_of wd_hset gw_us)")"
SG_IDLE_LAST="$(idle_last sg)"
WD_IDLE_LAST="$(idle_last wd)"
absolute() {  # IR BOUND → "met" / "NOT met"
    awk -v a="$1" -v b="$2" 'BEGIN { if (a !~ /^[0-9]+$/) print "n/a"; else print (a + 0 <= b + 0 ? "met" : "NOT met") }'
}

mkdir -p "$ROOT/.bench"
REPORT="$ROOT/.bench/vs-webdis-$STAMP.txt"
CG_KEEP="$ROOT/.bench/vs-webdis-$STAMP-callgrind"
cp -r "$CG_DIR" "$CG_KEEP"
{
    echo "storegate vs Webdis vs nginx — $(date -u '+%Y-%m-%d %H:%M UTC'), $MODE run"
    echo "machine: nproc=$NPROC, $(uname -m), load average before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "CPU of the busiest processes over 1 s before the runs (100% = one core): $BUSY_BEFORE"
    echo "pinning: $PINNING"
    echo "storegate $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') ($STOREGATE)"
    echo "webdis $(dpkg-query -W -f='${Version}' webdis) (Debian; the newest release is 0.1.22), \"threads\": 1, \"pool_size\": $SG_CONNS_PER_NODE (storegate's --max-conns-per-node)"
    echo "nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///') (nginx-light, worker_processes 1, master_process off); $(redis-server --version | awk '{print $3}' | sed 's/v=/redis-server /') (no persistence); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'); $(valgrind --version)"
    echo "redis data: storegate's sg:{test/users/k1} = $LAYOUT_SG"
    echo "            Webdis's w:k1                    = $LAYOUT_WD"
    echo
    echo "wrk -t1 -c$CONNECTIONS -d${WRK_SECONDS}s --latency, keep-alive, median of $RUNS by req/s (after a ${WARMUP_SECONDS}s warm-up)"
    {
        printf 'call\treq/s\tp50 µs\tp99 µs\tgateway CPU µs/req\tredis CPU µs/req\tnon-2xx\tsocket errors\n'
        for call in "${CALLS[@]}"; do
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${CALL_LABEL[$call]}" "$(stat_of "$call" rps)" \
                "$(stat_of "$call" p50_us)" "$(stat_of "$call" p99_us)" "$(stat_of "$call" gw_us)" \
                "$(stat_of "$call" redis_us)" "$(stat_of "$call" non2xx)" "$(stat_of "$call" socket_errors)"
        done
    } | table
    echo
    echo "callgrind: user-space instructions (Ir) per request; $CG_WARMUP warm-up requests, then $CG_REQUESTS over $CG_CONNECTIONS keep-alive connections between callgrind_control -z and -d"
    {
        printf 'call\tIr per request\n'
        for call in "${CALLS[@]}"; do printf '%s\t%s\n' "${CALL_LABEL[$call]}" "${IR_OF[$call]}"; done
    } | table
    for call in sg_get sg_put sg_healthz; do
        [ -f "$CG_DIR/$call.callgrind.out" ] || continue
        echo
        echo "where ${CALL_LABEL[$call]}'s instructions go (self cost, share of the total; scripts/bench/callgrind_top.py):"
        python3 "$BENCH/callgrind_top.py" "$CG_DIR/$call.callgrind.out" 8 100 | sed 's/^/  /'
    done
    echo
    echo "RSS per idle keep-alive connection ((VmRSS with N idle − before) ÷ N; N = ${IDLE_COUNTS//,/ \/ }; each served one request first)"
    {
        printf 'server\tbytes per connection\n'
        printf '%s\t%s\n' "storegate (GET /healthz)" "${IDLE_OF[sg]}" "Webdis (GET /PING)" "${IDLE_OF[wd]}" \
            "nginx (GET /)" "${IDLE_OF[ng]}"
    } | table
    echo
    echo "batch: POST /v1/batch of $BATCH_KEYS gets (3-bin records), default settings, one connection, median of $BATCH_ITERATIONS"
    if [ "$(batch_of status)" = 200 ]; then
        {
            printf 'figure\tvalue\n'
            printf '%s\t%s ms\n' "NDJSON: first result" "$(batch_of ndjson_first_ms)" \
                "NDJSON: last result" "$(batch_of ndjson_last_ms)" \
                "ordered JSON: whole body" "$(batch_of json_last_ms)"
            printf '%s\t%s KiB\n' "storegate VmRSS before the batches" "$(batch_of rss_before_kib)" \
                "storegate peak RSS (VmHWM) after them" "$(batch_of vm_hwm_kib)"
        } | table
    else
        echo "  not measured: the gateway answered ${BATCH_STATUS:-nothing usable} (see docs/benchmarks.md)"
    fi
    echo
    echo "targets (docs/benchmarks.md), ratios in this run (storegate ÷ reference):"
    {
        printf 'target\tthis run\tverdict\n'
        printf '%s\t%s\t%s\n' \
            "Ir per record GET ≤ 0.5× Webdis HGETALL" "$R_IR_GET" "$(verdict "$R_IR_GET" "<=" 0.5)" \
            "Ir per PUT ≤ 1× Webdis HSET" "$R_IR_PUT" "$(verdict "$R_IR_PUT" "<=" 1)" \
            "Ir per /healthz ≤ 2× nginx" "$R_IR_HEALTH" "$(verdict "$R_IR_HEALTH" "<=" 2)" \
            "Ir per record GET ≤ 26,800 (0.5× Webdis 0.1.22)" "${IR_OF[sg_get]}" "$(absolute "${IR_OF[sg_get]}" 26800)" \
            "Ir per PUT ≤ 46,700 (1× Webdis 0.1.22)" "${IR_OF[sg_put]}" "$(absolute "${IR_OF[sg_put]}" 46700)" \
            "Ir per /healthz ≤ 14,100 (2× nginx-light 7.0k)" "${IR_OF[sg_healthz]}" "$(absolute "${IR_OF[sg_healthz]}" 14100)" \
            "req/s record GET ≥ 1.5× Webdis HGETALL" "$R_RPS_GET" "$(verdict "$R_RPS_GET" ">=" 1.5)" \
            "req/s PUT ≥ 1× Webdis HSET" "$R_RPS_PUT" "$(verdict "$R_RPS_PUT" ">=" 1)" \
            "redis CPU per record GET ≤ 1× Webdis HGETALL" "$R_REDIS_GET" "$(verdict "$R_REDIS_GET" "<=" 1)" \
            "redis CPU per PUT ≤ 2× Webdis HSET" "$R_REDIS_PUT" "$(verdict "$R_REDIS_PUT" "<=" 2)" \
            "RSS per idle connection at the last stage ≤ 437 B" "${SG_IDLE_LAST:-n/a} B (Webdis here: ${WD_IDLE_LAST:-n/a} B)" \
            "$(absolute "${SG_IDLE_LAST%.*}" 437)"
        printf '%s\t%s\t%s\n' "(gateway CPU per request, GET / PUT, vs Webdis)" "$R_GW_GET / $R_GW_PUT" "(no target)"
    } | table
    echo
    echo "wrk figures move with the machine's load (shared, $NPROC cores); the callgrind counts do not."
    echo "callgrind dumps: $CG_KEEP (callgrind_annotate --inclusive=yes FILE)"
    echo "(took $(( $(date +%s) - START_TIME )) s after the build)"
} | tee "$REPORT"
say "report written to $REPORT"
