#!/usr/bin/env bash
# Benchmarks: builds the relay, starts the token stand-in and a fast SMTP sink
# on 127.0.0.1, runs the scenarios in bench/run.py and prints the figures.
# Usage: bench/run.sh [--runs N] [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja >/dev/null 2>&1
cmake --build build --target xoauth2-relay >/dev/null
exec /usr/bin/python3 bench/run.py --relay build/xoauth2-relay "$@"
