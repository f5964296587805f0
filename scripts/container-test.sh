#!/usr/bin/env bash
# Container test (test plan E2–E4 in the reliability design notes) without a Docker engine:
# builds deploy/Dockerfile with podman and runs the image against a redis-server on this
# host.
#
#   1. apt-get installs podman, runc, debootstrap and slirp4netns if missing.
#   2. Builds the release binary on the host (Debian 12, same glibc as the image) into
#      .build-deploy/ (git-ignored): the Swift builder image cannot be pulled here, so the
#      Dockerfile's host-binary stage takes its place (--build-arg BINARY_STAGE=host-binary).
#   3. Base image: `debootstrap --variant=minbase bookworm` from the machine's own Debian
#      mirror, trimmed like bookworm-slim and cached as .deps/rootfs/bookworm-minbase.tar
#      (git-ignored; reused when present), imported and tagged debian:bookworm-slim so the
#      Dockerfile builds unchanged with --pull=never.
#   4. podman on vfs with all state under a temporary --root/--runroot/--tmpdir; build with
#      --isolation chroot; run with runc, lowered ulimits, --read-only --cap-drop ALL.
#   5. Checks (uid, health, readiness, a record round trip, the healthcheck subcommand,
#      graceful stop with a request in flight, --workers 2 as PID 1, readiness with the
#      store gone), then removes everything podman created.
#
# Networking: slirp4netns with allow_host_loopback. The container reaches the host's
# loopback as 10.0.2.2, so redis-server listens on 127.0.0.1 only; the port is published
# on 127.0.0.1 (-p 127.0.0.1:PORT:8080). Unlike the netavark bridge, this creates no
# iptables chains, no bridge interface and leaves net.ipv4.ip_forward alone.
#
# CONTAINER_TEST_BUILDER=1 builds the Dockerfile's builder stage instead (setup.sh and the
# release build inside the image build), on a stand-in for the Swift image made from the
# same base plus the toolchain's Debian packages, with this host's toolchain mounted into
# the build. About 5 more minutes on 2 cores, so not in CI; docs/deploy.md has figures.
#
# Prints timings and "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

ROOTFS_CACHE="$ROOT/.deps/rootfs/bookworm-minbase.tar"
SCRATCH="$ROOT/.build-deploy"
HOST_BINARY_IN_CONTEXT=".build-deploy/storegate"   # allowed by deploy/Dockerfile.dockerignore
IMAGE="localhost/storegate:container-test"

PASS=0 FAIL=0 SKIP=0
START_MS=$(date +%s%3N)
STEP_MS=$START_MS

