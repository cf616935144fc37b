#!/usr/bin/env bash
# Installs the native TensorFlow backend for tfjs without the download that
# tfjs-node's own install script makes (its host is unreachable here).
#
#   infra/tensorflow/install-native.sh [cpu|gpu]
#
# Steps, each cached under $WHORL_CACHE_DIR/tensorflow (default
# ~/.cache/whorl/tensorflow):
#   1. download the TensorFlow wheel from PyPI (tensorflow-cpu for cpu,
#      tensorflow for gpu) with pip;
#   2. extract libtensorflow_cc.so.2, libtensorflow_framework.so.2 and the C API
#      headers, and check with nm that every TF_/TFE_ function the tfjs-node
#      addon calls is exported;
#   3. gpu only: install the CUDA libraries named by the wheel's "and-cuda"
#      extra next to the libraries, where their RUNPATH ($ORIGIN/../nvidia/...)
#      looks for them;
#   4. lay out node_modules/<package>/deps as tfjs-node's binding.gyp expects
#      (symbolic links into the cache) and build the addon with node-gyp
#      against the local Node.js headers, or reuse a cached build;
#   5. load the package in Node.js and run one matmul to prove it works.
#
# The cpu variant provides @tensorflow/tfjs-node; the gpu variant provides
# @tensorflow/tfjs-node-gpu, which must be installed first
# (npm install --ignore-scripts @tensorflow/tfjs-node-gpu@<version>).
set -euo pipefail

variant="${1:-cpu}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=versions.env
source "$repo_root/infra/tensorflow/versions.env"

case "$variant" in
  cpu) npm_package=@tensorflow/tfjs-node; wheel_package=tensorflow-cpu ;;
  gpu) npm_package=@tensorflow/tfjs-node-gpu; wheel_package=tensorflow ;;
  *) echo "invalid variant \"$variant\": expected cpu or gpu" >&2; exit 2 ;;
esac

cache_root="${WHORL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/whorl}/tensorflow"
wheel_dir="$cache_root/wheels"
lib_root="$cache_root/libtensorflow-$variant-$TENSORFLOW_VERSION"
package_dir="$repo_root/node_modules/$npm_package"
python="${WHORL_PYTHON:-python3}"

log() { echo "[install-native-tensorflow] $*" >&2; }
fail() { echo "[install-native-tensorflow] error: $*" >&2; exit 1; }

if [[ "$(uname -s)" != Linux || "$(uname -m)" != x86_64 ]]; then
  fail "unsupported platform $(uname -s)/$(uname -m): this script lays out the Linux x86_64 wheel; use the wasm backend elsewhere"
fi
[[ -f "$package_dir/package.json" ]] || fail "$npm_package is not installed in $repo_root/node_modules; run npm install first"
installed_tfjs_version="$(node -p "require('$package_dir/package.json').version")"
if [[ "$installed_tfjs_version" != "$TFJS_NODE_VERSION" ]]; then
  fail "$npm_package $installed_tfjs_version is installed but versions.env pins $TFJS_NODE_VERSION; install the pinned version or update versions.env after checking the C API symbols"
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.install.lock"
flock 9

