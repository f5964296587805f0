#!/usr/bin/env bash
# Builds llhttp from the node-llhttp sources (see setup.sh) with extra clang flags into
# PREFIX (lib/libllhttp.a + lib/pkgconfig/libllhttp.pc), once; prints the pkg-config dir.
# Prints the plain .deps one when the sources are not there (then llhttp is not instrumented).
#   scripts/llhttp-sanitized.sh PREFIX CFLAG…    e.g. .deps/asan -fsanitize=address
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PREFIX="$1"
shift
SRC=/usr/share/llhttp
HDR=/usr/share/include/llhttp/llhttp.h
if [ ! -f "$SRC/llhttp.c" ] || [ ! -f "$HDR" ]; then
    echo "llhttp-sanitized: no llhttp sources at $SRC; llhttp is not instrumented" >&2
    echo .deps/lib/pkgconfig
    exit 0
fi
if [ ! -f "$PREFIX/lib/libllhttp.a" ]; then
    mkdir -p "$PREFIX/lib/pkgconfig" "$PREFIX/include" "$PREFIX/obj"
    for f in llhttp api http; do
        clang -O1 -g -fPIC "$@" -DLLHTTP_STRICT_MODE=1 -I"$(dirname "$HDR")" -c "$SRC/$f.c" -o "$PREFIX/obj/$f.o"
    done
    ar rcs "$PREFIX/lib/libllhttp.a" "$PREFIX"/obj/*.o
    cp "$HDR" "$PREFIX/include/llhttp.h"
    sed "s|^Description:.*|Description: llhttp built with $* (scripts/llhttp-sanitized.sh)|" \
        .deps/lib/pkgconfig/libllhttp.pc >"$PREFIX/lib/pkgconfig/libllhttp.pc"
fi
echo "$PREFIX/lib/pkgconfig"
