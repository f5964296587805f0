#!/usr/bin/env bash
# Starts storegate in the foreground with a local redis-server behind it.
# Installs what is missing, builds a release binary, starts redis-server on
# 127.0.0.1:6379 unless one already answers there (its data lives in .run/redis),
# and stops that redis-server again when storegate exits (Ctrl-C or SIGTERM).
# Arguments go to storegate (see `--help`), e.g. ./scripts/start.sh --listen 0.0.0.0:8080
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
./scripts/setup.sh
swift build -c release --product storegate --pkg-config-path .deps/lib/pkgconfig
BINARY="$(swift build -c release --show-bin-path)/storegate"

REDIS_PORT="${STOREGATE_REDIS_PORT:-6379}"
STARTED_REDIS=""
if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "start: using the redis-server already answering on 127.0.0.1:$REDIS_PORT" >&2
else
    mkdir -p "$ROOT/.run/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$ROOT/.run/redis" \
        --appendonly yes --daemonize yes --pidfile "$ROOT/.run/redis/redis.pid" \
        --logfile "$ROOT/.run/redis/redis.log" >/dev/null
    for _ in $(seq 1 50); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    STARTED_REDIS="$ROOT/.run/redis/redis.pid"
    echo "start: redis-server started on 127.0.0.1:$REDIS_PORT (data in .run/redis)" >&2
fi

stop_redis() {
    if [ -n "$STARTED_REDIS" ] && [ -f "$STARTED_REDIS" ]; then
        redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$STARTED_REDIS")" 2>/dev/null || true
    fi
}
trap stop_redis EXIT

export STOREGATE_STORE="${STOREGATE_STORE:-redis://127.0.0.1:$REDIS_PORT}"
# The pizzeria demo is on here (its own redis under .run/); `--pizzeria off` turns it off.
export STOREGATE_PIZZERIA="${STOREGATE_PIZZERIA:-on}"
"$BINARY" "$@" &
GATEWAY=$!

# Where the pizzeria page is: the --listen / STOREGATE_LISTEN address (any-address
# binds are reached on loopback), printed once the gateway answers.
LISTEN="${STOREGATE_LISTEN:-127.0.0.1:8080}"
PIZZERIA="$STOREGATE_PIZZERIA"
ARGS=("$@")
for ((i = 0; i < ${#ARGS[@]}; i++)); do
    case "${ARGS[$i]}" in
        --listen) LISTEN="${ARGS[$((i + 1))]:-$LISTEN}" ;;
        --listen=*) LISTEN="${ARGS[$i]#--listen=}" ;;
        --pizzeria) PIZZERIA="${ARGS[$((i + 1))]:-$PIZZERIA}" ;;
        --pizzeria=*) PIZZERIA="${ARGS[$i]#--pizzeria=}" ;;
    esac
done
HOST="${LISTEN%:*}"
PORT="${LISTEN##*:}"
case "$HOST" in 0.0.0.0 | "") HOST=127.0.0.1 ;; "[::]") HOST="[::1]" ;; esac
if [ "$PIZZERIA" = on ]; then
    for _ in $(seq 1 100); do
        kill -0 "$GATEWAY" 2>/dev/null || break
        # Any HTTP answer will do (with keys on, /healthz may answer 401).
        if python3 -c "import sys, urllib.request, urllib.error
try: urllib.request.urlopen('http://$HOST:$PORT/healthz', timeout=1)
except urllib.error.HTTPError: pass
except OSError: sys.exit(1)" 2>/dev/null; then
            echo "start: the pizzeria demo is at http://$HOST:$PORT/demo" >&2
            break
        fi
        sleep 0.1
    done
fi
trap 'kill -TERM $GATEWAY 2>/dev/null || true' INT TERM
wait $GATEWAY || true
wait $GATEWAY 2>/dev/null || true
