#!/usr/bin/env bash
# The main job on built-in data: set-up, then the training-and-indexing
# pipeline on the demo config (synthetic fingerprints, CPU-sized models).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
node scripts/whorl.cjs pipeline run --config configs/demo.yaml
