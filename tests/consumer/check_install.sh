#!/usr/bin/env bash
# Installs raftkit from a configured build tree into a scratch prefix, then configures, builds and runs the
# consumer project against that installed copy only, and checks that a service linking the runtime and the SQLite
# engine links neither RocksDB nor LMDB. Usage: check_install.sh <raftkit build dir> <consumer source>
set -euo pipefail
build_dir=$1
consumer_src=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
# Makefiles: they write the link line to link.txt, which is checked below.
cmake -S "$consumer_src" -B "$scratch/build" -G "Unix Makefiles" -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/build" >/dev/null
link_line=$(cat "$scratch/build/CMakeFiles/consumer.dir/link.txt")
for unwanted in -lrocksdb librocksdb -llmdb liblmdb libraftkit_log_rocksdb libraftkit_log_lmdb libraftkit_engines; do
  if grep -qF -- "$unwanted" <<<"$link_line"; then
    echo "consumer: FAILED: '$unwanted' is on the link line of a service that uses only the SQLite engine:"
    echo "$link_line"
    exit 1
  fi
done
echo "consumer: link line holds the runtime and SQLite only (no RocksDB, no LMDB)"
"$(dirname "$0")/check_binary.sh" "$scratch/build/consumer"
