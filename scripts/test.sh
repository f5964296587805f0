#!/usr/bin/env bash
# Runs every test: installs what is missing (scripts/setup.sh), builds, then runs the
# whole suite. Test fixtures start their own redis-server / gateway processes on free
# loopback ports and stop them. Extra arguments go to `swift test` (e.g. --filter HTTPTests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
PKG=(--pkg-config-path .deps/lib/pkgconfig)
swift build --build-tests "${PKG[@]}"
swift test --skip-build "${PKG[@]}" "$@"
