#!/usr/bin/env bash
# Prepares a checkout to run: npm dependencies (when missing or older than
# package-lock.json), the local stack's binaries in the cache folder, then
# starts the stack. Every step skips work that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

echo "setup: installing the local stack (skips what is cached)"
node scripts/whorl.cjs stack install

echo "setup: starting the local stack"
node scripts/whorl.cjs stack up
