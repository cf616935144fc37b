#!/usr/bin/env bash
# The test command: set-up, type check, lint, then every mocha test against
# the local stack that set-up started.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "test: type check"
npx tsc --noEmit -p .

echo "test: lint"
npx eslint .

echo "test: mocha"
log=$(mktemp)
status=0
npx mocha 'test/**/*.test.ts' 2>&1 | tee "$log" || status=$?
passed=$(grep -Eo '^ +[0-9]+ passing' "$log" | grep -Eo '[0-9]+' || echo 0)
failed=$(grep -Eo '^ +[0-9]+ failing' "$log" | grep -Eo '[0-9]+' || echo 0)
pending=$(grep -Eo '^ +[0-9]+ pending' "$log" | grep -Eo '[0-9]+' || echo 0)
rm -f "$log"
echo "mocha: ${passed} passed, ${failed} failed, ${pending} skipped"
exit "$status"
