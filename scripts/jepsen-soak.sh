#!/usr/bin/env bash
# The Jepsen-style harness's long mode: back-to-back runs with successive seeds until the time is up, stopping at
# the first failing run (its history, logs, summary and plot stay in its directory).
#
#   scripts/jepsen-soak.sh [--minutes 60] [--seconds 300] [--nemesis all] [--seed 1000] [--engine rocksdb]
#                          [--build build]
#
# Each run is a full harness run (tests/jepsen/harness.py, docs/jepsen.md) of --seconds with the given nemesis;
# one run of --seconds 3600 is also possible. Needs root (network namespaces, iptables) and a built tree.
set -euo pipefail
minutes=60 seconds=300 nemesis=all seed=1000 engine=rocksdb build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --nemesis) nemesis=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --engine) engine=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
out="$build/jepsen/soak"
mkdir -p "$out"
end=$(( $(date +%s) + minutes * 60 ))
runs=0
while [ "$(date +%s)" -lt "$end" ]; do
  dir="$out/seed-$seed"
  if python3 "$root/tests/jepsen/harness.py" --build "$build" --seconds "$seconds" --nemesis "$nemesis" \
       --engine "$engine" --seed "$seed" --out "$dir" > "$dir.txt" 2>&1; then
    echo "soak: seed $seed PASS: $(head -1 "$dir.txt")"
    rm -rf "$dir"  # keep the summary line only; a failing run keeps everything
  else
    echo "soak: seed $seed FAIL: see $dir.txt and $dir/"
    grep -E "FAIL|fault" "$dir.txt" | head -40
    exit 1
  fi
  runs=$((runs + 1))
  seed=$((seed + 1))
done
echo "soak: $runs runs of ${seconds} s (nemesis $nemesis, engine $engine) passed"
