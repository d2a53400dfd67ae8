#!/usr/bin/env bash
# Installs what is missing, builds vigil with its tests, and runs them (ctest).
# Tests read the shared corpus and data from ../shared.
#
# Before the full ctest run, a second build with AddressSanitizer +
# UndefinedBehaviorSanitizer runs the unit and end-to-end suites that take
# hostile input (core, ingest, spl_exec, cli, the fuzz-corpus replays and the
# hostile-input suite). The corpus-wide suites (e2e_corpus, e2e_sigma, report,
# evtx, catalog) run in the plain build only, to keep CI well inside its time.
# VIGIL_SKIP_SANITIZERS=1 skips the sanitizer stage. ctest's summary comes last.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The builds are most of this script's time. -g1: line tables only (backtraces and sanitizer reports
# keep file:line), for ~30% less build time than -g. VIGIL_UNITY: the CLI's and the tests' files
# compiled in batches, so the inline code of CLI11, GoogleTest and the standard library is generated
# once per batch, not once per file.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=ON -DVIGIL_UNITY=ON >/dev/null
cmake --build build

if [ "${VIGIL_SKIP_SANITIZERS:-0}" != 1 ]; then
  san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  # -Wno-maybe-uninitialized here only: GCC's manual says sanitizers raise that warning's false
  # positives, and all of this build's (24 lines, inside <regex>'s std::function, GCC 12) were those;
  # the first build above keeps the warning.
  # -Og, not -O1: this build was CI's largest part, and UBSan's instrumentation under -O1's inlining
  # most of it (the report module's batch, back to back: 97 s at -O1, 51 s at -Og); the suites run
  # ~20% longer (docs/performance-history.md, stop 69).
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=OFF -DVIGIL_UNITY=ON \
    -DCMAKE_CXX_FLAGS_DEBUG="-g1" -DCMAKE_CXX_FLAGS="-Og $san -Wno-maybe-uninitialized" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
  suites=(test_cli test_e2e_hostile test_spl_exec test_ingest test_fuzz_replay test_core)  # longest first
  cmake --build build-asan --target vigil "${suites[@]}"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  # The CLI's cache between runs (rule bundles, compiled matchers) stays in the build tree, as under ctest.
  export XDG_CACHE_HOME="$PWD/build-asan/test-cache"
  # The suites run side by side, one per core; each one's output is shown if it fails.
  run_suite() {
    local log="build-asan/tests/$1.log"
    if (cd build-asan/tests && "./$1" --gtest_brief=1) >"$log" 2>&1; then
      echo "sanitizers: $1: $(grep -h 'PASSED' "$log" | tail -1)"
    else
      echo "sanitizers: $1 FAILED"
      cat "$log"
      return 1
    fi
  }
  export -f run_suite
  printf '%s\n' "${suites[@]}" | xargs -P "$(nproc)" -I{} bash -c 'run_suite {}'
  unset ASAN_OPTIONS UBSAN_OPTIONS XDG_CACHE_HOME
fi

ctest --test-dir build --output-on-failure -j "$(nproc)"
