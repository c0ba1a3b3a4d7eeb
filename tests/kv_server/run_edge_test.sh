#!/usr/bin/env bash
# Bazel wrapper: the key-value server's edge test against the kv_server Bazel built.
exec python3 tests/kv_server/edge_test.py examples/kv_server
