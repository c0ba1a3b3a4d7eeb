#!/usr/bin/env bash
# Installs raftkit into a scratch prefix, builds an adapter shared library against that installed copy with a
# plain g++ command (no CMake, no raftkit build tree), and runs the installed raftkit-conformance runner on it.
# Usage: check_external_runner.sh <raftkit build dir> <source dir>
set -euo pipefail
build_dir=$1
src=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
prefix=$scratch/prefix
libdir=$(find "$prefix" -name 'libraftkit_durable_log.a' -printf '%h\n' | head -1)
g++ -std=c++20 -O2 -fPIC -shared -o "$scratch/libsimplefile.so" \
  -I"$prefix/include/raftkit" -I"$src" \
  "$src/tests/conformance/simple_file_log.cc" "$src/tests/conformance/external_adapter_entry.cc" \
  -Wl,-rpath-link,"$libdir" "$libdir/libraftkit_durable_log.a" "$libdir/libraftkit_consensus.a"
"$prefix/bin/raftkit-conformance" --adapter "$scratch/libsimplefile.so" --work-dir "$scratch/work"
