#!/usr/bin/env bash
# Runs the conformance runner, with no flags, on the pass-through SQLite wrapper (sqlite_wrapper_entry.cc): it must
# pass, and its report must list the scratch file the library declared.
# Usage: check_wrapper.sh RUNNER LIBRARY
set -euo pipefail
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
"$1" --adapter "$2" >"$out" 2>&1 || status=$?
grep -v '^\s*PASS' "$out" || true
if [ "$status" -ne 0 ]; then echo "the runner failed a pass-through wrapper of a shipped engine"; exit 1; fi
grep -q 'declared non-durable (not checked): \*.wrapper-scratch' "$out" || { echo "the declared scratch file is not listed"; exit 1; }
echo "pass-through wrapper: PASS with no flags; declared scratch file listed"
