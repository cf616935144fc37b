# CPU images, two targets from one build:
#   worker-cpu  CPU-class worker: dataset preparation, index building, evaluation
#   search      the search service (`whorl index serve`) on port 8470
# Build from the repository root:
#   docker build -f infra/deploy/images/cpu.Dockerfile --target worker-cpu -t whorl-worker-cpu .
#   docker build -f infra/deploy/images/cpu.Dockerfile --target search -t whorl-search .
# The native TensorFlow backend (tfjs-node) is built by
# infra/tensorflow/install-native.sh from the TensorFlow wheel on PyPI, so the
# build needs PyPI and the npm registry and nothing else.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv g++ make binutils unzip ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# install-native.sh runs pip through WHORL_PYTHON; a venv keeps pip away from the distribution's Python (PEP 668).
RUN python3 -m venv /opt/pip-venv
ENV WHORL_PYTHON=/opt/pip-venv/bin/python
WORKDIR /app
# The install script caches libtensorflow here and links tfjs-node to it, so the runtime stage copies this folder as is.
ENV WHORL_CACHE_DIR=/opt/whorl/cache
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY infra infra
RUN bash infra/tensorflow/install-native.sh cpu
COPY activities activities
COPY configs configs
COPY scripts scripts
COPY src src
COPY workers workers
COPY workflows workflows

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    WHORL_CACHE_DIR=/opt/whorl/cache \
    WHORL_TENSOR_BACKEND=tensorflow \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
COPY --from=build /opt/whorl/cache /opt/whorl/cache
COPY --from=build /app /app
USER node

FROM runtime AS search
EXPOSE 8470
# Fastify closes the listener on SIGTERM; GET /healthz answers 503 until an index version is loaded.
ENTRYPOINT ["node", "scripts/whorl.cjs", "index", "serve", "--host", "0.0.0.0", "--port", "8470"]

FROM runtime AS worker-cpu
# node is PID 1: the Temporal SDK handles SIGTERM itself and drains running activities for up to 30 s.
ENTRYPOINT ["node", "scripts/worker.cjs"]
CMD ["cpu", "/etc/whorl/config/run.yaml"]
