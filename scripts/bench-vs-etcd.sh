#!/usr/bin/env bash
# The key-value server against etcd, side by side on this machine (about 8 minutes): installs Debian's
# etcd-server and wrk, builds kv_server and the in-process cluster benchmark, and runs scripts/bench_vs_etcd.py,
# which writes docs/bench/vs-etcd.md (with vs-etcd.png and vs-etcd.json).
#
#   ./scripts/bench-vs-etcd.sh [--rounds N] [--seconds S] [--out DIR] [--tls]
#
# --tls adds a second cluster of each system with TLS between peers and HTTPS for clients, and reports what TLS
# costs each (about 10 minutes in all).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --bench
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target kv_server raftkit_cluster_bench
exec python3 scripts/bench_vs_etcd.py --build build "$@"
