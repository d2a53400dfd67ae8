#!/usr/bin/env bash
# Instruction counts of the hunt benchmark's rows (c) and (f), one thread, on the replicated EVTX
# samples, under callgrind. Not a test, and not the benchmark (scripts/bench.sh times processes):
# wall times on this VM drift by tens of percent from minute to minute, instruction counts do not,
# so this is the A/B measure for a change to the per-event path, and it tells instructions apart
# from stalls (a row whose wall-time ratio is far above its instruction ratio waits on memory).
#
# Usage: scripts/instructions.sh [--copies N] [--cache] [--vigil PATH] [--vigil-b PATH]
#   --vigil-b PATH: the same rows for a second build, and its counts against the first.
#   --cache: also simulate the caches (32 KB L1 instruction and data, 512 KB L2 as valgrind's
#     last level) and report each row's misses: a deterministic measure for a change that aims at
#     stalls, not instructions (this VM has no hardware counters). About twice as slow.
# Needs valgrind (apt-get install valgrind). 41 copies take ~5 min per build on 2 cores.
set -uo pipefail
here=$PWD
cd "$(dirname "$0")/.." || exit 1
shared=../shared
copies=41
vigil=build-rel/vigil
vigil_b=""
cache=0
while [ $# -gt 0 ]; do
  case "$1" in
    --copies) copies=$2; shift 2 ;;
    --cache) cache=1; shift ;;
    --vigil) vigil=$2; shift 2 ;;
    --vigil-b) vigil_b=$2; shift 2 ;;
    *) echo "usage: $0 [--copies N] [--cache] [--vigil PATH] [--vigil-b PATH]" >&2; exit 2 ;;
  esac
done
# Builds named relative to where the script was started from.
case "$vigil" in build-rel/vigil | /*) ;; *) vigil="$here/$vigil" ;; esac
case "$vigil_b" in "" | /*) ;; *) vigil_b="$here/$vigil_b" ;; esac
command -v valgrind >/dev/null || { echo "$0: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
if [ "$vigil" = build-rel/vigil ]; then
  cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF >/dev/null
  cmake --build build-rel --target vigil >/dev/null || exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The same rule sets as scripts/bench.sh.
seeds=(--rules "$shared/corpus/security_content/detections/endpoint/windows_wmi_process_call_create.yml"
       --rules "$shared/corpus/seed_rules/remote_process_instantiation_via_wmi.yml"
       --content "$shared/corpus/security_content")
both=(--rules "$shared/corpus/sigma/rules" --rules "$shared/corpus/security_content/detections/endpoint")

evtx="$work/evtx"
mkdir -p "$evtx"
for i in $(seq 1 "$copies"); do cp -a "$shared/data/evtx-attack-samples" "$evtx/$i"; done
find "$evtx" -type f ! -name '*.evtx' -delete

sim=()
[ "$cache" = 1 ] && sim=(--cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 --LL=524288,8,64)

# count BIN KEY ARGS… → instructions of one hunt in $work/KEY, its findings' md5 in $work/KEY.md5;
# with --cache, its I1, D1 and L2 misses in $work/KEY.i1, .d1, .l2
count() {
  local bin=$1 key=$2; shift 2
  # An untimed run first: the rule bundle and compiled matchers are cached, as on a user's second run.
  "$bin" hunt -q --threads 1 --format jsonl "$@" "$evtx" >/dev/null 2>&1
  if ! valgrind --tool=callgrind "${sim[@]}" --callgrind-out-file=/dev/null "$bin" hunt -q --threads 1 --format jsonl \
    --now 2026-06-01T00:00:00Z "$@" "$evtx" 2>"$work/$key.err" | md5sum | cut -c1-32 >"$work/$key.md5"; then
    echo "$0: $bin hunt failed under valgrind:" >&2
    tail -n 5 "$work/$key.err" >&2
    return 1
  fi
  grep -o 'I *refs: *[0-9,]*' "$work/$key.err" | head -n 1 | cut -d: -f2 | tr -dc '0-9' >"$work/$key"
  [ -s "$work/$key" ] || { echo "$0: no instruction count in valgrind's output for $bin" >&2; return 1; }
  if [ "$cache" = 1 ]; then
    # The number after the colon ("I1" and "D1" hold digits of their own).
    misses() { grep -o "$1 *misses: *[0-9,]*" "$work/$key.err" | cut -d: -f2 | tr -dc '0-9'; }
    misses I1 >"$work/$key.i1"
    misses D1 >"$work/$key.d1"
    misses '== LL' >"$work/$key.l2"
    for m in i1 d1 l2; do
      [ -s "$work/$key.$m" ] || { echo "$0: no cache counts in valgrind's output for $bin" >&2; return 1; }
    done
  fi
}

builds=("$vigil")
[ -n "$vigil_b" ] && builds+=("$vigil_b")
echo "### Instructions, one thread, EVTX samples x$copies"
echo
echo "| build | (c) seed rules | (f) both corpora | (f) / (c) | findings md5 of (f) |"
echo "| ----- | -------------- | ---------------- | --------- | ------------------- |"
n=0
for bin in "${builds[@]}"; do
  n=$((n + 1))
  count "$bin" "c$n" "${seeds[@]}" &
  pc=$!
  count "$bin" "f$n" "${both[@]}" &
  pf=$!
  wait "$pc" || exit 1
  wait "$pf" || exit 1
  awk -v b="$bin" -v c="$(cat "$work/c$n")" -v f="$(cat "$work/f$n")" -v m="$(cat "$work/f$n.md5")" \
    'BEGIN { printf "| %s | %.3f G | %.3f G | %.2fx | %s |\n", b, c / 1e9, f / 1e9, f / c, m }'
done
if [ "$cache" = 1 ]; then
  echo
  echo "### Simulated cache misses (32 KB L1i and L1d, 512 KB L2), same runs"
  echo
  echo "| build | row | I1 misses | D1 misses | L2 misses | per 1,000 instructions (I1 / D1 / L2) |"
  echo "| ----- | --- | --------- | --------- | --------- | ------------------------------------- |"
  for k in $(seq 1 "$n"); do
    for row in c f; do
      awk -v b="${builds[$((k - 1))]}" -v r="($row)" -v i="$(cat "$work/$row$k")" -v i1="$(cat "$work/$row$k.i1")" \
        -v d1="$(cat "$work/$row$k.d1")" -v l2="$(cat "$work/$row$k.l2")" \
        'BEGIN { printf "| %s | %s | %.1f M | %.1f M | %.1f M | %.2f / %.2f / %.2f |\n", b, r, i1 / 1e6, d1 / 1e6, l2 / 1e6,
                 1000 * i1 / i, 1000 * d1 / i, 1000 * l2 / i }'
    done
  done
fi
if [ -n "$vigil_b" ]; then
  awk -v c1="$(cat "$work/c1")" -v c2="$(cat "$work/c2")" -v f1="$(cat "$work/f1")" -v f2="$(cat "$work/f2")" \
    'BEGIN { printf "\nsecond build against the first: (c) %+.2f%%, (f) %+.2f%%\n", 100 * (c2 / c1 - 1), 100 * (f2 / f1 - 1) }'
fi
