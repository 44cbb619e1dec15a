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
} > README.md.tmp
# A contents list of the "## " sections, placed after the two commands.
node -e '
  const fs = require("fs");
  const text = fs.readFileSync("README.md.tmp", "utf8");
  const slug = (h) => h.toLowerCase().replace(/[^a-z0-9 -]/g, "").trim().replace(/ /g, "-");
  const heads = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  const toc = "## Contents\n\n" + heads.map((h) => `- [${h.replace(/`/g, "")}](#${slug(h)})`).join("\n") + "\n\n";
  const at = text.indexOf("## What it is");
  fs.writeFileSync("README.md", text.slice(0, at) + toc + text.slice(at));
'
rm -f README.md.tmp
echo "README.md: $(wc -l < README.md) lines"
