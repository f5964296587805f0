#!/usr/bin/env bash
# Contract tests: schemathesis drives the running gateway from openapi.yaml (positive
# and negative examples, every check, fixed seed) against a real redis-server.
# Installs schemathesis into .deps/venv on first use. Called by scripts/test.sh after
# a debug build; run alone with CONTRACT_EXAMPLES=N to go deeper.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
VENV="$ROOT/.deps/venv"
if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv --help >/dev/null 2>&1 || ./scripts/setup.sh python3-venv
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis>=4.3,<5"
fi
BIN="$(swift build --show-bin-path --pkg-config-path .deps/lib/pkgconfig)/storegate"
[ -x "$BIN" ] || { echo "contract: build storegate first" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK="$(mktemp -d)"
REDIS_PORT="$(free_port)"
GATEWAY_PORT="$(free_port)"
cleanup() {
    [ -n "${GATEWAY_PID:-}" ] && kill -TERM "$GATEWAY_PID" 2>/dev/null && wait "$GATEWAY_PID" 2>/dev/null
    [ -n "${AUTH_PID:-}" ] && kill -TERM "$AUTH_PID" 2>/dev/null && wait "$AUTH_PID" 2>/dev/null
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" --daemonize yes \
    --logfile "$WORK/redis.log" >/dev/null
"$BIN" --listen "127.0.0.1:$GATEWAY_PORT" --store "redis://127.0.0.1:$REDIS_PORT" \
    --openapi-path "$ROOT/openapi.yaml" --pizzeria on --minute-ms 5 >"${CONTRACT_ACCESS_LOG:-/dev/null}" 2>"$WORK/gateway.log" &
GATEWAY_PID=$!
for _ in $(seq 1 100); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$GATEWAY_PORT/readyz', timeout=1)" \
        >/dev/null 2>&1 && break
    sleep 0.1
done

echo "contract: schemathesis against storegate on :$GATEWAY_PORT (redis :$REDIS_PORT)"
"$VENV/bin/schemathesis" --config-file "$ROOT/schemathesis.toml" run "$ROOT/openapi.yaml" --url "http://127.0.0.1:$GATEWAY_PORT" \
    --checks all --seed "${CONTRACT_SEED:-20261124}" --max-examples "${CONTRACT_EXAMPLES:-40}" \
    --phases "${CONTRACT_PHASES:-examples,coverage,fuzzing}" --no-color \
    --report junit,vcr --report-junit-path "$WORK/junit.xml" --report-vcr-path "${CONTRACT_VCR:-$WORK/cassette.yaml}"
kill -0 "$GATEWAY_PID" 2>/dev/null || { echo "contract: the gateway died" >&2; cat "$WORK/gateway.log" >&2; exit 1; }

# A second, short run with auth on (docs/security.md): every endpoint protected, a key
# with every scope sent in a header, the coverage phase only. CONTRACT_AUTH=0 skips it.
if [ "${CONTRACT_AUTH:-1}" = 1 ]; then
    KEY="contract-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    AUTH_PORT="$(free_port)"
    STOREGATE_API_KEYS="$KEY:read,write,admin:*" "$BIN" --listen "127.0.0.1:$AUTH_PORT" \
        --store "redis://127.0.0.1:$REDIS_PORT" --public-endpoints none --openapi-path "$ROOT/openapi.yaml" \
        --pizzeria on --minute-ms 5 \
        >/dev/null 2>"$WORK/gateway-auth.log" &
    AUTH_PID=$!
    for _ in $(seq 1 100); do
        python3 -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$AUTH_PORT/readyz', \
            headers={'Authorization': 'Bearer $KEY'}), timeout=1)" >/dev/null 2>&1 && break
        sleep 0.1
    done
    echo "contract: second run with auth on, storegate on :$AUTH_PORT"
    "$VENV/bin/schemathesis" --config-file "$ROOT/schemathesis.toml" run "$ROOT/openapi.yaml" \
        --url "http://127.0.0.1:$AUTH_PORT" -H "Authorization: Bearer $KEY" \
        --checks all --seed "${CONTRACT_SEED:-20261124}" --max-examples 20 --phases coverage --no-color \
        --report junit --report-junit-path "$WORK/junit-auth.xml"
    kill -0 "$AUTH_PID" 2>/dev/null || { echo "contract: the gateway died" >&2; cat "$WORK/gateway-auth.log" >&2; exit 1; }
fi
