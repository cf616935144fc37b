#!/usr/bin/env bash
# Compares tfjs backends with Keras on the same architectures, batch sizes,
# input sizes and thread count, in one run, and prints the Markdown table
# for docs/benchmarks.md.
#
#   bash bench/tensors/run.sh            # about 5 minutes on 2 cores
#
# Keras runs in a virtual environment used only by this benchmark, under
# $WHORL_CACHE_DIR/venvs (default ~/.cache/whorl/venvs), with the TensorFlow
# version that the native tfjs backend loads. Run
# scripts/install-native-tensorflow.sh first to include the native backend.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../../infra/tensorflow/versions.env
source "$repo_root/infra/tensorflow/versions.env"
cache_root="${WHORL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/whorl}"
venv="$cache_root/venvs/keras-bench-tf$TENSORFLOW_VERSION"
threads="${BENCH_THREADS:-2}"
results="$(mktemp --suffix=.jsonl)"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating the Keras benchmark environment in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --find-links "$cache_root/tensorflow/wheels" "tensorflow-cpu==$TENSORFLOW_VERSION"
fi

cd "$repo_root"
measure_tfjs() {
  npx tsx bench/tensors/measure-tfjs.ts --threads "$threads" "$@" | tee -a "$results"
}

# Each backend runs in its own process, one after another, so they do not
# compete with each other for the cores. The cpu backend needed 299 s for one small-cnn
# training step on 2026-12-04, so only its inference is measured here.
if node -e "require('@tensorflow/tfjs-node')" 2>/dev/null; then
  measure_tfjs --backend tensorflow --architectures small-cnn,vgg-sensor --max-seconds 15 --max-steps 10
else
  echo "skipping the native backend: @tensorflow/tfjs-node does not load; run scripts/install-native-tensorflow.sh" >&2
fi
measure_tfjs --backend wasm --architectures small-cnn,vgg-sensor --max-seconds 15 --max-steps 5 --warmup-steps 1
measure_tfjs --backend cpu --architectures small-cnn --max-seconds 10 --max-steps 3 --warmup-steps 1 --skip-training
"$venv/bin/python" bench/tensors/measure_keras.py --threads "$threads" --architectures small-cnn,vgg-sensor \
  --max-seconds 15 --max-steps 10 --peak-matmul | tee -a "$results"

echo >&2
npx tsx bench/tensors/report.ts "$results"
rm -f "$results"
