#!/usr/bin/env bash
# Runs every test: installs what is missing (scripts/setup.sh), lints (swift format and
# the shell scripts), builds, then runs the whole suite. Test fixtures start their own
# redis-server / gateway processes on free loopback ports and stop them. With no arguments it also runs the schemathesis
# contract tests (scripts/contract.sh), the generated clients (scripts/clients.sh), the
# demo page in a headless browser (scripts/demo-test.sh), the fuzz smoke run and the suite under ASan
# and TSan (STOREGATE_SKIP_SANITIZERS=1 skips those). Extra arguments go to `swift test` alone
# (e.g. --filter HTTPTests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
PKG=(--pkg-config-path .deps/lib/pkgconfig)
if [ "$#" -eq 0 ]; then
    # The layout is the formatter's (.swift-format: 4 spaces, 120 columns); `swift format
    # format -i -r` on these paths fixes what this reports.
    swift format lint --strict -r --parallel Sources Tests Fuzz Benchmarks Package.swift \
        IntegrationTests/swift/Package.swift IntegrationTests/swift/Sources IntegrationTests/swift/Tests
    echo "format: swift format lint --strict found nothing"
    ./scripts/setup.sh shellcheck
    shellcheck -x .ci/run scripts/*.sh scripts/bench/*.sh
    echo "format: shellcheck found nothing in the scripts"
fi
swift build --build-tests "${PKG[@]}"
if [ "$#" -eq 0 ]; then
    # The contract run first, so the XCTest summary is the closing line.
    ./scripts/contract.sh
    # Generated Swift and Python clients, and the README's curl examples (scripts/clients.sh).
    ./scripts/clients.sh
    # GET /demo in headless Chromium, and scripts/orders-demo.py in tmux (scripts/demo-test.sh).
    ./scripts/demo-test.sh
    # Deployment: lint/consistency of deploy/, then the image built and run with podman.
    ./scripts/deploy-lint.sh
    ./scripts/container-test.sh
fi
# --- fuzzing and sanitizers (docs/fuzzing.md): each fuzz target for
# STOREGATE_FUZZ_SECONDS (default 60), then the XCTest suite under ASan and under TSan.
# STOREGATE_SKIP_SANITIZERS=1 skips all three for a quick local run; CI runs them.
if [ "$#" -eq 0 ] && [ "${STOREGATE_SKIP_SANITIZERS:-0}" != 1 ]; then
    ./scripts/fuzz.sh "${STOREGATE_FUZZ_SECONDS:-60}"
    ./scripts/asan.sh
    ./scripts/asan.sh --sanitize=thread
fi
# --- end fuzzing and sanitizers ---
# Every test is XCTest; without this flag Swift Testing closes the output with "0 tests".
swift test --skip-build --disable-swift-testing "${PKG[@]}" "$@"
