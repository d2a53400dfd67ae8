#!/usr/bin/env bash
# The hunt benchmark, run as a user runs vigil: whole processes, wall time and
# peak RSS from /usr/bin/time. Not a test: it prints tables, asserts nothing.
#
# Hypothesis: the streaming, parallel engine evaluates ~3,500 rules at a small
# multiple of the cost of reading the logs, in bounded memory, and scales with
# cores. Scenario grid, per input, each with --threads 1 and all cores:
#   (a) evtxexport -f xml (EVTX input only; the open reader, as a baseline)
#   (b) vigil dump --format jsonl
#   (c) vigil hunt, the two seed rules
#   (d) vigil hunt, ESCU endpoint detections
#   (e) vigil hunt, Sigma rules/windows
#   (f) vigil hunt, both corpora
# Inputs: the EVTX samples replicated (copied: vigil reads a hard-linked file once) to >= 300,000 events, and
# the OTRF archives (572,750 JSON events).
#
# Usage: scripts/bench.sh [--copies N] [--only evtx|otrf] [--vigil PATH] [--reps N] [--cold]
#   --reps N: run each vigil row N times (the whole grid N times over, so repeats are minutes apart) and
#   report the fastest wall time with the largest peak RSS; the VM's speed drifts by tens of percent.
#   Before each multi-thread pass (and before (a) with several processes) it measures how much of
#   the cores the VM grants at that moment (capacity, below) and prints it under the table.
#   --cold: drop the input's files from the page cache before every timed run (vmtouch -e; no root
#   needed; apt-get install vmtouch), so each reads its input from the disk, as a hunt over a
#   collection on a disk just mounted does. The binary, the rules and vigil's cache stay cached.
set -uo pipefail
here=$PWD
cd "$(dirname "$0")/.." || exit 1
shared=../shared
copies=41
only=""
vigil=build-rel/vigil
reps=1
cold=0
a_check=""
while [ $# -gt 0 ]; do
  case "$1" in
    --copies) copies=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --vigil) vigil=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --cold) cold=1; shift ;;
    *) echo "usage: $0 [--copies N] [--only evtx|otrf] [--vigil PATH] [--reps N] [--cold]" >&2; exit 2 ;;
  esac
done
if [ "$cold" = 1 ] && ! command -v vmtouch >/dev/null; then
  echo "$0: --cold needs vmtouch (apt-get install vmtouch)" >&2
  exit 2
