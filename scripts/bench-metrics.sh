#!/usr/bin/env bash
# What the metrics cost: a 3-node in-memory cluster (16 clients, 128-byte writes) with the latency histograms on and
# off, interleaved in random order and repeated; writes docs/bench/metrics.md with the ratio (about 1 minute).
#   scripts/bench-metrics.sh [REPETITIONS]   (default 9)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-9}
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target raftkit_cluster_bench
mkdir -p docs/bench
./build/bench/raftkit_cluster_bench --benchmark_filter="BM_MetricsCost|BM_HistogramsPerDurableWrite" --benchmark_repetitions="$reps" \
  --benchmark_enable_random_interleaving=true --benchmark_out=docs/bench/metrics.json --benchmark_out_format=json
python3 scripts/metrics_report.py docs/bench/metrics.json docs/bench/metrics.md
