# GPU-class worker: network training and gallery encoding, on tfjs-node-gpu.
# Build from the repository root:
#   docker build -f infra/deploy/images/worker-gpu.Dockerfile -t whorl-worker-gpu .
# infra/tensorflow/install-native.sh gpu takes libtensorflow from the
# `tensorflow` wheel on PyPI and installs the CUDA and cuDNN libraries that the
# wheel's "and-cuda" extra names next to it, so the CUDA base image only has
# to match the node's driver. The NVIDIA container runtime mounts the driver
# libraries (libcuda.so) into the container.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-base-ubuntu22.04
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS node

FROM ${CUDA_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv g++ make binutils unzip ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# install-native.sh runs pip through WHORL_PYTHON; a venv keeps pip away from the distribution's Python (PEP 668).
RUN python3 -m venv /opt/pip-venv
ENV WHORL_PYTHON=/opt/pip-venv/bin/python
# Node.js, npm and the Node headers that node-gyp builds the addon against.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
COPY --from=node /usr/local/include/node /usr/local/include/node
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
ENV WHORL_CACHE_DIR=/opt/whorl/cache
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY infra infra
# tfjs-node-gpu is not in package.json because only this image uses it. Its own install script would download
# libtensorflow from a host outside the package registries, so it is skipped and install-native.sh builds the addon.
RUN . infra/tensorflow/versions.env \
 && npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node-gpu@${TFJS_NODE_VERSION}" \
 && bash infra/tensorflow/install-native.sh gpu
COPY activities activities
COPY configs configs
COPY scripts scripts
COPY src src
COPY workers workers
COPY workflows workflows

FROM ${CUDA_IMAGE}
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --gid 1000 whorl && useradd --uid 1000 --gid whorl --create-home whorl
WORKDIR /app
ENV NODE_ENV=production \
    WHORL_CACHE_DIR=/opt/whorl/cache \
    WHORL_TENSOR_BACKEND=tensorflow-gpu \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
COPY --from=build /opt/whorl/cache /opt/whorl/cache
COPY --from=build /app /app
USER whorl
ENTRYPOINT ["node", "scripts/worker.cjs"]
CMD ["gpu", "/etc/whorl/config/run.yaml"]