fi
# A build named relative to where the script was started from.
case "$vigil" in build-rel/vigil | /*) ;; *) vigil="$here/$vigil" ;; esac
if [ "$vigil" = build-rel/vigil ]; then
  cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF >/dev/null
  cmake --build build-rel --target vigil >/dev/null || exit 1
fi
cores=$(nproc)
. scripts/lib-runs.sh  # capacity, and the rule sets of rows (c) and (f): $seeds and $both
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Rows (d) and (e); (c) and (f) are lib-runs.sh's.
escu=(--rules "$shared/corpus/security_content/detections/endpoint")
sigma=(--rules "$shared/corpus/sigma/rules/windows")

# evict PATH → its files' pages dropped from the page cache (a page not yet written back stays, hence
# the sync: the copies were just made)
evict() {
  sync
  vmtouch -q -e "$1"
}

# sample KEY EVENTS -- command…  → one timing of row KEY, kept in $work/rows/KEY (secs kb events rc per line);
# with --cold, the input (the command's last argument, when it is a path) is dropped from the page cache first
sample() {
  local key=$1 events=$2; shift 3
  mkdir -p "$work/rows"
  if [ "$cold" = 1 ] && [ -e "${!#}" ]; then evict "${!#}"; fi
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err"
  local rc=$?
  read -r secs kb < <(tail -n 1 "$work/time")
  if [ -z "$events" ] || [ "$events" = "-" ]; then
    events=$(grep -o 'records read [0-9]*' "$work/err" | tail -n 1 | awk '{print $3}')
  fi
  echo "$secs $kb $events $rc" >>"$work/rows/$key"
}

# row KEY NAME BYTES  → the table row of KEY: fastest wall, largest RSS
row() {
  local key=$1 name=$2 bytes=$3
  awk -v n="$name" -v b="$bytes" '
    { if (!have || $1 < s) { s = $1; e = $3 } if ($2 > k) k = $2; if ($4 != 0) rc = $4; have = 1 }
    END { printf "| %-38s | %9d | %9.0f | %7.1f | %7.2f | %6.0f |%s\n", n, e, e / s, b / 1e6 / s, s, k / 1024, (rc ? " exit " rc : "") }' \
    "$work/rows/$key"
  rm -f "$work/rows/$key"
}

# measure NAME EVENTS BYTES -- command…  → one table row from one run
measure() {
  local name=$1 events=$2 bytes=$3; shift 4
  sample one "$events" -- "$@"
  row one "$name" "$bytes"
}

header() {
  echo
  echo "### $1"
  echo
  echo "| run                                    |    events |  events/s |    MB/s |  wall s | RSS MB |"
  echo "| -------------------------------------- | --------- | --------- | ------- | ------- | ------ |"
}

run_grid() {
  local input=$1 bytes=$2 checks=""
  # vigil keeps the rule texts and compiled matchers between runs (--no-cache turns it off): one
  # untimed run per rule set first, so every timed run starts as a user's second run does.
  for set in seeds escu sigma both; do
    local -n rules=$set
    "$vigil" hunt -q --format jsonl "${rules[@]}" "$shared/data/evtx-attack-samples" >/dev/null 2>&1
  done
  for _ in $(seq 1 "$reps"); do
    for t in 1 "$cores"; do
      [ "$t" = 1 ] || checks="$checks $(capacity "$cores")"
      sample "b$t" "-" -- "$vigil" dump --threads "$t" --format jsonl "$input"
      sample "c$t" "-" -- "$vigil" hunt --threads "$t" --format jsonl "${seeds[@]}" "$input"
      sample "d$t" "-" -- "$vigil" hunt --threads "$t" --format jsonl "${escu[@]}" "$input"
      sample "e$t" "-" -- "$vigil" hunt --threads "$t" --format jsonl "${sigma[@]}" "$input"
      sample "f$t" "-" -- "$vigil" hunt --threads "$t" --format jsonl "${both[@]}" "$input"
    done
  done
  for t in 1 "$cores"; do
    row "b$t" "(b) dump, threads $t" "$bytes"
    row "c$t" "(c) hunt seed rules, threads $t" "$bytes"
    row "d$t" "(d) hunt ESCU endpoint, threads $t" "$bytes"
    row "e$t" "(e) hunt Sigma windows, threads $t" "$bytes"
    row "f$t" "(f) hunt both corpora, threads $t" "$bytes"
  done
  echo
  [ -z "$a_check" ] || echo "Cores' capacity before (a) with $cores processes: $a_check (loops' worth of work at once, of $cores)"
  a_check=""
  echo "Cores' capacity before each pass's $cores-thread rows (loops' worth of work at once, of $cores):$checks"
}

if [ "$only" != otrf ]; then
  evtx="$work/evtx"
  mkdir -p "$evtx"
  for i in $(seq 1 "$copies"); do
    cp -a "$shared/data/evtx-attack-samples" "$evtx/$i"
  done
  find "$evtx" -type f ! -name '*.evtx' -delete
  bytes=$(find "$evtx" -name '*.evtx' -printf '%s\n' | awk '{s += $1} END {print s}')
  files=$(find "$evtx" -name '*.evtx' | wc -l)
  header "EVTX samples x$copies ($files files, $((bytes / 1000000)) MB)"
  # evtxexport takes one file per run; xargs runs them one after another, then one per core.
  for t in 1 "$cores"; do
    find "$evtx" -name '*.evtx' -print0 >"$work/list"
    events=$("$vigil" dump -q --format jsonl "$evtx" | wc -l)
    [ "$t" = 1 ] || a_check=$(capacity "$cores")
    [ "$cold" = 1 ] && evict "$evtx"
    measure "(a) evtxexport -f xml, $t process(es)" "$events" "$bytes" -- \
      sh -c "xargs -0 -P $t -n 1 evtxexport -f xml <'$work/list'"
  done
  run_grid "$evtx" "$bytes"
fi

if [ "$only" != evtx ]; then
  otrf="$shared/data/otrf"
  bytes=$(du -sbL "$otrf" | awk '{print $1}')
  header "OTRF archives ($((bytes / 1000000)) MB of zip)"
  run_grid "$otrf" "$bytes"
fi
