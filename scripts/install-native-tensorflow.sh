#!/usr/bin/env bash
# Builds the native TensorFlow backend (tfjs-node) from the PyPI wheel; see
# infra/tensorflow/install-native.sh. Usage: scripts/install-native-tensorflow.sh [cpu|gpu]
exec bash "$(dirname "${BASH_SOURCE[0]}")/../infra/tensorflow/install-native.sh" "$@"
