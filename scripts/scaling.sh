#!/usr/bin/env bash
# How one vigil build scales with threads, measured so that the VM's drift hits both thread counts
# alike: rows (b) dump, (c) the two seed rules and (f) both corpora of the hunt benchmark, whole
# processes, one thread and T threads alternating run by run (which goes first swaps every round).
# Prints one line per run:
#   f threads=2 wall=4.22 user=6.88 sys=0.97 rss_kb=148728
# and, at the end, each row's median wall per thread count, the speed-up T threads give, and (f)'s
# median over (c)'s at each thread count (the issue's "(f) <= 3x (c)"). scripts/bench.sh runs its
# one-thread and T-thread passes minutes apart; this is the drift-robust reading of its ratios.
# Not a test: it asserts nothing.
#
# Usage: scripts/scaling.sh [--rounds N] [--threads T] [--copies N] VIGIL
#   T: the thread count set against one (default: all cores). The input is the EVTX samples copied
#   --copies times (41 by default, 305,655 events, as scripts/bench.sh does), made once.
set -uo pipefail
here=$PWD
cd "$(dirname "$0")/.."
shared=../shared
rounds=5
threads=$(nproc)
copies=41
usage() {
  echo "usage: $0 [--rounds N] [--threads T] [--copies N] VIGIL" >&2
  exit 2
}
. scripts/lib-runs.sh
parse_options "$@"
[ ${#args[@]} -eq 1 ] || usage
vigil=${args[0]}
case "$vigil" in /*) ;; *) vigil="$here/$vigil" ;; esac
[ -x "$vigil" ] || { echo "$0: $vigil is not an executable" >&2; exit 2; }
[ "$threads" -gt 1 ] || { echo "$0: --threads must be more than 1 (it is set against one thread)" >&2; exit 2; }
work=$(mktemp -d) || { echo "$0: cannot make a temporary folder" >&2; exit 1; }
trap 'rm -rf "$work"' EXIT
copy_evtx "$work/evtx" "$copies"
# run ROW T: one timed run of row ROW with T threads; appends "ROW T wall user sys rss".
run() {
  local cmd
  case "$1" in
    b) cmd=(dump) ;;
    c) cmd=(hunt "${seeds[@]}") ;;
    f) cmd=(hunt "${both[@]}") ;;
  esac
  timed "row ($1) with $2 thread(s)" "$1 $2" \
    "$vigil" "${cmd[0]}" -q --threads "$2" --format jsonl "${cmd[@]:1}" "$work/evtx"
}
# One untimed run per hunt row: the timed ones find the rule bundle and compiled matchers.
for row in c f; do run "$row" 1; done
: > "$work/all"
show_run() {  # ROW THREADS WALL USER SYS RSS
  echo "$1 threads=$2 wall=$3 user=$4 sys=$5 rss_kb=$6"
}
alternate "b c f" "1 $threads"
declare -A med
for row in b c f; do
  for t in 1 "$threads"; do
    med[$row$t]=$(awk -v r="$row" -v t="$t" '$1 == r && $2 == t {print $3}' "$work/all" | median)
  done
  awk -v r="$row" -v t="$threads" -v a="${med[${row}1]}" -v b="${med[$row$threads]}" \
    'BEGIN { printf "median (%s): 1 thread %.2f s, %d threads %.2f s: %.2fx\n", r, a, t, b, a / b }'
done
for t in 1 "$threads"; do
  awk -v t="$t" -v f="${med[f$t]}" -v c="${med[c$t]}" 'BEGIN { printf "(f) / (c), %d thread(s): %.2fx\n", t, f / c }'
done
