#!/usr/bin/env bash
# Installs everything, builds, and runs every test twice: once in the normal
# build (warnings are errors here: -DXR_WERROR=ON) and once under AddressSanitizer +
# UndefinedBehaviorSanitizer. This is the README's test command and CI's.
set -euo pipefail
cd "$(dirname "$0")/.."

# The real-server tests start Postfix, whose master must start as root.
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi

scripts/install-deps.sh

jobs=$(nproc)

echo "=== build: RelWithDebInfo (build/)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXR_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

echo "=== build: ASan+UBSan (build-asan/)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DXR_SANITIZE=ON -DXR_BUILD_BENCH=OFF -DXR_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"

# The bench's configuration as a packager builds it: Release (-O3), warnings
# NOT errors (XR_WERROR off, its default; said here so an old cache cannot keep it on). GCC warns differently at -O3, and a Release
# build that does not compile must not land again (issue 13). Only the relay.
echo "=== build: Release, as bench/run.sh and packagers build it (build-bench/)"
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DXR_WERROR=OFF >/dev/null
cmake --build build-bench -j"$jobs" --target xoauth2-relay

# libFuzzer (clang, build-fuzz/): every parser for a short, bounded run from
# its seed corpus; a longer campaign is scripts/fuzz.sh with more seconds.
scripts/fuzz.sh 15

# The benchmark is Python driving the relay: a smoke run (every scenario once,
# tiny sizes, about 15 s) of the Release relay built above, then the report and
# the comparison on its JSON, keep it from rotting between the runs that
# produce docs/benchmarks.md. The soak and spool scripts the smoke run does
# not reach are compiled.
echo "=== bench: smoke run"
bench_json=$(mktemp)
/usr/bin/python3 bench/run.py --relay build-bench/xoauth2-relay --smoke --json "$bench_json"
/usr/bin/python3 bench/report.py "$bench_json" >/dev/null
/usr/bin/python3 bench/compare.py "$bench_json" "$bench_json" >/dev/null
rm -f "$bench_json"
/usr/bin/python3 -c 'import ast, sys; [ast.parse(open(f).read(), f) for f in sys.argv[1:]]' bench/*.py

echo "=== tests: RelWithDebInfo"
ctest --test-dir build --output-on-failure --timeout 1800

echo "=== tests: ASan+UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure --timeout 1800

# The Debian package as an admin gets it: scripts/package.sh builds the .deb
# (its own Release build in a copy of the tree, lintian: no errors), then a
# clean Debian 12 root from mmdebstrap installs it with apt and checks
# --version, check-config, man -l, systemd-analyze verify, upgrade, remove
# and purge (tests/package/in_root.sh). Needs deb.debian.org.
echo "=== package: build the .deb, install it into a clean Debian 12 root"
unset ASAN_OPTIONS UBSAN_OPTIONS
tests/package/test_deb.sh
