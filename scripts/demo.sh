#!/usr/bin/env bash
# npm run demo: from a fresh clone to a booted (and cleanly stopped) demo guest.
# Sets up whatever is missing: host packages, npm dependencies, the build, the guest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run this as root (it installs Debian packages and starts QEMU): sudo npm run demo" >&2
  exit 1
fi
step() { printf '==> %s\n' "$*" >&2; }

t0=$(date +%s.%N)
step "host packages (scripts/setup-host.sh)"
bash scripts/setup-host.sh

if [ ! -d node_modules/yargs ]; then
  step "npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

step "build (tsc)"
npm run --silent build

node dist/src/cli/main.js demo "$@"
awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "demo: total %.1f s\n", b - a }' >&2
