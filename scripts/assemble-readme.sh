#!/usr/bin/env bash
# README.md is assembled from docs/readme/*.md, one file per area, so that each
# area's documentation lives beside the others without merge fights.
set -euo pipefail
cd "$(dirname "$0")/.."
order=(00-intro lifecycle definition explain demo-guest networking storage memory-cpu-migration qmp benchmarks design-notes)
{
  for part in "${order[@]}"; do
    f=docs/readme/$part.md
    [ -f "$f" ] || continue
    cat "$f"
    printf '\n'
  done
  for f in docs/readme/*.md; do
    base=$(basename "$f" .md)
    [[ " ${order[*]} " == *" $base "* ]] || { cat "$f"; printf '\n'; }
  done
} > README.md
echo "README.md: $(wc -l < README.md) lines"
