#!/usr/bin/env bash
# Installs raftkit from a configured build tree into a scratch prefix, then configures, builds and runs the
# consumer project against that installed copy only. Usage: check_install.sh <raftkit build dir> <consumer source>
set -euo pipefail
build_dir=$1
consumer_src=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
cmake -S "$consumer_src" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/build" >/dev/null
"$scratch/build/consumer"
