#!/usr/bin/env bash
# Installs the Debian packages vigil needs to build and test, when missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive  # clickhouse-server asks for a password otherwise

packages=(
  build-essential cmake ninja-build pkg-config git
  libyaml-dev libsimdjson-dev libpugixml-dev libpcre2-dev libhyperscan-dev
  libcli11-dev libfmt-dev libarchive-dev zlib1g-dev
  libxxhash-dev            # XXH3: the hash of group keys and other texts in hash tables
  libjemalloc-dev          # allocator of the vigil command (faster hunts)
  libcurl4-openssl-dev     # vigil load/hunt --clickhouse (HTTP interface)
  clickhouse-server curl   # tests/clickhouse: a two-shard cluster on loopback (scripts/clickhouse.sh)
  libgtest-dev libgmock-dev libbenchmark-dev
  libevtx-utils            # evtxexport: test oracle and benchmark baseline
  clang libclang-rt-14-dev # libFuzzer targets
  python3
  strace                   # tests/cli: counts the write(2) calls of a hunt (output buffering)
)
# Headless browser for the catalog test, when the distribution has it.
optional=(chromium)

missing=()
for p in "${packages[@]}" "${optional[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Required packages must install; optional ones may be unavailable.
req=()
for p in "${missing[@]}"; do
  [[ " ${optional[*]} " == *" $p "* ]] || req+=("$p")
done
[ ${#req[@]} -eq 0 ] || $SUDO apt-get install -y -qq --no-install-recommends "${req[@]}"
for p in "${optional[@]}"; do
  [[ " ${missing[*]} " == *" $p "* ]] || continue
  $SUDO apt-get install -y -qq --no-install-recommends "$p" || echo "setup: optional package $p unavailable; its tests will skip"
done