# Step 1 and 2: libraries and headers from the wheel.
extract_libtensorflow() {
  local wheel staging
  mkdir -p "$wheel_dir"
  wheel="$(ls "$wheel_dir"/"${wheel_package//-/_}"-"$TENSORFLOW_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
  if [[ -z "$wheel" ]]; then
    log "downloading $wheel_package==$TENSORFLOW_VERSION from PyPI"
    "$python" -m pip download --quiet --no-deps --only-binary=:all: \
      --python-version "$WHEEL_PYTHON_VERSION" --platform "$WHEEL_PLATFORM" --implementation cp \
      -d "$wheel_dir" "$wheel_package==$TENSORFLOW_VERSION"
    wheel="$(ls "$wheel_dir"/"${wheel_package//-/_}"-"$TENSORFLOW_VERSION"-*.whl | head -n 1)"
  fi

  log "extracting libraries and C API headers from $(basename "$wheel")"
  staging="$(mktemp -d "$cache_root/.staging.XXXXXX")"
  # The C API headers include a few platform headers from tsl and xla/tsl;
  # the full include tree (about 290 MB) is not needed.
  unzip -q -o "$wheel" -d "$staging" \
    'tensorflow/libtensorflow_cc.so.2' 'tensorflow/libtensorflow_framework.so.2' \
    'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/*' \
    'tensorflow/include/tsl/platform/*' 'tensorflow/include/xla/tsl/c/*' 'tensorflow/include/xla/tsl/platform/*' \
    '*.dist-info/METADATA'
  rm -rf "$lib_root"
  mkdir -p "$lib_root/lib"
  mv "$staging"/tensorflow/libtensorflow_cc.so.2 "$staging"/tensorflow/libtensorflow_framework.so.2 "$lib_root/lib/"
  mv "$staging/tensorflow/include" "$lib_root/include"
  mv "$staging"/*.dist-info/METADATA "$lib_root/METADATA"
  rm -rf "$staging"
}

check_exported_symbols() {
  local needed exported missing
  # Functions the addon calls, minus the inline TF_TString helpers from the
  # headers and the addon's own TF_Auto*/TFE_Auto* wrappers.
  needed="$(grep -ohE '\b(TF|TFE)_[A-Z][A-Za-z0-9_]*\s*\(' "$package_dir"/binding/*.cc "$package_dir"/binding/*.h \
    | sed -E 's/\s*\($//' | grep -vE '^(TF_TString_|TF_Auto|TFE_Auto)' | sort -u)"
  exported="$(nm -D --defined-only "$lib_root/lib/libtensorflow_cc.so.2" "$lib_root/lib/libtensorflow_framework.so.2" \
    | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u)"
  missing="$(comm -23 <(echo "$needed") <(echo "$exported"))"
  if [[ -n "$missing" ]]; then
    fail "libtensorflow $TENSORFLOW_VERSION does not export these functions that $npm_package $TFJS_NODE_VERSION calls: $(echo "$missing" | tr '\n' ' ')"
  fi
  log "all $(echo "$needed" | wc -l) TF_/TFE_ functions the addon calls are exported by libtensorflow_cc.so.2"
}

# Step 3 (gpu only): CUDA libraries from the wheel's and-cuda extra.
install_cuda_libraries() {
  local requirements
  requirements="$(sed -nE 's/^Requires-Dist: ([^;]+); extra == "and-cuda"$/\1/p' "$lib_root/METADATA")"
  [[ -n "$requirements" ]] || fail "the $wheel_package wheel names no and-cuda requirements in its METADATA"
  log "installing CUDA libraries into $lib_root/nvidia: $(echo "$requirements" | tr '\n' ' ')"
  # libtensorflow_framework.so.2 has the RUNPATH entry $ORIGIN/../nvidia/<name>/lib.
  # The nvidia/ link here and deps/nvidia below make it resolve from lib/ and
  # from deps/lib alike.
  mapfile -t requirement_list <<<"$requirements"
  "$python" -m pip install --quiet --only-binary=:all: --target "$lib_root/cuda-packages" "${requirement_list[@]}"
  ln -sfn cuda-packages/nvidia "$lib_root/nvidia"
}

if [[ ! -f "$lib_root/.complete" ]]; then
  extract_libtensorflow
  check_exported_symbols
  if [[ "$variant" == gpu ]]; then
    install_cuda_libraries
  fi
  touch "$lib_root/.complete"
else
  log "using cached libtensorflow in $lib_root"
fi

# Step 4: deps layout and addon.
log "linking $npm_package/deps to $lib_root"
rm -rf "$package_dir/deps"
mkdir -p "$package_dir/deps/lib"
ln -s "$lib_root/lib/libtensorflow_cc.so.2" "$package_dir/deps/lib/libtensorflow_cc.so.2"
ln -s "$lib_root/lib/libtensorflow_framework.so.2" "$package_dir/deps/lib/libtensorflow_framework.so.2"
# binding.gyp links with -ltensorflow -ltensorflow_framework; the linker then
# records the sonames libtensorflow_cc.so.2 and libtensorflow_framework.so.2.
ln -s libtensorflow_cc.so.2 "$package_dir/deps/lib/libtensorflow.so"
ln -s libtensorflow_framework.so.2 "$package_dir/deps/lib/libtensorflow_framework.so"
# tfjs-node's own install script skips its download when this file exists.
ln -s libtensorflow_cc.so.2 "$package_dir/deps/lib/libtensorflow.so.2.9.1"
ln -s "$lib_root/include" "$package_dir/deps/include"
if [[ -e "$lib_root/nvidia" ]]; then
  ln -s "$lib_root/nvidia" "$package_dir/deps/nvidia"
fi

binding_path="$(cd "$package_dir" && node -p "require('@mapbox/node-pre-gyp').find(require('path').resolve('package.json'))")"
napi_label="$(basename "$(dirname "$binding_path")")"
addon_cache="$cache_root/addon-$variant-tfjs$TFJS_NODE_VERSION-tf$TENSORFLOW_VERSION-$napi_label-$(uname -m)/tfjs_binding.node"

if [[ -f "$addon_cache" ]]; then
  log "using cached addon $addon_cache"
else
  node_dir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  [[ -f "$node_dir/include/node/node_api.h" ]] \
    || fail "Node.js headers not found in $node_dir/include/node; install the headers that match $(node --version) (Debian: the nodejs package ships them) so node-gyp need not download them"
  node_gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  [[ -f "$node_gyp" ]] || node_gyp="$(command -v node-gyp || true)"
  [[ -n "$node_gyp" ]] || fail "node-gyp not found: it ships with npm; reinstall npm or run npm install -g node-gyp"
  command -v g++ >/dev/null && command -v make >/dev/null || fail "g++ and make are required to build the addon (Debian: apt-get install build-essential)"

  log "building the $npm_package addon ($napi_label) with node-gyp"
  (cd "$package_dir" && node "$node_gyp" rebuild --nodedir="$node_dir" \
    --napi_build_version="${napi_label#napi-v}" --module_name=tfjs_binding \
    --module_path="$(dirname "$binding_path")" >&2)
  mkdir -p "$(dirname "$addon_cache")"
  cp "$package_dir/build/Release/tfjs_binding.node" "$addon_cache.partial"
  mv "$addon_cache.partial" "$addon_cache"
fi
mkdir -p "$(dirname "$binding_path")"
# Running processes map the addon into memory, so it is never overwritten in place:
# an identical file is left alone and a different one is replaced by a rename.
if ! cmp -s "$addon_cache" "$binding_path" 2>/dev/null; then
  cp "$addon_cache" "$binding_path.partial"
  mv "$binding_path.partial" "$binding_path"
fi

# Step 5: prove it loads.
(cd "$repo_root" && node -e "
const tf = require('$npm_package');
if (tf.getBackend() !== 'tensorflow') throw new Error('expected backend tensorflow, got ' + tf.getBackend());
const product = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0];
if (product !== 11) throw new Error('expected matmul result 11, got ' + product);
console.error('[install-native-tensorflow] $npm_package loads libtensorflow ' + tf.backend().binding.TF_Version);
")
