#!/usr/bin/env bash
# Same-minute A/B of two vigil builds, as the README's before/after figures are measured: rows (c)
# (the two seed rules) and (f) (both corpora) of the hunt benchmark, whole processes, the builds
# alternating run by run so that the VM's drift hits both alike. Prints one line per run:
#   ROW THREADS BUILD wall_s user_s sys_s peak_rss_kb
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
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --copies) copies=$2; shift 2 ;;
    -*) echo "usage: $0 [--rounds N] [--threads T] [--copies N] OLD NEW" >&2; exit 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ ${#args[@]} -ne 2 ]; then
  echo "usage: $0 [--rounds N] [--threads T] [--copies N] OLD NEW" >&2
  exit 2
fi
builds=()
for b in "${args[@]}"; do
  case "$b" in /*) ;; *) b="$here/$b" ;; esac
  [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 2; }
  builds+=("$b")
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$copies"); do cp -a "$shared/data/evtx-attack-samples" "$work/$i"; done

seeds=(--rules "$shared/corpus/security_content/detections/endpoint/windows_wmi_process_call_create.yml"
       --rules "$shared/corpus/seed_rules/remote_process_instantiation_via_wmi.yml"
       --content "$shared/corpus/security_content")
both=(--rules "$shared/corpus/sigma/rules" --rules "$shared/corpus/security_content/detections/endpoint")
run() {  # run ROW BUILD_INDEX
  local rules
  if [ "$1" = c ]; then rules=("${seeds[@]}"); else rules=("${both[@]}"); fi
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "${builds[$2]}" hunt -q --threads "$threads" --format jsonl \
    "${rules[@]}" "$work" >/dev/null 2>/dev/null
  echo "$1 $threads $(( $2 == 0 ? 0 : 1 )) $(cat "$work/time")"
}
# One untimed run per row and build: the timed ones find the rule bundle and compiled matchers.
for row in c f; do for k in 0 1; do run "$row" "$k" >/dev/null; done; done
for r in $(seq 1 "$rounds"); do
  for row in c f; do
    for k in 0 1; do
      line=$(run "$row" "$k")
      echo "$line" >> "$work/all"
      set -- $line
      echo "$1 threads=$2 $([ "$3" = 0 ] && echo old || echo new) wall=$4 user=$5 sys=$6 rss_kb=$7"
    done
  done
done
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for row in c f; do
  for k in 0 1; do
    w=$(awk -v r="$row" -v k="$k" '$1 == r && $3 == k {print $4}' "$work/all" | median)
    u=$(awk -v r="$row" -v k="$k" '$1 == r && $3 == k {print $5}' "$work/all" | median)
    echo "median ($row) $([ "$k" = 0 ] && echo old || echo new): wall $w s, user $u s"
  done
done
