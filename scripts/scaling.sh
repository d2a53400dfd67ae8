#!/usr/bin/env bash
# How one vigil build scales with threads, measured so that the VM's drift hits both thread counts
# alike: rows (b) dump, (c) the two seed rules and (f) both corpora of the hunt benchmark, whole
# processes, one thread and T threads alternating run by run (which goes first swaps every round),
# and beside them two ways of running T one-thread processes at once:
# - each on the whole input: what the machine gives separate processes doing the same work (the
#   throughput line below);
# - each on its share of the copies (T processes split the input as T threads do): the work of one
#   run, partitioned as a process per core would do it. On this project's 2-vCPU VM, for (f), that
#   was no faster than two threads (docs/performance-history.md, stop 66): a process per core would
#   not lift (f)'s two-core speed-up.
# Each round starts by measuring the cores' capacity (two CPU-bound loops at once against one), so
# that a pass run while the host held the second vCPU back shows as such. Prints one line per run:
#   f threads=2 wall=4.22 user=6.88 sys=0.97 rss_kb=148728
#   f processes=2 wall=6.90 user=11.70 sys=1.52 rss_kb=138072   (the slowest's wall, the CPU summed)
#   f split=2 wall=3.88 user=6.21 sys=0.63 rss_kb=132468        (likewise; a share of the input each)
# and, at the end, each row's median wall per thread count, the speed-up T threads give, the
# throughput T processes give, the speed-up T split processes give, and (f)'s median over (c)'s at
# each thread count (the issue's "(f) <= 3x (c)"). scripts/bench.sh runs its one-thread and
# T-thread passes minutes apart; this is the drift-robust reading of its ratios. Not a test: it
# asserts nothing.
#
# Usage: scripts/scaling.sh [--rounds N] [--threads T] [--copies N] VIGIL
#   T: the thread count set against one (default: all cores). The input is the EVTX samples copied
#   --copies times (41 by default, 305,655 events, as scripts/bench.sh does), made once.
set -uo pipefail
here=$PWD
cd "$(dirname "$0")/.." || exit 1
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
[ "$copies" -ge "$threads" ] || { echo "$0: --copies must be at least --threads (a copy for each split process)" >&2; exit 2; }
work=$(mktemp -d) || { echo "$0: cannot make a temporary folder" >&2; exit 1; }
trap 'rm -rf "$work"' EXIT
copy_evtx "$work/evtx" "$copies"
# The split processes' shares: copy i in share ((i - 1) mod T) + 1, as links to the copies.
for i in $(seq 1 "$copies"); do
  k=$(( (i - 1) % threads + 1 ))
  mkdir -p "$work/share.$k" && ln -s "$work/evtx/$i" "$work/share.$k/$i" || exit 1
done
# together WHAT RECORD COMMAND…: $threads runs of COMMAND started at once, each with its input as the
# last argument: the whole input, or (RECORD ending in "s") run i's share; appends "RECORD wall user
# sys rss" (the slowest's wall, the CPU summed, the largest peak); on a failure, as timed() does.
together() {
  local what=$1 record=$2 i rc status=0 failed=0 pids=() input
  shift 2
  for i in $(seq 1 "$threads"); do
    input=$work/evtx
    [ "${record: -1}" = s ] && input=$work/share.$i
    /usr/bin/time -f "%e %U %S %M" -o "$work/time.$i" "$@" "$input" >/dev/null 2>"$work/err.$i" &
    pids+=($!)
  done
  for i in $(seq 1 "$threads"); do
    wait "${pids[$((i - 1))]}"
    rc=$?
    [ "$rc" -eq 0 ] || { failed=$i; status=$rc; }
  done
  if [ "$failed" -ne 0 ]; then
    echo "$0: $what failed (run $failed of $threads, status $status):" >&2
    tail -n 5 "$work/err.$failed" >&2
    exit 1
  fi
  echo "$record $(for i in $(seq 1 "$threads"); do tail -n 1 "$work/time.$i"; done |
    awk '{ if ($1 > w) w = $1; u += $2; s += $3; if ($4 > m) m = $4 } END { print w, u, s, m }')" >> "$work/all"
}
# run ROW K: row ROW with K threads, or as $threads one-thread processes at once on the whole input
# (K = p) or on a share each (K = s); appends "ROW K wall user sys rss".
run() {
  local cmd
  case "$1" in
    b) cmd=(dump) ;;
    c) cmd=(hunt "${seeds[@]}") ;;
    f) cmd=(hunt "${both[@]}") ;;
  esac
  if [ "$2" = p ] || [ "$2" = s ]; then
    together "row ($1) as $threads one-thread processes ($2)" "$1 $2" \
      "$vigil" "${cmd[0]}" -q --threads 1 --format jsonl "${cmd[@]:1}"
    return
  fi
  timed "row ($1) with $2 thread(s)" "$1 $2" \
    "$vigil" "${cmd[0]}" -q --threads "$2" --format jsonl "${cmd[@]:1}" "$work/evtx"
}
# One untimed run per hunt row: the timed ones find the rule bundle and compiled matchers.
for row in c f; do run "$row" 1; done
: > "$work/all"
show_run() {  # ROW THREADS|p WALL USER SYS RSS
  if [ "$2" = p ]; then echo "$1 processes=$threads wall=$3 user=$4 sys=$5 rss_kb=$6"
  elif [ "$2" = s ]; then echo "$1 split=$threads wall=$3 user=$4 sys=$5 rss_kb=$6"
  else echo "$1 threads=$2 wall=$3 user=$4 sys=$5 rss_kb=$6"; fi
}
# Each round starts with the cores' capacity (lib-runs.sh): a round run while the host held the
# second vCPU back reads as a poor speed-up of every row; the summary gives the rounds' range.
caps=()
before_round() {
  caps+=("$(capacity "$threads")")
  echo "round $1: cores' capacity ${caps[-1]} (loops' worth of work at once, of $threads)"
}
alternate "b c f" "1 $threads p s"
declare -A med
for row in b c f; do
  for t in 1 "$threads" p s; do
    med[$row$t]=$(awk -v r="$row" -v t="$t" '$1 == r && $2 == t {print $3}' "$work/all" | median)
  done
  awk -v r="$row" -v t="$threads" -v a="${med[${row}1]}" -v b="${med[$row$threads]}" \
    -v p="${med[${row}p]}" -v s="${med[${row}s]}" \
    'BEGIN { printf "median (%s): 1 thread %.2f s, %d threads %.2f s: %.2fx; %d one-thread processes at once %.2f s: %.2fx the throughput of one; the input split over %d one-thread processes %.2f s: %.2fx\n", r, a, t, b, a / b, t, p, t * a / p, t, s, a / s }'
done
for t in 1 "$threads"; do
  awk -v t="$t" -v f="${med[f$t]}" -v c="${med[c$t]}" 'BEGIN { printf "(f) / (c), %d thread(s): %.2fx\n", t, f / c }'
done
lowest=$(printf '%s\n' "${caps[@]}" | sort -n | head -n 1)
highest=$(printf '%s\n' "${caps[@]}" | sort -n | tail -n 1)
echo "cores' capacity before the rounds: $lowest to $highest, median $(printf '%s\n' "${caps[@]}" | median) (of $threads)"
