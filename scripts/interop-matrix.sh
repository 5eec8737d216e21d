#!/usr/bin/env bash
# Runs the interoperability matrix (every client of
# tests/integration/interop_clients.py over every listener kind, through the
# relay, in front of Postfix and Dovecot) and rewrites docs/interop.md from
# what happened. Exit status 0 only when every cell passed.
# Runs as root, like scripts/test.sh (Postfix's master starts as root).
set -euo pipefail
cd "$(dirname "$0")/.."

# The real-server tests start Postfix, whose master must start as root.
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target xoauth2-relay

results=$(mktemp)
trap 'rm -f "$results"' EXIT
XR_INTEROP_RESULTS="$results" XR_RELAY_BIN="$(pwd)/build/xoauth2-relay" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration/test_interop_matrix.py -k test_client || true
/usr/bin/python3 tests/integration/interop_doc.py "$results"
