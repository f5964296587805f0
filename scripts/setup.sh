#!/usr/bin/env bash
# Installs what storegate needs to build and test, idempotently:
#   libuv1-dev, libssl-dev and openssl (TLS to the store), pkg-config, redis-server (Debian packages) and llhttp.
# llhttp: the distribution's libllhttp-dev where pkg-config finds it; otherwise
# (Debian 12) the C sources shipped by node-llhttp are compiled into a static
# library with a relocatable libllhttp.pc under .deps/ (git-ignored).
# A second run takes well under a second.
# Prints nothing on a second run unless something was missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.deps"
EXTRA_PACKAGES=("$@")   # e.g. wrk nginx-light for the bench

log() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
    done
}

install_packages() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

llhttp_from_distribution() {
    # Newer distributions (Debian trixie, recent Ubuntu) ship libllhttp-dev.
    if apt-cache show libllhttp-dev >/dev/null 2>&1; then
        install_packages libllhttp-dev
        pkg-config --exists libllhttp
    else
        return 1
    fi
}

build_llhttp_from_node_sources() {
    install_packages node-llhttp gcc
    local src=/usr/share/llhttp hdr=/usr/share/include/llhttp/llhttp.h
    local build="$PREFIX/build/llhttp"
    log "building llhttp from $src into $PREFIX"
    rm -rf "$build" && mkdir -p "$build" "$PREFIX/lib/pkgconfig" "$PREFIX/include"
    local f
    for f in llhttp api http; do
        # llhttp 8.x is only strict (no bare LF, no control bytes in values) with this define.
        cc -O3 -fPIC -DLLHTTP_STRICT_MODE=1 -I"$(dirname "$hdr")" -c "$src/$f.c" -o "$build/$f.o"
    done
    ar rcs "$PREFIX/lib/libllhttp.a" "$build"/*.o
    cp "$hdr" "$PREFIX/include/llhttp.h"
    local version
    version="$(dpkg-query -W -f='${Version}' node-llhttp | sed 's/~.*//')"
    cat >"$PREFIX/lib/pkgconfig/libllhttp.pc" <<PC
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libllhttp
Description: llhttp built from the node-llhttp sources by scripts/setup.sh
Version: $version
Libs: -L\${libdir} -lllhttp
Cflags: -I\${includedir}
PC
    rm -rf "$PREFIX/build"
}

install_packages libuv1-dev libssl-dev openssl pkg-config redis-server redis-tools ${EXTRA_PACKAGES[@]+"${EXTRA_PACKAGES[@]}"}

export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
if ! pkg-config --exists libllhttp; then
    llhttp_from_distribution || build_llhttp_from_node_sources
fi
pkg-config --exists libllhttp libuv || { log "libllhttp or libuv still missing"; exit 1; }
