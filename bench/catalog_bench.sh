#!/bin/sh
# Times `vigil catalog` over the whole shared corpus (the issue's budget: under 10 s on the
# 2-core reference machine). Not a test: timings are never asserted.
# Usage: bench/catalog_bench.sh [path/to/vigil] [shared dir]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
vigil=${1:-$here/build/vigil}
shared=${2:-$here/../shared}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in 1 2 3; do
  start=$(date +%s.%N)
  "$vigil" catalog --rules "$shared/corpus" --out "$out/site$i" -q
  end=$(date +%s.%N)
  echo "run $i: $(echo "$end - $start" | bc) s, $(find "$out/site$i" -type f | wc -l) files, $(du -sm "$out/site$i" | cut -f1) MB on disk"
done