log() { printf 'container-test: %s\n' "$*"; }
ok() { PASS=$((PASS + 1)); printf '  ok    %s\n' "$1"; }
bad() { FAIL=$((FAIL + 1)); printf '  FAIL  %s\n' "$1"; }
skip() { SKIP=$((SKIP + 1)); printf '  skip  %s\n' "$1"; }
expect() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
now_ms() { date +%s%3N; }
timing() {
    local t; t=$(now_ms)
    printf 'container-test: [%6.1f s] %s (%.1f s)\n' "$(((t - START_MS) / 100))e-1" "$1" "$(((t - STEP_MS) / 100))e-1"
    STEP_MS=$t
}
die() { log "error: $*"; finish; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- host state we must restore (podman leaves these behind) ---------------------------
RUN_DIRS=(/run/containers /run/libpod /run/crun /run/runc /run/netns /run/mount)
declare -A RUN_DIR_EXISTED=()
IP_FORWARD_BEFORE=""
IPTABLES_CHAINS_BEFORE=""
NFT_TABLES_BEFORE=""
BRIDGE_EXISTED=0
WORK=""
REDIS_PID=""
P=()

netavark_chains() {
    command -v iptables-save >/dev/null 2>&1 || return 0
    local table
    for table in filter nat mangle; do
        as_root iptables -t "$table" -S 2>/dev/null | awk -v t="$table" '$1 == "-N" && $2 ~ /^NETAVARK/ { print t " " $2 }'
    done
}

processes_using() {   # PIDs whose command line mentions $1 (builtins only: no grep matching itself)
    local f args
    for f in /proc/[0-9]*/cmdline; do
        mapfile -d '' args <"$f" 2>/dev/null || continue
        [[ " ${args[*]} " == *"$1"* ]] && { f=${f#/proc/}; echo "${f%/cmdline}"; }
    done
}

nft_tables() { command -v nft >/dev/null 2>&1 && as_root nft list tables 2>/dev/null; }

HOST_STATE_RECORDED=0
record_host_state() {
    HOST_STATE_RECORDED=1
    local d
    for d in "${RUN_DIRS[@]}"; do [ -e "$d" ] && RUN_DIR_EXISTED[$d]=1; done
    IP_FORWARD_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || true)
    IPTABLES_CHAINS_BEFORE=$(netavark_chains)
    NFT_TABLES_BEFORE=$(nft_tables)
    ip link show podman0 >/dev/null 2>&1 && BRIDGE_EXISTED=1
}

cleanup() {
    set +e
    if [ -n "$REDIS_PID" ]; then kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; REDIS_PID=""; fi
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "${#P[@]}" -gt 0 ] && [ -d "$WORK/root" ]; then
            "${P[@]}" rm --all --force --time 0 >/dev/null 2>&1
            "${P[@]}" rmi --all --force >/dev/null 2>&1
        fi
        # conmon runs `podman container cleanup` on its own after a container exits; let
        # those processes (they name our --root) finish before their state goes away.
        for _ in $(seq 100); do
            [ -z "$(processes_using "$WORK")" ] && break
            sleep 0.1
        done
        # shm and other per-container mounts under our runroot, deepest first
        findmnt -rn -o TARGET | awk -v w="$WORK" 'index($0, w) == 1' | sort -r | while read -r m; do
            as_root umount -l "$m"
        done
        as_root rm -rf "$WORK"
        WORK=""
    fi
    [ "$HOST_STATE_RECORDED" = 1 ] || return 0
    # /run directories podman created on this run (it bind-mounts /run/netns onto itself).
    # Only empty directory trees go: anything left in them belongs to someone else.
    local d
    for d in "${RUN_DIRS[@]}"; do
        [ -n "${RUN_DIR_EXISTED[$d]:-}" ] && continue
        [ -e "$d" ] || continue
        # netavark's IPAM database and aardvark-dns state, when a bridge network was used
        [ "$d" = /run/containers ] && as_root rm -rf /run/containers/networks/ipam.db /run/containers/networks/aardvark-dns
        mountpoint -q "$d" && [ -z "$(ls -A "$d")" ] && as_root umount "$d"
        as_root find "$d" -depth -type d -empty -delete 2>/dev/null
        [ -e "$d" ] && log "left $d in place: not empty"
    done
    # netavark chains and bridge (none with slirp4netns, but a changed script might add
    # them): drop the jumps into new chains from the built-in chains, flush them all, delete.
    local table chain new_chains
    new_chains=$(netavark_chains | grep -vxF -f <(printf '%s\n' "$IPTABLES_CHAINS_BEFORE") 2>/dev/null)
    if [ -n "$new_chains" ]; then
        while read -r table chain; do
            as_root iptables -t "$table" -S | awk -v c="$chain" '$1 == "-A" && $2 !~ /^NETAVARK/ { for (i = 1; i <= NF; i++) if ($i == "-j" && $(i + 1) == c) { sub(/^-A/, "-D"); print; next } }' |
                while read -r rule; do eval "as_root iptables -t $table $rule"; done
        done <<<"$new_chains"
        while read -r table chain; do as_root iptables -t "$table" -F "$chain"; done <<<"$new_chains"
        while read -r table chain; do as_root iptables -t "$table" -X "$chain" && log "removed iptables chain $table/$chain"; done <<<"$new_chains"
    fi
    # iptables-nft tables netavark created, once nothing but default chains is left in them
    local family name
    while read -r _ family name; do
        [ -z "$name" ] && continue
        grep -qxF "table $family $name" <<<"$NFT_TABLES_BEFORE" && continue
        [ "$family" = ip ] || [ "$family" = ip6 ] || continue
        if ! as_root nft list table "$family" "$name" | grep -qE '^[[:space:]]+(jump|goto|counter|meta|ip |ip6 |tcp |udp |masquerade|dnat|snat|accept|drop|return)'; then
            as_root nft delete table "$family" "$name" && log "removed empty nft table $family $name"
        fi
    done < <(nft_tables)
    if [ "$BRIDGE_EXISTED" = 0 ] && ip link show podman0 >/dev/null 2>&1; then
        as_root ip link delete podman0 && log "removed bridge podman0"
    fi
    if [ -n "$IP_FORWARD_BEFORE" ] && [ "$(cat /proc/sys/net/ipv4/ip_forward)" != "$IP_FORWARD_BEFORE" ]; then
        as_root sysctl -q -w "net.ipv4.ip_forward=$IP_FORWARD_BEFORE"
        log "restored net.ipv4.ip_forward=$IP_FORWARD_BEFORE"
    fi
}

finish() {
    cleanup
    timing "cleanup"
    local total=$(( $(now_ms) - START_MS ))
    printf 'container-test: total %d.%d s\n' $((total / 1000)) $(((total % 1000) / 100))
    if [ "$SKIP" -gt 0 ]; then
        echo "$PASS passed, $FAIL failed, $SKIP skipped"
    else
        echo "$PASS passed, $FAIL failed"
    fi
    [ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ] && exit 0
    exit 1
}
trap cleanup EXIT
trap 'log "interrupted"; finish' INT TERM

# --- 1. packages -----------------------------------------------------------------------
missing=()
for pkg in podman runc debootstrap slirp4netns curl python3; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq "${missing[@]}" >/dev/null || die "apt-get install failed"
fi
./scripts/setup.sh || die "scripts/setup.sh failed"   # libuv1-dev, llhttp, redis-server
timing "packages"

# --- 2. the binary -----------------------------------------------------------------------
swift build -c release --product storegate --static-swift-stdlib \
    --pkg-config-path .deps/lib/pkgconfig --scratch-path "$SCRATCH" 2>&1 | tail -n 3
[ "${PIPESTATUS[0]}" -eq 0 ] || die "swift build failed"
install -m 0755 "$SCRATCH/release/storegate" "$ROOT/$HOST_BINARY_IN_CONTEXT"
BINARY_BYTES=$(stat -c %s "$ROOT/$HOST_BINARY_IN_CONTEXT")
HELP=$("$ROOT/$HOST_BINARY_IN_CONTEXT" --help 2>&1)
HAS_HEALTHCHECK=0; grep -q 'storegate healthcheck' <<<"$HELP" && HAS_HEALTHCHECK=1
HAS_WORKERS=0; grep -q -- '--workers' <<<"$HELP" && HAS_WORKERS=1
log "binary $((BINARY_BYTES / 1024 / 1024)) MiB ($BINARY_BYTES bytes); healthcheck subcommand: $HAS_HEALTHCHECK, --workers: $HAS_WORKERS"
timing "release build"

# --- 3. base image root file system (cached) -----------------------------------------
debian_mirror() {
    # deb822 sources first (Debian 12 default), then one-line sources.list entries.
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
             {
               uris = ""; suites = ""; types = ""; enabled = "yes"
               for (i = 1; i <= NF; i++) {
                 if ($i ~ /^URIs:/)    { uris = $i;    sub(/^URIs:[ \t]*/, "", uris) }
                 if ($i ~ /^Suites:/)  { suites = " " $i " " }
                 if ($i ~ /^Types:/)   { types = " " $i " " }
                 if ($i ~ /^Enabled:/) { enabled = $i; sub(/^Enabled:[ \t]*/, "", enabled) }
               }
               if (enabled != "no" && types ~ / deb / && suites ~ /[ \t]bookworm[ \t]/ && uris !~ /security/) {
                 split(uris, u, /[ \t]+/); print u[1]; exit
               }
             }' "$f"
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" { url = ""; for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { url = $i; suite = $(i + 1); break }
                           if (url != "" && suite == "bookworm" && url !~ /security/) print url }'
}

