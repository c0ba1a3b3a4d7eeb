#!/usr/bin/env bash
# Bazel wrapper: the conformance suite on one shipped engine.
exec tests/conformance_engines "$@"
