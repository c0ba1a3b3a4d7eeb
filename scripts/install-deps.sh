#!/usr/bin/env bash
# Installs the Debian 12 packages this project builds and tests with, and only those that are missing.
# Idempotent: a second run installs nothing. Needs root (or sudo) and apt; downloads nothing else.
#
# Never add the Boost 1.81 development package: it conflicts with the Boost 1.74 (libboost-dev) that carries
# Beast and Asio here.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ccache
  librocksdb-dev liblmdb-dev liblmdb++-dev libsqlite3-dev
  libboost-dev libssl-dev openssl libcli11-dev
  catch2 libbenchmark-dev nlohmann-json3-dev
  bazel-bootstrap
  python3 gnuplot-nox
  iproute2 iptables faketime
  chromium
)

# Fuzzing (scripts/fuzz.sh, and the test command through it): clang and libFuzzer.
if [ "${1:-}" = "--fuzz" ]; then
  packages+=(clang-15 libfuzzer-15-dev)
fi

# The side-by-side benchmark against etcd (scripts/bench-vs-etcd.sh).
if [ "${1:-}" = "--bench" ]; then
  packages+=(etcd-server wrk)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