if [ ! -s "$ROOTFS_CACHE" ]; then
    # Only the machine's own apt configuration names the mirror; none means no base image.
    MIRROR=$(debian_mirror | head -n 1)
    [ -n "$MIRROR" ] || die "no bookworm mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/: add the one this machine uses, then run again"
    log "debootstrap --variant=minbase bookworm from $MIRROR (cached afterwards in ${ROOTFS_CACHE#"$ROOT"/})"
    mkdir -p "$(dirname "$ROOTFS_CACHE")"
    tmp_rootfs=$(mktemp -d "${TMPDIR:-/var/tmp}/storegate-rootfs.XXXXXX")
    chmod 0755 "$tmp_rootfs"   # it becomes the image's /: mktemp's 0700 would lock out non-root users
    if ! as_root debootstrap --variant=minbase bookworm "$tmp_rootfs" "$MIRROR" >"$tmp_rootfs.log" 2>&1; then
        tail -n 20 "$tmp_rootfs.log"; as_root rm -rf "$tmp_rootfs" "$tmp_rootfs.log"; die "debootstrap failed"
    fi
    # Trim it the way bookworm-slim is trimmed: no apt lists or caches, docs, man pages, locales.
    as_root tar -C "$tmp_rootfs" \
        --exclude='./var/lib/apt/lists/*' --exclude='./var/cache/apt/*' \
        --exclude='./usr/share/doc/*' --exclude='./usr/share/man/*' \
        --exclude='./usr/share/info/*' --exclude='./usr/share/locale/*' \
        -cf "$ROOTFS_CACHE.partial" . && mv "$ROOTFS_CACHE.partial" "$ROOTFS_CACHE"
    as_root rm -rf "$tmp_rootfs" "$tmp_rootfs.log"
    [ -s "$ROOTFS_CACHE" ] || die "could not write $ROOTFS_CACHE"
    timing "debootstrap (cold)"
