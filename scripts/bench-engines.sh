#!/usr/bin/env bash
# Runs the storage-engine benchmark and writes docs/bench/engines.md (+ engines.png, engines.json).
# RAFTKIT_BENCH_DIR picks the file system measured (default /tmp; a tmpfs there would make fsync free).
# Takes about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target raftkit_engine_bench
mkdir -p docs/bench
./build/bench/raftkit_engine_bench --benchmark_out=docs/bench/engines.json --benchmark_out_format=json
python3 scripts/engine_report.py docs/bench/engines.json docs/bench
