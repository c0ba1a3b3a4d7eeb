#!/usr/bin/env bash
# Runs the 3-node end-to-end benchmark and writes docs/bench/cluster.md (about 30 s).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target raftkit_cluster_bench
mkdir -p docs/bench
./build/bench/raftkit_cluster_bench --benchmark_filter=BM_ClusterWrites --benchmark_out=docs/bench/cluster.json --benchmark_out_format=json
python3 scripts/cluster_report.py docs/bench/cluster.json docs/bench/cluster.md
