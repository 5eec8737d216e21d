#!/usr/bin/env bash
# Soak run (issue 11): builds the relay (Release, in build-bench/, as
# bench/run.sh does) unless --relay-bin is given, then runs bench/soak.py:
# 30 minutes (--minutes N) of mixed SMTP/IMAP/POP3 load against the Office 365
# stand-in, faults injected, reloads, a password-guessing attacker; prints a
# table of the relay's RSS, descriptors and threads and the checks; exit
# status 1 when a check fails or a message was lost.
# Usage: bench/soak.sh [--minutes N] [--json FILE] [--relay-bin PATH] [...]
#        (bench/soak.py --help lists every option)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ " $* " != *" --relay-bin"* ]]; then
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-bench --target xoauth2-relay >/dev/null
  set -- --relay-bin build-bench/xoauth2-relay "$@"
fi
exec /usr/bin/python3 bench/soak.py "$@"
