#!/usr/bin/env bash
# Snapshot costs with 100 MB of state: take, restore, stream, a wiped follower's install over WebSockets, and write
# throughput while every peer snapshots. Writes docs/bench/snapshots.json (about 30 s); docs/bench/snapshots.md
# holds the figures measured with it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target raftkit_snapshot_bench
mkdir -p docs/bench
./build/bench/raftkit_snapshot_bench --benchmark_out=docs/bench/snapshots.json --benchmark_out_format=json
