#!/usr/bin/env bash
# The whole XCTest suite under AddressSanitizer (with LeakSanitizer), in its own build
# directory. The gateway processes the tests start are the ASan build too, and llhttp is
# compiled with -fsanitize=address. Only XCTest's own leaks are suppressed
# (scripts/lsan.supp). Extra arguments go to `swift test` (e.g. --filter HTTPTests).
# With --sanitize=thread as the first argument it runs ThreadSanitizer instead (see
# docs/fuzzing.md for what that gives).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SANITIZER=address
if [ "${1:-}" = "--sanitize=thread" ]; then
    SANITIZER=thread
    shift
fi
./scripts/setup.sh
export SWIFT_BACKTRACE=enable=no
if [ "$SANITIZER" = address ]; then
    PKG_DIR="$(./scripts/llhttp-sanitized.sh .deps/asan -fsanitize=address)"
    SCRATCH=.build-asan
    # A small quarantine: with the default 256 MiB, freed response buffers stay resident
    # and BackpressureTests.testClientThatNeverReads sees the gateway's RSS grow 60 MB.
    export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:quarantine_size_mb=8"
    export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
else
    PKG_DIR="$(./scripts/llhttp-sanitized.sh .deps/tsan -fsanitize=thread)"
    SCRATCH=.build-tsan
    export TSAN_OPTIONS="halt_on_error=1"
fi
# Not stretched by default: some tests also use the factor for measuring windows
# (StoreTests.testReconnectAttemptsBackOff counts attempts in 2 s × factor). Set
# STOREGATE_TEST_TIMEOUT_MULTIPLIER yourself on a slow machine.
ARGS=(--sanitize="$SANITIZER" --scratch-path "$SCRATCH" --pkg-config-path "$PKG_DIR")
start=$(date +%s)
mkdir -p "$SCRATCH"
if ! swift build --build-tests "${ARGS[@]}" >"$SCRATCH/build.log" 2>&1; then
    grep -E 'error' "$SCRATCH/build.log" | head -20
    echo "$SANITIZER: build failed (log: $SCRATCH/build.log)"
    exit 1
fi
echo "$SANITIZER: built in $(($(date +%s) - start)) s"
swift test --skip-build --disable-swift-testing "${ARGS[@]}" "$@"
