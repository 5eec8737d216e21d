#!/usr/bin/env bash
# Benchmarks: builds the relay (Release, in build-bench/), starts the token
# stand-in and a fast SMTP/IMAP sink on 127.0.0.1, runs the scenarios in
# bench/run.py and prints the figures.
# Usage: bench/run.sh [--runs N] [--quick] [--json FILE]
#          (--json: every run's figures; compare two with bench/compare.py OLD NEW)
#        bench/run.sh --spool [--runs N] [--quick] [--memory-runs N] [--no-deliver] [--json FILE]
#          (store and forward: bench/spool.py)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench --target xoauth2-relay >/dev/null
exec /usr/bin/python3 bench/run.py --relay build-bench/xoauth2-relay "$@"
