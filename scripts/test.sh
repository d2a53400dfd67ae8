#!/usr/bin/env bash
# Installs what is missing, builds vigil with its tests, and runs them (ctest).
# Tests read the shared corpus and data from ../shared.
#
# Then a second build with AddressSanitizer + UndefinedBehaviorSanitizer runs
# the unit tests and the end-to-end tests again (the hostile-input suite, the
# CLI, the seed rules, the Sigma regression data, the fuzz-corpus replays).
# Left out there: the two corpus-wide hunts (EndpointHunt.*, tens of minutes
# under ASan), the whole-corpus lint runs and the headless-browser catalog
# test; they run in the plain build above. VIGIL_SKIP_SANITIZERS=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=ON >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure -j "$(nproc)"

if [ "${VIGIL_SKIP_SANITIZERS:-0}" != 1 ]; then
  san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="-O1 -g $san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
  cmake --build build-asan
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)" --timeout 1200 \
    -E '^(EndpointHunt\.|EscuTests\.LocalAttackData|CatalogBrowser\.|Cli\.LintWholeEscuCorpus|Cli\.LintEndpointDetectionsExecutable|EvtxCorpus\.)'
fi
