#!/usr/bin/env bash
# Checks that a consumer binary built on the runtime and the SQLite engine loads neither RocksDB nor LMDB, then
# runs it. Usage: check_binary.sh <consumer binary>
set -euo pipefail
binary=$1
if ldd "$binary" | grep -qE "librocksdb|liblmdb"; then
  echo "consumer: FAILED: the binary loads RocksDB or LMDB:"
  ldd "$binary"
  exit 1
fi
"$binary"
