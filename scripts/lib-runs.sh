# Shared by scripts/ab.sh and scripts/scaling.sh (sourced, not run; scripts/bench.sh takes capacity
# and the rule sets from it, scripts/tsan.sh row (f)'s): the EVTX input both time, the two rule sets
# of rows (c) and (f), and the helpers their option parsing and summaries use.
# Expects $shared (the ../shared folder), $work (a temporary folder) once runs are timed, and a usage()
# function in the sourcing script.

# number OPTION VALUE: VALUE must be a positive integer
number() {
  [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "$0: $1 needs a positive number" >&2; usage; }
}

# copy_evtx DIR N: the EVTX samples copied N times under DIR (copied: vigil reads a hard-linked file once)
copy_evtx() {
  mkdir "$1" || exit 1
  for i in $(seq 1 "$2"); do cp -a "$shared/data/evtx-attack-samples" "$1/$i" || exit 1; done
}

# Row (c): the two seed rules; row (f): both corpora.
seeds=(--rules "$shared/corpus/security_content/detections/endpoint/windows_wmi_process_call_create.yml"
       --rules "$shared/corpus/seed_rules/remote_process_instantiation_via_wmi.yml"
       --content "$shared/corpus/security_content")
both=(--rules "$shared/corpus/sigma/rules" --rules "$shared/corpus/security_content/detections/endpoint")

# median: of the numbers on stdin, one per line
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# parse_options ARGS…: --rounds, --threads and --copies (positive numbers) into $rounds, $threads and
# $copies (the caller's defaults stay otherwise); the other arguments into the array $args.
parse_options() {
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
}

# timed WHAT RECORD COMMAND…: one timed run of COMMAND (stdout discarded), appending "RECORD wall user
# sys rss_kb" to $work/all; on failure, says WHAT failed with its status and last lines, and exits.
timed() {
  local what=$1 record=$2 rc
  shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null 2>"$work/err"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "$0: $what failed with status $rc:" >&2
    tail -n 5 "$work/err" >&2
    exit 1
  fi
  # The last line: /usr/bin/time writes a status line before it when the command fails.
  echo "$record $(tail -n 1 "$work/time")" >> "$work/all"
}

# capacity N: the cores as N-thread runs find them at this moment: a fixed CPU-bound loop (awk, no
# memory) run alone, then N copies at once; prints how many loops' worth of work the cores did at once
# (2.00 on two free cores). On this VM a second vCPU is at times held back by the host (two loops at
# once then take twice as long), which caps any two-thread run measured then.
capacity() {
  local loop='BEGIN { for (i = 0; i < 6e7; i++) s += i }' one all
  one=$({ /usr/bin/time -f %e awk "$loop" >/dev/null; } 2>&1 | tail -n 1)
  all=$({ /usr/bin/time -f %e sh -c 'for i in $(seq "$1"); do awk "$2" & done; wait' sh "$1" "$loop" >/dev/null; } 2>&1 | tail -n 1)
  awk -v a="$one" -v b="$all" -v n="$1" 'BEGIN { printf "%.2f", n * a / b }'
}

# alternate "ROWS" "KEYS": $rounds rounds of `run ROW KEY` (the caller's) for every row and key, then
# `show_run` (the caller's) with the record the run appended. Odd rounds go in the order given, even
# ones reversed (ABBA), so that the VM's drift and any effect of order hit every key alike. A caller
# that defines `before_round` has it called with the round's number first.
alternate() {
  local rows keys r row key
  for r in $(seq 1 "$rounds"); do
    if declare -F before_round >/dev/null; then before_round "$r"; fi
    if [ $((r % 2)) = 1 ]; then rows=$1 keys=$2
    else rows=$(printf '%s\n' $1 | tac) keys=$(printf '%s\n' $2 | tac); fi
    for row in $rows; do
      for key in $keys; do
        run "$row" "$key"
        show_run $(tail -n 1 "$work/all")
      done
    done
  done
}
