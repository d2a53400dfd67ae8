#!/usr/bin/env bash
# ThreadSanitizer over vigil's threads: builds vigil and the suites that run threads (build-tsan,
# GCC's -fsanitize=thread) and runs, each with two threads:
# - the thread suites: the ordered pipeline, the corpus loading threads, and the streaming engine's
#   tests that run several workers (order-free states fed at once, rule tails, a hunt compared across
#   thread counts, workers reading small files);
# - the vigil command as a user runs it, on one copy of the EVTX samples (278 files: the workers
#   read the small files themselves) and on 20 of OTRF's archives (zip and tar.gz, libarchive on
#   both workers): hunt with both corpora from a cold cache and again warm, with --incidents and
#   --risk-out, as a table (held findings), dump and search;
# - and checks that the two-thread hunt's findings under TSan's scheduling equal one thread's.
# Any report fails the run; scripts/tsan.supp lists what is suppressed and why. Not part of
# scripts/test.sh: its build and runs take ~12 minutes on two cores (the whole engine suite ran 29
# minutes under TSan without finishing).
#   scripts/tsan.sh          (VIGIL_TSAN_SKIP_BUILD=1 reuses build-tsan)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
shared=${VIGIL_SHARED_DIR:-../shared}
usage() {
  echo "usage: $0   (VIGIL_TSAN_SKIP_BUILD=1 reuses build-tsan)" >&2
  exit 2
}
[ $# -eq 0 ] || usage
. scripts/lib-runs.sh  # $both: row (f)'s rule paths
[ -d "$shared/data/evtx-attack-samples" ] || { echo "$0: $shared/data/evtx-attack-samples is missing" >&2; exit 2; }
tsan="-fsanitize=thread -fno-omit-frame-pointer"
suites=(test_core test_e2e_atoms test_e2e_corpus)
if [ "${VIGIL_TSAN_SKIP_BUILD:-0}" != 1 ]; then
  # -Wno-maybe-uninitialized: as for scripts/test.sh's sanitizer build (false positives under sanitizers).
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=OFF \
    -DVIGIL_UNITY=ON -DCMAKE_CXX_FLAGS_DEBUG="-g1" -DCMAKE_CXX_FLAGS="-O1 $tsan -Wno-maybe-uninitialized" \
    -DCMAKE_EXE_LINKER_FLAGS="$tsan" >/dev/null || exit 1
  cmake --build build-tsan --target vigil "${suites[@]}" || exit 1
fi
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
export TSAN_OPTIONS="suppressions=$PWD/scripts/tsan.supp halt_on_error=0 exitcode=66 second_deadlock_stack=1"
export XDG_CACHE_HOME=$work/cache  # a cold cache first: bundling and compiling run on the threads too
failed=0
# check NAME COMMAND…: runs COMMAND (stdout to $work/NAME.out); fails on a TSan report or a status
# other than 0 (vigil's "ran"; a suite's "passed").
check() {
  local name=$1 rc reports start=$SECONDS
  shift
  "$@" >"$work/$name.out" 2>"$work/$name.err"
  rc=$?
  reports=$(grep -c 'WARNING: ThreadSanitizer' "$work/$name.err")
  echo "tsan: $name: status $rc, $reports report(s), $((SECONDS - start)) s"
  if [ "$reports" -ne 0 ] || [ "$rc" -ne 0 ]; then
    failed=1
    grep -A40 'WARNING: ThreadSanitizer' "$work/$name.err" | head -80
    [ "$reports" -eq 0 ] && tail -n 20 "$work/$name.out" "$work/$name.err"
  fi
}
v=build-tsan/vigil
evtx=$shared/data/evtx-attack-samples
# 20 of OTRF's archives, zip and tar.gz: enough that the two workers read archives at the same moment
# (with fewer, the report scripts/tsan.supp suppresses did not always show).
archives=("$shared/data/otrf/atomic/windows/"{discovery,execution,persistence})
now=(--now 2026-06-01T00:00:00Z)
check hunt-cold $v hunt -q --threads 2 --format jsonl "${now[@]}" "${both[@]}" "$evtx"
check hunt-warm $v hunt -q --threads 2 --format jsonl "${now[@]}" "${both[@]}" "$evtx"
check hunt-one-thread $v hunt -q --threads 1 --format jsonl "${now[@]}" "${both[@]}" "$evtx"
check hunt-risk $v hunt -q --threads 2 --format jsonl --incidents --risk-out "$work/risk.jsonl" "${both[@]}" "$evtx"
check hunt-table $v hunt -q --threads 2 --format table "${both[@]}" "$evtx"
check hunt-archives $v hunt -q --threads 2 --format jsonl "${both[@]}" "${archives[@]}"
check dump $v dump -q --threads 2 --format jsonl "$evtx"
check search $v search -q --threads 2 --format jsonl 'EventID=4688 OR EventCode=1 | stats count by Computer' "$evtx"
if cmp -s "$work/hunt-warm.out" "$work/hunt-one-thread.out" && [ -s "$work/hunt-warm.out" ]; then
  echo "tsan: two threads' findings equal one thread's ($(wc -l <"$work/hunt-warm.out") findings)"
else
  echo "tsan: two threads' findings differ from one thread's (or none were made)"
  failed=1
fi
for s in "${suites[@]}"; do
  case $s in
    test_core) filter='OrderedPipeline.*' ;;
    test_e2e_atoms) filter='EscuLoadThreads.*' ;;
    # The engine tests that run two workers or more (the whole suite ran 29 minutes under TSan unfinished).
    test_e2e_corpus) filter='StreamingEngine.OrderFreeStatsFedByConcurrentWorkersEqualOneThread:StreamingEngine.RuleTailsOnTwoThreadsHandOnWhatOneThreadGives:StreamingEngine.HuntIsIdenticalForAnyThreadCount:StreamingEngine.WorkersReadTheSmallFilesAndTheCallerTheLargeOnes:StreamingEngine.EarlyFilterWarningsAreToldOnceForAnyThreadCount:StreamingEngine.RulesWithTheSameAggregationShareOneStateAndGetTheirOwnResults' ;;
  esac
  check "$s" bash -c "cd build-tsan/tests && ./$s --gtest_filter='$filter' --gtest_brief=1"
  grep -h 'PASSED\|FAILED' "$work/$s.out" | tail -n 2
done
[ "$failed" -eq 0 ] && echo "tsan: no report" || echo "tsan: FAILED"
exit "$failed"
