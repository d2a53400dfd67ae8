#!/usr/bin/env bash
# Installs what is missing, builds vigil, and hunts with the bundled sample
# rules over the bundled sample logs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF -DVIGIL_UNITY=ON >/dev/null
cmake --build build --target vigil
./build/vigil hunt --rules samples/content/detections --rules samples/sigma --format table samples/logs
