#!/usr/bin/env bash
# callgrind-record-calls.sh BINARY LABEL — callgrind instructions per request for
# storegate's record GET, record PUT (3 bins) and /healthz, and redis-server's
# instructions per request beside each (redis under callgrind too, with --hz 1 so its
# cron, which grows with valgrind's wall time, stays out of the figure). Prints lines
# "LABEL call gateway_Ir/req=… redis_Ir/req=…". WEBDIS=1 also measures the redis side of
# Debian's webdis HGETALL and HSET (webdis itself runs natively: no gateway figure).
# Dumps stay in /tmp/cg-LABEL-*.out (scripts/bench/callgrind_top.py DUMP 40 100).
# The quick per-change check behind docs/performance.md; scripts/bench/vs-webdis.sh is
# the whole comparison.
set -euo pipefail
BIN="$(realpath "$1")"; LABEL="$2"
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMP="$(mktemp -d "/tmp/cg-$LABEL-XXXX")"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.3; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RP="$(free_port)"; GP="$(free_port)"
valgrind --tool=callgrind --callgrind-out-file="$TMP/redis.out" redis-server --port "$RP" --bind 127.0.0.1 --hz 1 --save "" --appendonly no --dir "$TMP" >"$TMP/redis.log" 2>&1 &
RPID=$!; PIDS+=("$RPID")
for _ in $(seq 1 300); do redis-cli -p "$RP" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
valgrind --tool=callgrind --callgrind-out-file="$TMP/gw.out" "$BIN" --listen "127.0.0.1:$GP" --store "redis://127.0.0.1:$RP" --access-log off >"$TMP/gw.log" 2>&1 &
GPID=$!; PIDS+=("$GPID")
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$GP/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
RECORD='{"bins":{"name":"Alice","age":30,"city":"Rome"}}'
for k in k1 k2; do curl -fs -X PUT -H 'Content-Type: application/json' -d "$RECORD" "http://127.0.0.1:$GP/v1/kv/test/users/$k" >/dev/null; done
N=${CG_REQUESTS:-3000}
count() { # PID OUTFILE → total Ir of the newest dump
  local pid="$1" out="$2"; callgrind_control -d "$pid" >/dev/null 2>&1; sleep 0.5
  local f="" candidate
  for candidate in "$out".*; do if [ -z "$f" ] || [ "$candidate" -nt "$f" ]; then f="$candidate"; fi; done
  awk '/^totals:/ {print $2}' "$f"; cp "$f" "/tmp/cg-$LABEL-$3.out" 2>/dev/null || true
}
run_case() { # NAME METHOD PATH [BODY] PORT
  local name="$1" method="$2" path="$3" body=() port="$5"
  [ -n "$4" ] && body=(--body "$4")
  rm -f "$TMP/in" "$TMP/outp"; mkfifo "$TMP/in" "$TMP/outp"
  python3 "$BENCH/keepalive_load.py" --commands --port "$port" --connections 16 --method "$method" --path "$path" ${body[@]+"${body[@]}"} <"$TMP/in" >"$TMP/outp" 2>"$TMP/load.err" &
  local load=$!
  exec 7>"$TMP/in" 8<"$TMP/outp"
  read -r -t 120 line <&8; echo "run 500" >&7; read -r -t 300 line <&8
  callgrind_control -z "$GPID" >/dev/null 2>&1 || true; callgrind_control -z "$RPID" >/dev/null 2>&1
  echo "run $N" >&7; read -r -t 600 line <&8
  local g r
  g="-"
  [ "$port" = "$GP" ] && g="$(( $(count "$GPID" "$TMP/gw.out" "$name-gw" || echo 0) / N ))"
  r="$(count "$RPID" "$TMP/redis.out" "$name-redis")"
  echo quit >&7; exec 7>&- 8<&-; wait "$load" 2>/dev/null || true
  echo "$LABEL $name gateway_Ir/req=$g redis_Ir/req=$(( ${r:-0} / N ))  ($line)"
}
run_case get GET /v1/kv/test/users/k1 "" "$GP"
run_case put PUT /v1/kv/test/users/k2 "$RECORD" "$GP"
run_case healthz GET /healthz "" "$GP"
if [ "${WEBDIS:-0}" = 1 ]; then
  WP="$(free_port)"
  cat >"$TMP/webdis.json" <<JSON
{"redis_host":"127.0.0.1","redis_port":$RP,"http_host":"127.0.0.1","http_port":$WP,"threads":1,"pool_size":4,"daemonize":false,"verbosity":0,"logfile":"$TMP/webdis.log"}
JSON
  webdis "$TMP/webdis.json" & PIDS+=($!)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$WP/PING" >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$RP" hset w:k1 name Alice age 30 city Rome >/dev/null
  run_case wd_hgetall GET /HGETALL/w:k1 "" "$WP"
  run_case wd_hset GET /HSET/w:k2/name/Alice/age/30/city/Rome "" "$WP"
fi
