# syntax=docker/dockerfile:1
# Managed Identity Controller image: `make image` (docker build -t aad-pod-identity-mic-ts:dev .).
#
# The image already has Node 24, so the `node` devDependency (which downloads a Node binary in a
# preinstall script) must never run: every npm ci uses --ignore-scripts, and the build calls tsc
# with the image's node instead of through node_modules/.bin (where that package's shim lives).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: compile TypeScript to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY controller ./controller
COPY hack ./hack
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# ---- runtime: production dependencies + compiled controller only ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOME=/tmp
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
    && npm cache clean --force \
    && rm -rf /root/.npm /tmp/*
COPY --from=build /src/dist/controller ./dist/controller
COPY crds ./crds
# Distroless-style non-root user; nothing is written outside /tmp, so the root filesystem can be
# mounted read-only (mount an emptyDir at /tmp).
USER 65532:65532
EXPOSE 8080 8888
ENTRYPOINT ["node", "/app/dist/controller/main.js"]
