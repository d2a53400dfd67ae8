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
cd "$(dirname "$0")/.."
shared=../shared
rounds=5
threads=1
copies=41
usage() {
  echo "usage: $0 [--rounds N] [--threads T] [--copies N] OLD NEW" >&2
  exit 2
}
number() {  # number OPTION VALUE: VALUE must be a positive integer
  [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "$0: $1 needs a positive number" >&2; usage; }
}
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) number "$1" "${2:-}"; rounds=$2; shift 2 ;;
    --threads) number "$1" "${2:-}"; threads=$2; shift 2 ;;
    --copies) number "$1" "${2:-}"; copies=$2; shift 2 ;;
    -*) usage ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -eq 2 ] || usage
builds=()
for b in "${args[@]}"; do
  case "$b" in /*) ;; *) b="$here/$b" ;; esac
  [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 2; }
  builds+=("$b")
done
work=$(mktemp -d) || { echo "$0: cannot make a temporary folder" >&2; exit 1; }
trap 'rm -rf "$work"' EXIT
mkdir "$work/evtx"
for i in $(seq 1 "$copies"); do cp -a "$shared/data/evtx-attack-samples" "$work/evtx/$i" || exit 1; done

seeds=(--rules "$shared/corpus/security_content/detections/endpoint/windows_wmi_process_call_create.yml"
       --rules "$shared/corpus/seed_rules/remote_process_instantiation_via_wmi.yml"
       --content "$shared/corpus/security_content")
both=(--rules "$shared/corpus/sigma/rules" --rules "$shared/corpus/security_content/detections/endpoint")
name=(old new)
# run ROW K: one timed run of row ROW with build K (0 = OLD, 1 = NEW); appends "ROW K wall user sys rss".
run() {
  local rules rc
  if [ "$1" = c ]; then rules=("${seeds[@]}"); else rules=("${both[@]}"); fi
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "${builds[$2]}" hunt -q --threads "$threads" --format jsonl \
    "${rules[@]}" "$work/evtx" >/dev/null 2>"$work/err"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "$0: ${name[$2]} build (${builds[$2]}) failed on row ($1) with status $rc:" >&2
    tail -n 5 "$work/err" >&2
    exit 1
  fi
  # The last line: /usr/bin/time writes a status line before it when the command fails.
  echo "$1 $2 $(tail -n 1 "$work/time")" >> "$work/all"
}
# One untimed run per row and build: the timed ones find the rule bundle and compiled matchers.
for row in c f; do for k in 0 1; do run "$row" "$k"; done; done
: > "$work/all"
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then order="0 1"; rows="c f"; else order="1 0"; rows="f c"; fi
  for row in $rows; do
    for k in $order; do
      run "$row" "$k"
      read -r row_ k_ wall user sys rss < <(tail -n 1 "$work/all")
      echo "$row_ threads=$threads ${name[$k_]} wall=$wall user=$user sys=$sys rss_kb=$rss"
    done
  done
done
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for row in c f; do
  for k in 0 1; do
    w=$(awk -v r="$row" -v k="$k" '$1 == r && $2 == k {print $3}' "$work/all" | median)
    u=$(awk -v r="$row" -v k="$k" '$1 == r && $2 == k {print $4}' "$work/all" | median)
    echo "median ($row) ${name[$k]}: wall $w s, user $u s"
  done
done
