#!/usr/bin/env bash
# Checks that a consumer binary built on the runtime and the SQLite engine loads neither RocksDB nor LMDB (shared
# libraries: Bazel links Debian's; a static engine library is caught by check_install.sh's link-line check), then
# runs it. Usage: check_binary.sh <consumer binary>
set -euo pipefail
binary=$1
libraries=$(ldd "$binary")
if grep -qE "librocksdb|liblmdb" <<<"$libraries"; then
  echo "consumer: FAILED: the binary loads RocksDB or LMDB:"
  echo "$libraries"
  exit 1
fi
"$binary"
