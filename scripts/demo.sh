#!/usr/bin/env bash
# The main job on built-in data: set-up, then `whorl doctor` on the demo
# config, which runs a real workflow across both worker queues.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
node scripts/whorl.cjs doctor --config configs/demo.yaml
