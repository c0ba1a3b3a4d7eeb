#!/usr/bin/env bash
# Fuzzes every target in tests/fuzz with libFuzzer under ASan + UBSan (Debian's clang-15 and libfuzzer-15-dev).
#
#   ./scripts/fuzz.sh                  each target for 30 s (what the test command runs)
#   ./scripts/fuzz.sh --seconds N      each target for N seconds
#   ./scripts/fuzz.sh --minutes M      the long mode: each target for M minutes
#   ./scripts/fuzz.sh --runs N         each target for N executions (no time limit), e.g. --runs 10000000
#   ./scripts/fuzz.sh --target NAME    only that target (e.g. http_handler)
#
# Seeds come from tests/fuzz/corpus/TARGET (read only); what the fuzzer learns goes to build-fuzz/corpus/TARGET,
# crashes to build-fuzz/crashes/TARGET. A crash fails the run: minimise it (the binary with -minimize_crash=1) and
# add it to the seed corpus, where every build's replay test keeps it fixed. Prints executions and coverage per
# target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
runs_limit=""
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --minutes) seconds=$(($2 * 60)); shift 2 ;;
    --runs) runs_limit=$2; seconds=0; shift 2 ;;
    --target) only=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N | --minutes M | --runs N] [--target NAME]" >&2; exit 2 ;;
  esac
done

./scripts/install-deps.sh --fuzz
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-15 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRAFTKIT_FUZZ=ON -DRAFTKIT_SANITIZE=ON -DRAFTKIT_WERROR=OFF -DRAFTKIT_BUILD_BENCH=OFF >/dev/null
targets=()
for f in tests/fuzz/*_fuzz.cc; do
  t=$(basename "$f" _fuzz.cc)
  if [ -z "$only" ] || [ "$only" = "$t" ]; then targets+=("$t"); fi
done
cmake --build build-fuzz --target "${targets[@]/#/fuzz_}"

failed=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t"
  log="build-fuzz/$t.log"
  if [ -n "$runs_limit" ]; then echo "fuzz: $t for $runs_limit executions"; else echo "fuzz: $t for ${seconds} s"; fi
  start=$(date +%s)
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 "build-fuzz/tests/fuzz_$t" -max_total_time="$seconds" \
      ${runs_limit:+-runs="$runs_limit"} \
      -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t/" \
      "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo "?")
    cov=$(grep -oE "cov: [0-9]+ ft: [0-9]+" "$log" | tail -1 || true)
    echo "fuzz: $t: PASS, $runs executions in $(($(date +%s) - start)) s, $cov, corpus $(ls "build-fuzz/corpus/$t" | wc -l) inputs"
  else
    echo "fuzz: $t: FAIL (see $log; inputs in build-fuzz/crashes/$t)"
    grep -E "ERROR|SUMMARY|==ABORTING|Test unit written" "$log" | head -20 || true
    failed=$((failed + 1))
  fi
done
[ "$failed" -eq 0 ]
