#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian 12: installs what is missing, builds, and runs
#   1. the unit, checker, regression-simulation, transport and runtime tests under ASan + UBSan, unoptimised;
#   2. every CTest test in an optimised build (unit, the contract on every engine, SIGKILL and 1M-entry tests,
#      the checker against the reference histories, 1000 random simulation seeds, injected-bug detection, the
#      conformance suite on every engine and on broken adapters, the external runner, the installed consumer, the
#      Jepsen-style runs of a real cluster, whose faults and checks are printed after);
#   3. every fuzz target for 30 s under libFuzzer (scripts/fuzz.sh);
#   4. bazel test //... (offline).
# Exits non-zero if anything fails. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

started=$(date +%s)
./scripts/install-deps.sh
# ccache keys compilations by their paths relative to this clone, not by the directory they ran in, so another
# clone of the same commit (CI's, a second checkout) reuses what this one compiled (its debug information then
# names the first clone's paths).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

# Each phase's heading says how long the command had run when it began, so the slow parts are plain in CI logs.
step() { printf '\n==== %s (at %dm%02ds) ====\n' "$*" $((($(date +%s) - started) / 60)) $((($(date +%s) - started) % 60)); }

step "sanitized build (ASan + UBSan)"
# Unoptimised (-O0, assertions on): GCC's sanitizers at -O2 took several minutes per Beast-heavy file, and nothing
# here is measured for speed.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRAFTKIT_SANITIZE=ON -DRAFTKIT_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs" --target raftkit_unit_tests raftkit_lincheck_tests raftkit-sim \
  raftkit_transport_tests raftkit_runtime_tests raftkit_kv_tests kv_server kv_client fuzz_http_handler fuzz_kv_commands \
  fuzz_wire fuzz_records fuzz_runtime_state fuzz_history fuzz_storage_files
step "sanitized tests: unit, checker, regression seeds, transport, runtime, key-value server and API, fuzz corpora"
(cd build-asan && ctest -j "$jobs" --output-on-failure -R "unit|lincheck|regression|transport|runtime|kv:|kv_server:|fuzz:" |
  tee "$root/build-asan/ctest.out")

step "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
step "all tests"
(cd build && ctest -j "$jobs" --output-on-failure | tee "$root/build/ctest.out")

step "simulation summary"
grep -h "simulation:" build/Testing/Temporary/LastTest.log | sed 's/^/  /'
step "conformance summary"
grep -hE "^conformance: [a-z-]+: (PASS|FAIL)|^conformance: memory crash mode|^as expected|^UNEXPECTED|^conformance self-proof" \
  build/Testing/Temporary/LastTest.log | sed 's/^/  /'

step "Jepsen-style runs: faults injected and checks (full output in build/jepsen/*/)"
grep -hE "^jepsen: |^  fault +[0-9.]+ s  |^  (PASS|FAIL) (linearizable|acknowledged|recovers|members|replicas|no server|nemesis)" \
  build/Testing/Temporary/LastTest.log | cut -c1-200 | sed 's/^/  /' || true

step "fuzzing: every target 30 s under libFuzzer + ASan + UBSan (scripts/fuzz.sh)"
fuzz_passed=0
./scripts/fuzz.sh --seconds 30 | tee build/fuzz.out
fuzz_passed=$(grep -c "^fuzz: .*: PASS" build/fuzz.out || true)

step "bazel test //... (offline)"
bazel test --jobs="$jobs" //... 2>&1 | tee build/bazel.out | grep -vE '^(INFO|Loading|Analyzing)' || {
  echo "bazel test failed"
  exit 1
}

passed=0
failed=0
for f in build-asan/ctest.out build/ctest.out; do
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$f")
  total=$(echo "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
  bad=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/')
  passed=$((passed + total - bad))
  failed=$((failed + bad))
done
bazel_passed=$(grep -oE "[0-9]+ tests? pass" build/bazel.out | grep -oE "^[0-9]+" | tail -1)
passed=$((passed + ${bazel_passed:-0} + fuzz_passed))
step "done"
echo "test command: ctest (sanitized), ctest (release), fuzzing and bazel test all passed"
echo "${passed} passed, ${failed} failed"
