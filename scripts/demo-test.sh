#!/usr/bin/env bash
# The pizzeria you can watch, tested end to end (IntegrationTests/demo/test_demo.py):
#   1. GET /demo in headless Chromium driven by Selenium: the page is self-contained, an
#      order placed from the form reaches "delivered" on the board, a rush of 50 all do,
#      restock works, and with auth on the page asks for a key and streams with it;
#      screenshots are saved and checked not to be blank;
#   2. scripts/orders-demo.py in tmux at 80 and 120 columns: the pane holds one progress
#      bar redrawn in place, never a scroll of them, and the summary at the end.
# Each part starts its own redis-server and gateways (fast kitchen: --minute-ms 20) on
# free loopback ports. Installs Debian's chromium, chromium-driver and tmux, and a venv
# under .deps/demo-venv (Selenium, Pillow, rich), on first use. Needs the gateway built
# (scripts/test.sh builds it first). DEMO_ARTIFACTS=DIR keeps screenshots and logs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
./scripts/setup.sh chromium chromium-driver tmux
BIN="$(swift build --show-bin-path --pkg-config-path .deps/lib/pkgconfig)/storegate"
[ -x "$BIN" ] || { echo "demo: build storegate first" >&2; exit 1; }

VENV="$ROOT/.deps/demo-venv"
REQUIREMENTS="selenium>=4.20,<5 pillow>=10,<13 rich>=13,<15"
if [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$REQUIREMENTS" ]; then
    python3 -m venv --help >/dev/null 2>&1 || ./scripts/setup.sh python3-venv
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086  # one word per requirement
    "$VENV/bin/pip" install -q --disable-pip-version-check $REQUIREMENTS
    echo "$REQUIREMENTS" >"$VENV/.requirements"
fi
echo "demo: /demo in headless Chromium (Selenium) and scripts/orders-demo.py in tmux"
# Selenium is pointed at Debian's chromedriver: nothing is downloaded at test time.
STOREGATE_BIN="$BIN" SE_OFFLINE=true "$VENV/bin/python" "$ROOT/IntegrationTests/demo/test_demo.py" "$@"