else
    log "reusing ${ROOTFS_CACHE#"$ROOT"/}"
fi

# --- 4. podman with private state --------------------------------------------------------
record_host_state
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/storegate-podman.XXXXXX")
mkdir -p "$WORK/root" "$WORK/runroot" "$WORK/tmp"
P=(podman --storage-driver vfs --root "$WORK/root" --runroot "$WORK/runroot" --tmpdir "$WORK/tmp"
   --cgroup-manager cgroupfs --events-backend file)
RUN_FLAGS=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096
           --read-only --cap-drop ALL --security-opt no-new-privileges
           --network slirp4netns:allow_host_loopback=true)
export TMPDIR="$WORK/tmp"

"${P[@]}" import "$ROOTFS_CACHE" localhost/bookworm-min:latest >/dev/null 2>"$WORK/import.log" ||
    { cat "$WORK/import.log"; die "podman import failed"; }
"${P[@]}" tag localhost/bookworm-min:latest docker.io/library/debian:bookworm-slim
timing "base image import"

STAGE_ARGS=(--build-arg BINARY_STAGE=host-binary --build-arg HOST_BINARY="$HOST_BINARY_IN_CONTEXT")
STAGE=host-binary
if [ "${CONTAINER_TEST_BUILDER:-0}" = 1 ]; then
    # The builder stage for real, on a stand-in for the Swift image: the base + the
    # toolchain's Debian dependencies, with this host's toolchain mounted at the same path.
    TOOLCHAIN=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
    cat >"$WORK/Dockerfile.swift-standin" <<STANDIN
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends binutils libc6-dev libcurl4 \\
    libedit2 libgcc-12-dev libpython3.11 libsqlite3-0 libstdc++-12-dev libxml2 libz3-4 \\
    pkg-config tzdata zlib1g-dev libncurses6 git ca-certificates && rm -rf /var/lib/apt/lists/*
ENV PATH=$TOOLCHAIN/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
STANDIN
    "${P[@]}" build --isolation chroot --pull=never -f "$WORK/Dockerfile.swift-standin" \
        -t localhost/swift-standin:bookworm "$WORK" >"$WORK/standin.log" 2>&1 ||
        { tail -n 30 "$WORK/standin.log"; die "the Swift stand-in image did not build"; }
    timing "Swift stand-in image (toolchain $TOOLCHAIN mounted)"
    STAGE_ARGS=(--build-arg SWIFT_IMAGE=localhost/swift-standin:bookworm --build-arg BINARY_STAGE=builder
                -v "$TOOLCHAIN:$TOOLCHAIN:ro")
    STAGE=builder
fi
if "${P[@]}" build --isolation chroot --pull=never --format docker \
        -f deploy/Dockerfile --ignorefile deploy/Dockerfile.dockerignore \
        "${STAGE_ARGS[@]}" -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
    ok "E2 image builds (podman, vfs, --isolation chroot, --pull=never, $STAGE stage)"
else
    tail -n 30 "$WORK/build.log"; bad "E2 image builds"; finish
fi
timing "image build"

IMAGE_BYTES=$("${P[@]}" image inspect "$IMAGE" --format '{{.Size}}')
BASE_BYTES=$("${P[@]}" image inspect docker.io/library/debian:bookworm-slim --format '{{.Size}}')
log "image $((IMAGE_BYTES / 1000000)) MB ($IMAGE_BYTES bytes), of which the base $((BASE_BYTES / 1000000)) MB and storegate's layers $(((IMAGE_BYTES - BASE_BYTES) / 1000000)) MB"
# HOST_BINARY must not have become part of the runtime image's history as a build stage.
"${P[@]}" image inspect "$IMAGE" >"$WORK/image.json"
image_config() {
    python3 - "$WORK/image.json" "$1" <<'PY'
import json, sys
image = json.load(open(sys.argv[1]))[0]
config = image.get("Config") or {}
key = sys.argv[2]
if key == "healthcheck":
    def find(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k.lower() == "healthcheck" and isinstance(v, dict) and v.get("Test"):
                    return v["Test"]
                found = find(v)
                if found:
                    return found
        return None
    print(" ".join(find(image) or []))
elif key == "ports":
    print(" ".join(sorted((config.get("ExposedPorts") or {}).keys())))
elif key == "env":
    print("\n".join(config.get("Env") or []))
else:
    print(config.get(key) or "")
PY
}
expect "image USER is 10001:10001" test "$(image_config User)" = "10001:10001"
expect "image EXPOSE 8080/tcp" test "$(image_config ports)" = "8080/tcp"
expect "image STOPSIGNAL SIGTERM" test "$(image_config StopSignal)" = "SIGTERM"
hc=$(image_config healthcheck)
expect "image HEALTHCHECK runs storegate healthcheck on /healthz ($hc)" \
    grep -q 'storegate healthcheck --url http://127.0.0.1:8080/healthz' <<<"$hc"
expect "image listens on 0.0.0.0:8080" grep -qx 'STOREGATE_LISTEN=0.0.0.0:8080' <<<"$(image_config env)"

# --- 5. redis-server on the host's loopback ------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$WORK/redis" \
    --enable-debug-command local --loglevel warning >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || die "redis-server did not start"
STORE="redis://10.0.2.2:$REDIS_PORT"   # the host's 127.0.0.1 as seen through slirp4netns

http_code() { curl -s -o /dev/null -m "${2:-3}" -w '%{http_code}' "$1"; }
wait_for() {   # wait_for URL CODE SECONDS
    local deadline=$(( $(now_ms) + $3 * 1000 ))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        [ "$(http_code "$1" 1)" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
run_gateway() {   # run_gateway NAME PORT [podman run options...]
    local name=$1 port=$2; shift 2
    "${P[@]}" run -d --name "$name" "${RUN_FLAGS[@]}" -p "127.0.0.1:$port:8080" \
        -e STOREGATE_STORE="$STORE" -e STOREGATE_MAX_CONNECTIONS=900 "$@" "$IMAGE" \
        >/dev/null 2>>"$WORK/run.log"
}
container_exit_code() { "${P[@]}" inspect "$1" --format '{{.State.ExitCode}}'; }

# --- 6. the gateway container ------------------------------------------------------------
C1=storegate-ct-1
PORT1=$(free_port)
# The store deadline is raised above the 3 s DEBUG SLEEP used for the in-flight request below.
if ! run_gateway "$C1" "$PORT1" -e STOREGATE_STORE_TIMEOUT_MS=6000; then
    cat "$WORK/run.log"; bad "E2 container starts with --read-only --cap-drop ALL (runc)"; finish
fi
BASE="http://127.0.0.1:$PORT1"
if wait_for "$BASE/healthz" 200 15; then
    ok "E2 container starts with --read-only --cap-drop ALL (runc)"
else
    "${P[@]}" logs "$C1" 2>&1 | tail -n 20; bad "E2 container starts with --read-only --cap-drop ALL (runc)"; finish
fi
timing "container start"

uid=$("${P[@]}" exec "$C1" id -u 2>/dev/null)
expect "E2 process uid ($uid) is not 0" test -n "$uid" -a "$uid" != 0
expect "E2 root file system is read-only" test "$("${P[@]}" inspect "$C1" --format '{{.HostConfig.ReadonlyRootfs}}')" = true
expect "E2 no capabilities" test "$("${P[@]}" inspect "$C1" --format '{{len .EffectiveCaps}}')" = 0
expect "E2 writing to / fails" bash -c "! ${P[*]} exec $C1 touch /probe 2>/dev/null"
expect "E3 GET /healthz through the published port → 200" test "$(http_code "$BASE/healthz")" = 200
expect "E3 GET /readyz → 200 (store reachable)" wait_for "$BASE/readyz" 200 5
expect "E3 GET /openapi.yaml → 200 (found at /usr/share/storegate)" test "$(http_code "$BASE/openapi.yaml")" = 200
put=$(curl -s -o /dev/null -w '%{http_code}' -m 3 -X PUT "$BASE/v1/kv/test/users/alice" \
    -H 'Content-Type: application/json' -d '{"bins":{"v":1}}')
expect "E3 PUT /v1/kv/test/users/alice → 201 ($put)" test "$put" = 201
got=$(curl -s -m 3 "$BASE/v1/kv/test/users/alice")
expect "E3 GET returns the record ($got)" grep -q '"bins":{"v":1}' <<<"$got"
expect "E3 the record is in the host's redis" test "$(redis-cli -p "$REDIS_PORT" exists 'sg:{test/users/alice}')" = 1
metrics=$(curl -s -m 3 "$BASE/metrics")
expect "E3 GET /metrics has samples" test -n "$metrics"

if [ "$HAS_HEALTHCHECK" = 1 ]; then
    "${P[@]}" exec "$C1" /usr/local/bin/storegate healthcheck --url http://127.0.0.1:8080/healthz >/dev/null 2>&1
    rc=$?; expect "E2 storegate healthcheck (healthy) exits 0 (rc $rc)" test "$rc" = 0
    "${P[@]}" exec "$C1" /usr/local/bin/storegate healthcheck --url http://127.0.0.1:9/healthz >/dev/null 2>&1
    rc=$?; expect "E2 storegate healthcheck against a dead URL exits 1 (rc $rc)" test "$rc" = 1
    "${P[@]}" healthcheck run "$C1" >/dev/null 2>&1
    rc=$?; expect "E2 podman healthcheck run (the image's HEALTHCHECK) → healthy (rc $rc)" test "$rc" = 0
else
    skip "E2 storegate healthcheck exit codes (the binary has no healthcheck subcommand yet)"
fi
timing "smoke checks"

# E4: a request in flight (held up by DEBUG SLEEP in the store), then podman stop -t 10.
redis-cli -p "$REDIS_PORT" debug sleep 3 >/dev/null 2>&1 &
sleeper=$!
sleep 0.3
( curl -s -o /dev/null -m 15 -w '%{http_code}' "$BASE/v1/kv/test/users/alice" >"$WORK/inflight.code" ) &
inflight=$!
sleep 0.3
( t0=$(now_ms); "${P[@]}" stop -t 10 "$C1" >/dev/null 2>>"$WORK/run.log"; echo $(( $(now_ms) - t0 )) >"$WORK/stop.ms" ) &
stopper=$!
sleep 0.7
during=$(http_code "$BASE/healthz" 2)
wait "$stopper" "$inflight" "$sleeper"
stop_ms=$(cat "$WORK/stop.ms" 2>/dev/null || echo 99999)
exit_code=$(container_exit_code "$C1")
expect "E4 podman stop -t 10 → exit code 0 (got $exit_code)" test "$exit_code" = 0
expect "E4 stopped within 10 s (${stop_ms} ms), so not SIGKILLed" test "$stop_ms" -lt 10000
expect "E4 the request in flight finished with 200 ($(cat "$WORK/inflight.code"))" test "$(cat "$WORK/inflight.code")" = 200
expect "E4 the stop waited for it (${stop_ms} ms ≥ 1000 ms)" test "$stop_ms" -ge 1000
expect "E4 a new connection while draining is not served (HTTP code '$during')" test "$during" = 000
expect "E4 the log shows the drain" grep -q '"draining"' <<<"$("${P[@]}" logs "$C1" 2>&1)"
timing "graceful stop"

# --pizzeria on: GET /demo is compiled into the binary, so the image (which ships the
# binary alone) serves the page.
C3=storegate-ct-3
PORT3=$(free_port)
run_gateway "$C3" "$PORT3" -e STOREGATE_PIZZERIA=on
BASE3="http://127.0.0.1:$PORT3"
expect "pizzeria: /readyz → 200" wait_for "$BASE3/readyz" 200 15
demo_type=$(curl -s -o "$WORK/demo.html" -m 3 -w '%{http_code} %{content_type}' "$BASE3/demo")
expect "pizzeria: GET /demo → 200 text/html ($demo_type)" test "$demo_type" = "200 text/html; charset=utf-8"
expect "pizzeria: the page is Sources/Orders/Resources/demo.html" cmp -s "$WORK/demo.html" \
    "$ROOT/Sources/Orders/Resources/demo.html"
expect "pizzeria: GET /v1/menu → 200" test "$(http_code "$BASE3/v1/menu")" = 200
"${P[@]}" stop -t 10 "$C3" >/dev/null 2>>"$WORK/run.log"
expect "pizzeria: podman stop → exit 0" test "$(container_exit_code "$C3")" = 0
timing "pizzeria container"

# --workers 2: the supervisor is PID 1, forwards SIGTERM and exits 0.
if [ "$HAS_WORKERS" = 1 ]; then
    C2=storegate-ct-2
    PORT2=$(free_port)
    run_gateway "$C2" "$PORT2" -e STOREGATE_WORKERS=2
    BASE2="http://127.0.0.1:$PORT2"
    expect "workers=2: /readyz → 200" wait_for "$BASE2/readyz" 200 15
    procs=$("${P[@]}" exec "$C2" sh -c 'cat /proc/[0-9]*/comm 2>/dev/null' | grep -c '^storegate$')
    expect "workers=2: supervisor + 2 workers running ($procs storegate processes)" test "$procs" = 3
    kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; REDIS_PID=""
    expect "store gone: /readyz → 503" wait_for "$BASE2/readyz" 503 5
    expect "store gone: /healthz still 200" test "$(http_code "$BASE2/healthz")" = 200
    t0=$(now_ms)
    "${P[@]}" stop -t 10 "$C2" >/dev/null 2>>"$WORK/run.log"
    stop_ms=$(( $(now_ms) - t0 ))
    exit_code=$(container_exit_code "$C2")
    expect "workers=2: podman stop -t 10 → exit 0 in ${stop_ms} ms" test "$exit_code" = 0 -a "$stop_ms" -lt 10000
    timing "workers=2 container"
else
    skip "--workers 2 in the container (the binary has no --workers yet)"
fi

log "binary: $BINARY_BYTES bytes; image: $IMAGE_BYTES bytes (base $BASE_BYTES)"
finish
