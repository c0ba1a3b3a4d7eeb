#!/usr/bin/env bash
# Bazel wrapper: the operations test against the binaries Bazel built (examples/kv_server, admin/raftkit-admin).
exec python3 tests/kv_server/operations_test.py .
