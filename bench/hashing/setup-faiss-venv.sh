#!/usr/bin/env bash
# Creates the benchmark-only Python environment with faiss-cpu, used by
# run-mnist.ts as the FAISS anchor. Nothing in src/ imports it.
set -euo pipefail

venv="${WHORL_FAISS_VENV:-$HOME/.cache/whorl/venvs/faiss-bench}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check faiss-cpu==1.15.1 'numpy>=1.26,<3'
"$venv/bin/python" -c 'import faiss; print("faiss", faiss.__version__, "in", "'"$venv"'")'
