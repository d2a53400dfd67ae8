#!/bin/sh
# Builds the libFuzzer targets with clang (every library instrumented) and
# runs one campaign per target (SPL front end, ESCU loader, Sigma loader, the
# text and archive readers, a query compiled and run over samples/logs): seeds
# from ../shared (the ESCU searches written out by fuzz/make_search_seeds.py
# under build-fuzz/), findings kept under
# fuzz/corpus/<target>/ (crash-* files are regression inputs, replayed by
# ctest through tests/fuzz_replay).
#   scripts/fuzz.sh [runs] [seconds]   (defaults: 10000000 runs or 3600 s)
#   VIGIL_FUZZ_TARGETS="spl sigma" picks targets; VIGIL_FUZZ_TIMEOUT=60 for a machine busy with other work; VIGIL_FUZZ_ONLY_BUILD=1 builds, VIGIL_FUZZ_SKIP_BUILD=1 runs; each campaign's log is build-fuzz/<target>-<start time>.log (its own, so a second invocation cannot truncate a running campaign's).
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-10000000}
SECS=${2:-3600}
SHARED=${VIGIL_SHARED_DIR:-../shared}
FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -g -O1"
if [ -z "${VIGIL_FUZZ_SKIP_BUILD:-}" ]; then  # set when campaigns run side by side on one build
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_C_COMPILER=clang-14 -DVIGIL_BUILD_FUZZ=ON -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
  cmake --build build-fuzz -j2 --target spl_fuzz escu_fuzz sigma_fuzz ingest_fuzz search_fuzz
fi
[ -n "${VIGIL_FUZZ_ONLY_BUILD:-}" ] && exit 0
TARGETS=${VIGIL_FUZZ_TARGETS:-spl escu sigma ingest search}
seeds() {  # target -> seed directories from ../shared (read, never copied)
  case $1 in
    spl) echo "$SHARED/seeds" ;;
    escu) echo "$SHARED/corpus/security_content/detections/endpoint" ;;
    sigma) echo "$SHARED/corpus/sigma/rules/windows/process_creation" ;;
    ingest) echo "samples/logs" ;;
    search) python3 fuzz/make_search_seeds.py "$SHARED" build-fuzz/seeds/search >&2 && echo "build-fuzz/seeds/search" ;;
  esac
}
for t in $TARGETS; do
  mkdir -p "fuzz/corpus/$t" "build-fuzz/corpus/$t"
  log="build-fuzz/$t-$(date +%Y%m%d-%H%M%S).log"
  echo "$t: log $log" >&2
  nice -n 19 "build-fuzz/fuzz/${t}_fuzz" -runs="$RUNS" -max_total_time="$SECS" -timeout="${VIGIL_FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="fuzz/corpus/$t/" "build-fuzz/corpus/$t" $(seeds "$t") "fuzz/corpus/$t" \
    >"$log" 2>&1 || { tail -30 "$log"; exit 1; }
  tail -3 "$log"
done
