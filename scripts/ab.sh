#!/usr/bin/env bash
# Same-minute A/B of two vigil builds, as the README's before/after figures are measured: rows (c)
# (the two seed rules) and (f) (both corpora) of the hunt benchmark, whole processes, the builds
# alternating run by run (ABBA: which goes first, and which row, swaps every round) so that the VM's
# drift and any effect of order hit both alike. Prints one line per run:
#   c threads=1 old wall=1.05 user=0.82 sys=0.22 rss_kb=32536
# and, at the end, each row's median wall and user time per build. Not a test: it asserts nothing.
#
# Usage: scripts/ab.sh [--rounds N] [--threads T] [--copies N] OLD NEW
#   OLD, NEW: vigil binaries. The input is the EVTX samples copied --copies times (41 by default,
#   305,655 events, as scripts/bench.sh does), made once in a temporary folder.
set -uo pipefail
here=$PWD
cd "$(dirname "$0")/.." || exit 1
shared=../shared
rounds=5
threads=1
copies=41
usage() {
  echo "usage: $0 [--rounds N] [--threads T] [--copies N] OLD NEW" >&2
  exit 2
}
. scripts/lib-runs.sh
parse_options "$@"
[ ${#args[@]} -eq 2 ] || usage
builds=()
for b in "${args[@]}"; do
  case "$b" in /*) ;; *) b="$here/$b" ;; esac
  [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 2; }
  builds+=("$b")
done
work=$(mktemp -d) || { echo "$0: cannot make a temporary folder" >&2; exit 1; }
trap 'rm -rf "$work"' EXIT
copy_evtx "$work/evtx" "$copies"
name=(old new)
# run ROW K: one timed run of row ROW with build K (0 = OLD, 1 = NEW); appends "ROW K wall user sys rss".
run() {
  local rules
  if [ "$1" = c ]; then rules=("${seeds[@]}"); else rules=("${both[@]}"); fi
  timed "${name[$2]} build (${builds[$2]}) on row ($1)" "$1 $2" \
    "${builds[$2]}" hunt -q --threads "$threads" --format jsonl "${rules[@]}" "$work/evtx"
}
# One untimed run per row and build: the timed ones find the rule bundle and compiled matchers.
for row in c f; do for k in 0 1; do run "$row" "$k"; done; done
: > "$work/all"
show_run() {  # ROW K WALL USER SYS RSS
  echo "$1 threads=$threads ${name[$2]} wall=$3 user=$4 sys=$5 rss_kb=$6"
}
alternate "c f" "0 1"
for row in c f; do
  for k in 0 1; do
    w=$(awk -v r="$row" -v k="$k" '$1 == r && $2 == k {print $3}' "$work/all" | median)
    u=$(awk -v r="$row" -v k="$k" '$1 == r && $2 == k {print $4}' "$work/all" | median)
    echo "median ($row) ${name[$k]}: wall $w s, user $u s"
  done
done
