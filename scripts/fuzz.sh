#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, -DXR_FUZZ=ON) in build-fuzz/ and
# runs each for SECONDS (default 60) from its seed corpus and dictionary.
# Fails on any crash, leak, timeout or out-of-memory and says where the
# input that caused it was saved. The seeds are copied to a scratch corpus
# (XR_FUZZ_WORK, default a fresh temporary directory), so runs never write
# into the repository; keep it to resume a longer campaign.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 300 fuzz_smtp_server
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
jobs=$(nproc)

echo "=== build: libFuzzer + ASan + UBSan, clang (build-fuzz/)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXR_FUZZ=ON \
  -DXR_BUILD_TESTS=OFF -DXR_BUILD_BENCH=OFF -DXR_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzzers

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for src in fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi

work=${XR_FUZZ_WORK:-$(mktemp -d /tmp/xr-fuzz.XXXXXX)}
mkdir -p "$work"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

failed=()
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  artifacts="$work/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=8192 -print_final_stats=1
        -artifact_prefix="$artifacts")
  [ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
  log="$work/$t.log"
  echo "=== fuzz: $t for ${seconds}s (log: $log)"
  if build-fuzz/fuzz/"$t" "${args[@]}" "$corpus" >"$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$log" | tr '\n' ' '
    grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1
  else
    echo "FAILED: $t"
    grep -E 'ERROR|runtime error|fuzz property violated|SUMMARY' "$log" | head -5 || true
    saved=$(grep -o 'Test unit written to [^ ]*' "$log" | sort -u | sed 's/^Test unit written to //')
    if [ -n "$saved" ]; then
      echo "input saved: $saved"
      echo "reproduce:   build-fuzz/fuzz/$t $saved"
    fi
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "=== fuzz: FAILED: ${failed[*]} (inputs under $work/artifacts/)"
  exit 1
fi
echo "=== fuzz: all ${#targets[@]} targets clean (${seconds}s each)"
[ -n "${XR_FUZZ_WORK:-}" ] || rm -rf "$work"
