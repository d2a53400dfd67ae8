#!/usr/bin/env bash
# Installs what is missing, builds vigil with its tests, and runs them (ctest).
# Tests read the shared corpus and data from ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=ON >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure -j "$(nproc)"
