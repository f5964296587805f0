#!/usr/bin/env bash
# redis-lab.sh BLOCK... — redis-server's own instructions per block of commands: each
# BLOCK file (scripts/bench/redis-lab/*.txt, one command per line, redis-cli quoting) is
# sent N times (default 5000) in one pipeline (`redis-cli --pipe`) to a fresh
# redis-server under callgrind (no persistence, --hz 1), after its BLOCK.setup file if
# there is one; prints "name instructions-per-block". The lab figures of
# docs/performance.md ("The store's side of a record call").
set -euo pipefail
N="${N:-5000}"
for block in "$@"; do
    name="$(basename "$block" .txt)"
    dir="$(mktemp -d "/tmp/redis-lab-$name-XXXX")"
    port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" redis-server --port "$port" --bind 127.0.0.1 \
        --save "" --appendonly no --hz 1 --dir "$dir" >"$dir/redis.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.3; done
    setup="${block%.txt}.setup"
    [ -f "$setup" ] && redis-cli -p "$port" <"$setup" >/dev/null
    python3 - "$N" "$block" >"$dir/pipe" <<'PY'
import shlex, sys
count, path = int(sys.argv[1]), sys.argv[2]
def encode(line):
    parts = [p.encode() for p in shlex.split(line)]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
block = b"".join(encode(line) for line in open(path).read().splitlines() if line.strip())
sys.stdout.buffer.write(block * count)
PY
    callgrind_control -z "$pid" >/dev/null 2>&1
    redis-cli -p "$port" --pipe <"$dir/pipe" >/dev/null
    callgrind_control -d "$pid" >/dev/null 2>&1
    sleep 0.5
    newest=""
    for dump in "$dir"/cg.out.*; do if [ -z "$newest" ] || [ "$dump" -nt "$newest" ]; then newest="$dump"; fi; done
    total="$(awk '/^totals:/ {print $2}' "$newest")"
    echo "$name $((total / N))"
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
done
