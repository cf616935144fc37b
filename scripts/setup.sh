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

# The run report's browser test drives Debian's chromium through playwright-core,
# which never downloads a browser of its own.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing chromium for the report browser test (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "setup: chromium is missing, so the report browser test will fail; install it with: sudo apt-get install chromium"
  fi
fi

# The multi-host test builds its test hosts with `ip netns` and veth pairs from iproute2.
if ! command -v ip >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "setup: installing iproute2 for the multi-host test"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends iproute2
fi

echo "setup: installing the local stack (skips what is cached)"
node scripts/whorl.cjs stack install

echo "setup: starting the local stack"
node scripts/whorl.cjs stack up
